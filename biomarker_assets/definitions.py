"""The code location: the one Definitions object."""

import dagster as dg

from biomarker_assets.biomarkers.assets import file_biomarkers, raw_data_file
from biomarker_assets.catalog.assets import study_catalog, study_configs
from biomarker_assets.metadata.assets import raw_metadata_file, subject_metadata
from biomarker_assets.partitions import data_files, metadata_files, studies
from biomarker_assets.resources.metadata_table import MetadataTable
from biomarker_assets.resources.notifier import Notifier
from biomarker_assets.resources.study_store import StudyStore

configs_job = dg.define_asset_job("discover_studies", selection=[study_configs])
catalog_job = dg.define_asset_job("catalog_study", selection=[study_catalog], partitions_def=studies)
metadata_job = dg.define_asset_job("clean_metadata_file", selection=[subject_metadata], partitions_def=metadata_files)
biomarkers_job = dg.define_asset_job("process_data_file", selection=[file_biomarkers], partitions_def=data_files)

defs = dg.Definitions(
    assets=[study_configs, study_catalog, raw_metadata_file, subject_metadata, raw_data_file, file_biomarkers],
    jobs=[configs_job, catalog_job, metadata_job, biomarkers_job],
    resources={
        "study_store": StudyStore(),
        "notifier": Notifier(),
        "metadata_table": MetadataTable(),
    },
)
