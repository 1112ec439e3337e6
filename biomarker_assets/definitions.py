"""The code location: one Definitions object, autoloaded from ``defs/`` (Dagster's dg project layout)."""

import warnings
from pathlib import Path

import dagster as dg

defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)

# Resolved here, once (Definitions caches it): binding the resources to the batch job's sensors makes
# Dagster 1.13 copy them with ``owners=[]``, which it reports as use of a beta parameter on every load.
# The project sets no owners; the warning would only be noise in `dagster dev`, the demo and run logs.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Parameter `owners` of initializer", category=dg.BetaWarning)
    defs.get_repository_def()
