"""Jobs of the summary step."""

import dagster as dg

from biomarker_assets.defs.partitions import studies
from biomarker_assets.defs.summary.assets import study_summary

summary_job = dg.define_asset_job("study_summary_job", selection=[study_summary], partitions_def=studies)
