"""The clients every asset, check and sensor uses, bound once for the whole code location."""

import dagster as dg

from biomarker_assets.resources.metadata_table import MetadataTable
from biomarker_assets.resources.notifier import Notifier
from biomarker_assets.resources.processing_options import ProcessingOptions
from biomarker_assets.resources.study_store import StudyStore


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "study_store": StudyStore(),
            "notifier": Notifier(),
            "metadata_table": MetadataTable(),
            "processing_options": ProcessingOptions.from_env(),
        }
    )
