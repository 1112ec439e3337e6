"""Per-file QC, as plain outcomes: the Dagster asset checks (defs/biomarkers/checks.py) report them.

Checks that belong to one biomarker kind (wear time) are declared with that kind in
``kinds.py``; the ones here hold for every pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from biomarker_assets.lib.study_config.schema import QualityChecks

#: a step between two read timestamps longer than this is a gap in the recording, not a sample interval
MAX_SAMPLE_INTERVAL_S = 1.0


@dataclass(frozen=True)
class QcInputs:
    """What a check may look at: the pipeline's QC settings and what processing the file gave.

    ``fs`` is the rate of the signal the pipeline ended with (after any ``Resample``);
    ``nominal_fs`` and ``measured_fs`` are the file's: the rate its header declares and the
    rate of the timestamps the reader returned, both before any resampling.
    """

    qc: QualityChecks
    headline: Mapping[str, Any]
    fs: float | None
    empty_tables: list[str]
    nominal_fs: float | None = None
    measured_fs: float | None = None
    # what the file's own layout says is missing ("truncated_file: ..."; lib/skdh/file_checks.py)
    file_findings: tuple[str, ...] = ()


def measured_rate(time: Any) -> float | None:
    """Samples per second of a recording's timestamps (s): sample intervals over the time they span.

    Intervals longer than ``MAX_SAMPLE_INTERVAL_S`` (the device paused, a gap between files)
    are left out, so a gap does not lower the rate. None with fewer than two samples.
    """
    import numpy as np  # imported on use: the code location loads without it

    t = np.asarray(time, dtype=float).ravel()
    if t.size < 2:
        return None
    steps = np.diff(t)
    steps = steps[(steps > 0) & (steps <= MAX_SAMPLE_INTERVAL_S)]
    return float(steps.size / steps.sum()) if steps.size else None


def file_rates(signal: Mapping[str, Any]) -> dict[str, Any]:
    """The reader's output -> the file's nominal rate (as the reader reports it), measured rate and size."""
    import numpy as np  # imported on use: the code location loads without it

    time = signal.get("time")
    nominal = signal.get("fs")
    return {
        "file_fs_nominal": None if nominal is None else float(nominal),
        "file_fs_measured": measured_rate(time),
        "file_n_samples": None if time is None else int(np.asarray(time).size),
    }


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
    """The file's rate measured from its read timestamps (before any resampling) against ``qc.expected_fs``.

    The header's nominal rate is reported beside it, never compared: a device whose header says
    100 Hz can sample at 98.4 Hz, and only the timestamps show it.
    """
    qc, measured, nominal = x.qc, x.measured_fs, x.nominal_fs
    if qc.expected_fs is None:
        return not_applicable("sampling_rate", "qc.expected_fs is not configured")
    rates = {"measured_fs": measured, "nominal_fs": nominal, "expected_fs": qc.expected_fs, "pipeline_end_fs": x.fs}
    if measured is None:
        return CheckOutcome(
            "sampling_rate",
            passed=False,
            description="no timestamps to measure the file's rate from",
            metadata=rates,
        )
    error = abs(measured - qc.expected_fs) / qc.expected_fs
    header = f"; header says {nominal:g} Hz" if nominal is not None else ""
    return CheckOutcome(
        "sampling_rate",
        passed=error <= qc.fs_tolerance,
        description=f"measured {measured:.3f} Hz (expected {qc.expected_fs} Hz ± {qc.fs_tolerance:.0%}){header}",
        metadata={**rates, "relative_error": error},
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


def endpoints_computed(x: QcInputs) -> CheckOutcome:
    """A warning: an endpoint the pipeline computes that SKDH could not (``not_computed/<key>`` in the
    headline, lib/biomarkers/kinds.py) is visible on the file, not only as a missing number."""
    missing = {k.split("/", 1)[1]: str(v) for k, v in x.headline.items() if k.startswith("not_computed/")}
    return CheckOutcome(
        "endpoints_computed",
        passed=not missing,
        description="; ".join(f"{k} not computed: {why}" for k, why in missing.items())
        or "every endpoint the pipeline computes has a value",
        metadata={"not_computed": ", ".join(missing)},
        warn=True,
    )


GENERAL_CHECKS: tuple[QcCheck, ...] = (
    QcCheck(
        "sampling_rate",
        "The file's rate measured from its read timestamps (before any resampling) within qc.fs_tolerance of "
        "qc.expected_fs; the header's nominal rate is recorded beside it.",
        sampling_rate,
    ),
    QcCheck("results_not_empty", "Every SKDH step that returned results returned at least one row.", results_not_empty),
    QcCheck(
        "file_complete", "The file is not cut short (.cwa block layout, .bin page count in its header).", file_complete
    ),
    QcCheck(
        "endpoints_computed",
        "Every headline endpoint the pipeline computes has a value; one SKDH could not compute (too short a "
        "recording, too little wear, only partial windows) is named with the reason.",
        endpoints_computed,
    ),
)


def failed(outcomes: list[CheckOutcome]) -> list[str]:
    """Names of the checks that applied and failed (not-applicable ones are neither passed nor failed)."""
    return [o.check_name for o in outcomes if o.passed is False]
