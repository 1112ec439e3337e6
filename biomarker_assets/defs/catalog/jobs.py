"""Jobs of the catalog step."""

import dagster as dg

from biomarker_assets.defs.catalog.assets import study_catalog
from biomarker_assets.defs.partitions import studies

catalog_job = dg.define_asset_job("study_catalog_job", selection=[study_catalog], partitions_def=studies)
