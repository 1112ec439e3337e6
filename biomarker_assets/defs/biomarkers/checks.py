"""Per-file QC as Dagster asset checks of ``file_biomarkers`` (the checks themselves: lib/biomarkers).

The checks are declared on the asset (``check_specs``) and reported with its
materialization (a waiting file yields neither), so this module holds no definitions
of its own, only the translation to Dagster.
"""

from __future__ import annotations

import dagster as dg

from biomarker_assets.lib.biomarkers.kinds import QC_CHECKS
from biomarker_assets.lib.biomarkers.quality import CheckOutcome


def check_specs(asset_key: str) -> list[dg.AssetCheckSpec]:
    """One spec per QC check of every biomarker kind, plus the general ones."""
    return [dg.AssetCheckSpec(check.name, asset=asset_key, description=check.description) for check in QC_CHECKS]


def check_result(outcome: CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=outcome.check_name,
        passed=outcome.passed,
        description=outcome.description,
        metadata=outcome.metadata,
        severity=dg.AssetCheckSeverity.WARN if outcome.warn else dg.AssetCheckSeverity.ERROR,  # ERROR: the default
    )
