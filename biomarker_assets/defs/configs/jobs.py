"""Jobs of the config step."""

import dagster as dg

from biomarker_assets.defs.configs.assets import study_configs

configs_job = dg.define_asset_job("study_configs_job", selection=[study_configs])
