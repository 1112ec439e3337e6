"""How QC outcomes become Dagster check results: per partition, and never "Passed" for a check that does not apply."""

from __future__ import annotations

import dagster as dg

from biomarker_assets.defs.biomarkers.checks import REQUIREMENTS_CHECK, check_results, check_specs, requirements_result
from biomarker_assets.defs.partitions import data_files
from biomarker_assets.lib.biomarkers.kinds import evaluate_qc
from biomarker_assets.lib.biomarkers.quality import failed
from biomarker_assets.lib.study_config.schema import QualityChecks

ASSET = dg.AssetKey("file_biomarkers")
SELECTED = {spec.key for spec in check_specs("file_biomarkers")}


def _results(qc: QualityChecks, headline: dict, fs: float | None, empty: list[str]) -> dict[str, dg.AssetCheckResult]:
    return {r.check_name or "": r for r in check_results(evaluate_qc(qc, headline, fs, empty), SELECTED)}


def test_checks_without_a_configured_threshold_report_no_result():
    """A gait pipeline has no qc settings: wear time and sampling rate do not apply, so Dagster shows them skipped."""
    outcomes = evaluate_qc(QualityChecks(), {"wear_hours": None}, 50.0, [])
    assert {o.check_name: o.passed for o in outcomes} == {
        "min_wear_time": None,
        "sampling_rate": None,
        "results_not_empty": True,
        "file_complete": True,
        "endpoints_computed": True,
    }
    assert failed(outcomes) == []
    assert set(_results(QualityChecks(), {"wear_hours": None}, 50.0, [])) == {
        "results_not_empty",
        "file_complete",
        "endpoints_computed",
    }


def test_configured_checks_pass_or_fail_with_their_numbers():
    qc = QualityChecks(min_wear_hours=10, expected_fs=50)
    results = _results(qc, {"wear_hours": 0.5}, 100.0, ["Sleep"])
    assert {name: r.passed for name, r in results.items()} == {
        "min_wear_time": False,
        "sampling_rate": False,
        "results_not_empty": False,
        "file_complete": True,
        "endpoints_computed": True,
    }
    assert results["min_wear_time"].description == "0.50 h worn (minimum 10.0 h)"
    assert results["min_wear_time"].severity == dg.AssetCheckSeverity.ERROR
    assert failed(evaluate_qc(qc, {"wear_hours": 12.0}, 50.0, [], measured_fs=50.0)) == []


def test_every_check_is_partitioned_like_the_files():
    """Each result belongs to one file: the Checks tab then has a status per file, the history a partition column."""
    specs = check_specs("file_biomarkers")
    assert [s.name for s in specs] == [
        REQUIREMENTS_CHECK,
        "min_wear_time",
        "sampling_rate",
        "results_not_empty",
        "file_complete",
        "endpoints_computed",
    ]
    assert all(s.partitions_def == data_files and s.asset_key == ASSET for s in specs)


def test_a_waiting_file_fails_requirements_met_as_a_warning_with_its_reason():
    [waiting] = requirements_result("subject 'DM003' has no height", SELECTED)
    assert (waiting.passed, waiting.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert waiting.description == "waiting: subject 'DM003' has no height"
    [met] = requirements_result(None, SELECTED)
    assert met.passed is True
    assert requirements_result("x", set()) == []  # not selected (a run of other checks only): no result
