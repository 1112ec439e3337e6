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
    # what the file's own layout says is missing ("truncated_file: ..."; lib/skdh/file_checks.py)
    file_findings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckOutcome:
    """One check's result; ``warn`` marks a failure as a warning (Dagster severity WARN) instead of an error."""

    check_name: str
    passed: bool
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    warn: bool = False


@dataclass(frozen=True)
class QcCheck:
    name: str
    description: str
    evaluate: Callable[[QcInputs], CheckOutcome]


def sampling_rate(x: QcInputs) -> CheckOutcome:
    qc, fs = x.qc, x.fs
    if qc.expected_fs is None or fs is None:
        return CheckOutcome(
            "sampling_rate",
            passed=qc.expected_fs is None,
            description="no expected rate configured" if qc.expected_fs is None else "the reader reported no rate",
            metadata={"fs": fs, "expected_fs": qc.expected_fs},
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


def file_complete(x: QcInputs) -> CheckOutcome:
    """A warning, not an error: the data that is there was processed, but the recording is not all there."""
    return CheckOutcome(
        "file_complete",
        passed=not x.file_findings,
        description="; ".join(x.file_findings) or "the file holds all the data its header and layout promise",
        metadata={"findings": len(x.file_findings)},
        warn=True,
    )


GENERAL_CHECKS: tuple[QcCheck, ...] = (
    QcCheck("sampling_rate", "Sampling rate within qc.fs_tolerance of qc.expected_fs.", sampling_rate),
    QcCheck("results_not_empty", "Every SKDH step that returned results returned at least one row.", results_not_empty),
    QcCheck(
        "file_complete", "The file is not cut short (.cwa block layout, .bin page count in its header).", file_complete
    ),
)


def failed(outcomes: list[CheckOutcome]) -> list[str]:
    return [o.check_name for o in outcomes if not o.passed]
