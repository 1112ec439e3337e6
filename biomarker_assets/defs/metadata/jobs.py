"""Jobs of the metadata step."""

import dagster as dg

from biomarker_assets.defs.metadata.assets import subject_metadata
from biomarker_assets.defs.partitions import metadata_files

metadata_job = dg.define_asset_job("subject_metadata_job", selection=[subject_metadata], partitions_def=metadata_files)
