"""The code location: the one Definitions object."""

import dagster as dg

from biomarker_assets.backfills import backfill_study
from biomarker_assets.biomarkers.assets import file_biomarkers, raw_data_file
from biomarker_assets.catalog.assets import study_catalog, study_configs
from biomarker_assets.metadata.assets import raw_metadata_file, subject_metadata
from biomarker_assets.jobs import biomarkers_job, catalog_job, configs_job, metadata_job, summary_job
from biomarker_assets.summary.assets import study_summary
from biomarker_assets.sensors import ALL_SENSORS
from biomarker_assets.resources.metadata_table import MetadataTable
from biomarker_assets.resources.notifier import Notifier
from biomarker_assets.resources.study_store import StudyStore


defs = dg.Definitions(
    assets=[study_configs, study_catalog, raw_metadata_file, subject_metadata, raw_data_file, file_biomarkers,
            study_summary],
    jobs=[configs_job, catalog_job, metadata_job, biomarkers_job, summary_job, backfill_study],
    sensors=ALL_SENSORS,
    resources={
        "study_store": StudyStore(),
        "notifier": Notifier(),
        "metadata_table": MetadataTable(),
    },
)
