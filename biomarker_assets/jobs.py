"""Jobs: one per step of the flow, so sensors, backfills and people can target each."""

import dagster as dg

from biomarker_assets.biomarkers.assets import file_biomarkers
from biomarker_assets.catalog.assets import study_catalog, study_configs
from biomarker_assets.metadata.assets import subject_metadata
from biomarker_assets.partitions import data_files, metadata_files, studies
from biomarker_assets.summary.assets import study_summary

configs_job = dg.define_asset_job("discover_studies", selection=[study_configs])
catalog_job = dg.define_asset_job("catalog_study", selection=[study_catalog], partitions_def=studies)
metadata_job = dg.define_asset_job("clean_metadata_file", selection=[subject_metadata], partitions_def=metadata_files)
biomarkers_job = dg.define_asset_job("process_data_file", selection=[file_biomarkers], partitions_def=data_files)
summary_job = dg.define_asset_job("summarize_study", selection=[study_summary], partitions_def=studies)
