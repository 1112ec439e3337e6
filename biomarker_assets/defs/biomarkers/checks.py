"""Per-file QC as Dagster asset checks of ``file_biomarkers`` (the checks themselves: lib/biomarkers).

The checks are declared on the asset (``check_specs``) and reported with its
materialization, so this module holds no definitions of its own, only the translation
to Dagster. Every check is partitioned like the asset (``partitions_def``): each result
belongs to one file, so the Checks tab shows a status per file (succeeded, failed,
skipped, execution failed) and the history has a partition column.

What each state means for a file:

- a QC check that does not apply to the file's pipeline (threshold not configured) reports
  no result: Dagster shows it "Skipped" for that partition, not "Passed";
- a waiting file reports only ``requirements_met`` (failed, severity WARN, the reason as its
  description); its QC checks show "Skipped" (nothing was processed);
- a failed file reports nothing: its run failed, so Dagster shows "Execution failed".
"""

from __future__ import annotations

import warnings

import dagster as dg

from biomarker_assets.defs.partitions import data_files
from biomarker_assets.lib.biomarkers.kinds import QC_CHECKS
from biomarker_assets.lib.biomarkers.quality import CheckOutcome

REQUIREMENTS_CHECK = "requirements_met"
REQUIREMENTS_DESCRIPTION = (
    "The subject metadata and file-name fields the pipeline needs are there. Failing (WARN) means the file "
    "waits, not failed: it is processed by itself once they arrive (waiting_files_sensor)."
)


def _spec(name: str, asset_key: str, description: str) -> dg.AssetCheckSpec:
    # Partitioned check specs are a Dagster "preview" (1.13); the warning would print on every load.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(name, asset=asset_key, description=description, partitions_def=data_files)


def check_specs(asset_key: str) -> list[dg.AssetCheckSpec]:
    """One spec per QC check of every biomarker kind and the general ones, plus ``requirements_met``."""
    return [
        _spec(REQUIREMENTS_CHECK, asset_key, REQUIREMENTS_DESCRIPTION),
        *(_spec(check.name, asset_key, check.description) for check in QC_CHECKS),
    ]


def check_results(outcomes: list[CheckOutcome], selected: set[dg.AssetCheckKey]) -> list[dg.AssetCheckResult]:
    """Results of the checks that apply and were selected; a check that does not apply reports nothing."""
    return [
        dg.AssetCheckResult(
            check_name=o.check_name,
            passed=o.passed,
            description=o.description,
            metadata=o.metadata,
            severity=dg.AssetCheckSeverity.WARN if o.warn else dg.AssetCheckSeverity.ERROR,  # ERROR: the default
        )
        for o in outcomes
        if o.passed is not None and any(key.name == o.check_name for key in selected)
    ]


def requirements_result(reason: str | None, selected: set[dg.AssetCheckKey]) -> list[dg.AssetCheckResult]:
    """``requirements_met`` for one file: passed, or failed as a warning with why the file waits."""
    if not any(key.name == REQUIREMENTS_CHECK for key in selected):
        return []
    return [
        dg.AssetCheckResult(
            check_name=REQUIREMENTS_CHECK,
            passed=reason is None,
            description=f"waiting: {reason}" if reason else "every requirement met",
            severity=dg.AssetCheckSeverity.WARN,
        )
    ]
