"""Per-file QC as Dagster asset checks: wear time, sampling rate, no empty result."""

from __future__ import annotations

import dagster as dg

from biomarker_assets.lib.study_config.schema import QualityChecks

CHECKS = {
    "min_wear_time": "Worn hours at least the pipeline's qc.min_wear_hours.",
    "sampling_rate": "Sampling rate within qc.fs_tolerance of qc.expected_fs.",
    "results_not_empty": "Every SKDH step that returned results returned at least one row.",
}


def check_specs(asset_key: str) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=asset_key, description=text) for name, text in CHECKS.items()]


def evaluate(qc: QualityChecks, headline: dict, fs: float | None, empty_tables: list[str]) -> list[dg.AssetCheckResult]:
    wear = headline.get("wear_hours")
    if qc.min_wear_hours is None:
        wear_check = dg.AssetCheckResult(
            check_name="min_wear_time", passed=True, metadata={"wear_hours": wear, "threshold": "not configured"}
        )
    elif wear is None:
        wear_check = dg.AssetCheckResult(
            check_name="min_wear_time",
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description="qc.min_wear_hours is set but the pipeline computes no wear time",
            metadata={"threshold_hours": qc.min_wear_hours},
        )
    else:
        wear_check = dg.AssetCheckResult(
            check_name="min_wear_time",
            passed=wear >= qc.min_wear_hours,
            description=f"{wear:.2f} h worn (minimum {qc.min_wear_hours} h)",
            metadata={"wear_hours": float(wear), "threshold_hours": qc.min_wear_hours},
        )
    if qc.expected_fs is None or fs is None:
        fs_check = dg.AssetCheckResult(
            check_name="sampling_rate",
            passed=qc.expected_fs is None,
            description="no expected rate configured" if qc.expected_fs is None else "the reader reported no rate",
            metadata={"fs": fs, "expected_fs": qc.expected_fs},
        )
    else:
        error = abs(fs - qc.expected_fs) / qc.expected_fs
        fs_check = dg.AssetCheckResult(
            check_name="sampling_rate",
            passed=error <= qc.fs_tolerance,
            description=f"{fs:.3f} Hz (expected {qc.expected_fs} Hz ± {qc.fs_tolerance:.0%})",
            metadata={"fs": fs, "expected_fs": qc.expected_fs, "relative_error": error},
        )
    empty_check = dg.AssetCheckResult(
        check_name="results_not_empty",
        passed=not empty_tables,
        description=f"empty: {', '.join(empty_tables)}" if empty_tables else "every result has rows",
        metadata={"empty_tables": ", ".join(empty_tables)},
    )
    return [wear_check, fs_check, empty_check]


def failed(results: list[dg.AssetCheckResult]) -> list[str]:
    return [r.check_name for r in results if not r.passed]
