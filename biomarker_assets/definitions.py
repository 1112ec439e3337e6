"""The code location: one Definitions object, autoloaded from ``defs/`` (Dagster's dg project layout)."""

from pathlib import Path

import dagster as dg

defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
