"""Per-file QC, as plain outcomes: the Dagster asset checks (defs/biomarkers/checks.py) report them.

Checks that belong to one biomarker kind (wear time) are declared with that kind in
``kinds.py``; the ones here hold for every pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from biomarker_assets.lib.study_config.schema import QualityChecks


@dataclass(frozen=True)
class QcInputs:
    """What a check may look at: the pipeline's QC settings and what processing the file gave."""

    qc: QualityChecks
    headline: Mapping[str, Any]
    fs: float | None
    empty_tables: list[str]


@dataclass(frozen=True)
class CheckOutcome:
    """One check's result; ``warn`` marks a failure as a warning (Dagster severity WARN) instead of an error.

    ``passed=None``: the check does not apply to this pipeline (its threshold is not configured). It is
    reported as no result at all, which Dagster shows as "Skipped" for the partition, never as "Passed".
    """

    check_name: str
    passed: bool | None
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    warn: bool = False


@dataclass(frozen=True)
class QcCheck:
    name: str
    description: str
    evaluate: Callable[[QcInputs], CheckOutcome]


def not_applicable(check_name: str, why: str) -> CheckOutcome:
    """The check has nothing to compare against in this pipeline's QC settings."""
    return CheckOutcome(check_name, passed=None, description=why)


def sampling_rate(x: QcInputs) -> CheckOutcome:
    qc, fs = x.qc, x.fs
    if qc.expected_fs is None:
        return not_applicable("sampling_rate", "qc.expected_fs is not configured")
    if fs is None:
        return CheckOutcome(
            "sampling_rate",
            passed=False,
            description="the reader reported no rate",
            metadata={"expected_fs": qc.expected_fs},
        )
    error = abs(fs - qc.expected_fs) / qc.expected_fs
    return CheckOutcome(
        "sampling_rate",
        passed=error <= qc.fs_tolerance,
        description=f"{fs:.3f} Hz (expected {qc.expected_fs} Hz ± {qc.fs_tolerance:.0%})",
        metadata={"fs": fs, "expected_fs": qc.expected_fs, "relative_error": error},
    )


def results_not_empty(x: QcInputs) -> CheckOutcome:
    empty = x.empty_tables
    return CheckOutcome(
        "results_not_empty",
        passed=not empty,
        description=f"empty: {', '.join(empty)}" if empty else "every result has rows",
        metadata={"empty_tables": ", ".join(empty)},
    )


GENERAL_CHECKS: tuple[QcCheck, ...] = (
    QcCheck("sampling_rate", "Sampling rate within qc.fs_tolerance of qc.expected_fs.", sampling_rate),
    QcCheck("results_not_empty", "Every SKDH step that returned results returned at least one row.", results_not_empty),
)


def failed(outcomes: list[CheckOutcome]) -> list[str]:
    """Names of the checks that applied and failed (not-applicable ones are neither passed nor failed)."""
    return [o.check_name for o in outcomes if o.passed is False]
