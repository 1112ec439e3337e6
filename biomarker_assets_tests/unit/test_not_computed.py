"""An endpoint SKDH could not compute is reported as not computed, with the reason: never 0, never bare NaN (#11.10).

A 105-second generated wrist recording through real SKDH (day windows, Sleep, activity): on main it read
``wear_hours: 0.0`` (SKDH rounds ``N wear hours`` to 0.1 h) and MVPA/sleep as bare None.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest
import yaml

from biomarker_assets.lib.biomarkers.kinds import evaluate_qc, headline_biomarkers
from biomarker_assets.lib.biomarkers.processing import process_local_file
from biomarker_assets.lib.biomarkers.quality import failed
from biomarker_assets.lib.skdh.version import SKDH_VERSION
from biomarker_assets.lib.study_config.loading import LoadedConfig, parse_config
from biomarker_assets.lib.study_config.schema import QualityChecks
from biomarker_assets.local.wrist_recording import generate_wrist_day
from biomarker_assets_tests.support.device_files import write_npz
from biomarker_assets_tests.support.spec_steps import step

SECONDS = 105.0


def _step(process: str, module: str, **parameters: Any) -> dict:
    return step((process, module), **parameters)


PIPELINE = {
    "Steps": [
        _step("ReadNumpyFile", "io.numpy_compressed"),
        _step("GetDayWindowIndices", "preprocessing.window_days", bases=[12], periods=[24]),
        _step("SleepCorrected", "skdh_processes.sleep", day_window=[12, 24]),
        _step("ActivityLevelClassification", "activity.core", day_window=[12, 24]),
    ],
    "Version": SKDH_VERSION,
}


def _study(pipeline_name: str, pipeline: dict) -> LoadedConfig:
    """A one-pipeline study config for the short recording, parsed as a real config is."""
    config = {
        "study": "short",
        "bucket": "short-study",
        "prefixes": ["raw/"],
        "results_prefix": "results/",
        "filename": {"pattern": r"(?P<subject>\w+)\.npz", "required_fields": ["subject"]},
        "data_files": [{"match": {"glob": "raw/**"}, "pipeline": pipeline_name}],
        "pipelines": {pipeline_name: pipeline},
    }
    return parse_config(yaml.safe_dump(config, sort_keys=False), f"{pipeline_name}.yaml")


@pytest.fixture(scope="module")
def short_file(tmp_path_factory):
    """105 s of the generated wrist day at 50 Hz (10:00, mid-morning: worn, awake)."""
    rec = generate_wrist_day(hours=SECONDS / 3600, start="2024-03-04 10:00:00")
    path = tmp_path_factory.mktemp("short") / "short.npz"
    return write_npz(path, time=rec["time"], accel=rec["accel"], fs=np.float64(rec["fs"]))


@pytest.fixture(scope="module")
def processed(short_file, tmp_path_factory):
    loaded = _study("short", {"version": "1", "skdh": copy.deepcopy(PIPELINE), "qc": {"min_wear_hours": 10}})
    out = tmp_path_factory.mktemp("out")
    return process_local_file(short_file, loaded=loaded, pipeline_name="short", inputs={}, out_dir=out), out


def test_wear_is_the_worn_time_skdh_measured_not_its_rounded_hours(processed):
    result, out = processed
    headline = json.loads((out / "headline.json").read_text())
    assert headline["wear_hours"] == pytest.approx(SECONDS / 3600, abs=2 / 3600)  # 1.75 min, not 0.0
    assert headline["wear_hours"] > 0
    assert "not_computed/wear_hours" not in headline


def test_activity_and_sleep_are_not_computed_with_the_reason(processed):
    result, out = processed
    headline = json.loads((out / "headline.json").read_text())
    assert headline["mvpa_min"] is None and headline["total_sleep_time_min"] is None
    assert "too little wear" in headline["not_computed/mvpa_min"]
    assert "1.7 min worn" in headline["not_computed/mvpa_min"]
    assert "no day window or bout was processed" in headline["not_computed/total_sleep_time_min"]
    assert headline["gait_speed_m_s"] is None and "not_computed/gait_speed_m_s" not in headline  # no gait step
    assert result.headline == headline


def test_qc_names_what_was_not_computed(processed):
    result, _ = processed
    checks = {c.check_name: c for c in evaluate_qc(QualityChecks(min_wear_hours=10), result.headline, 50.0, [])}
    assert "endpoints_computed" in failed(list(checks.values()))
    outcome = checks["endpoints_computed"]
    assert outcome.warn and "mvpa_min not computed: SKDH computed no MVPA minutes" in (outcome.description or "")
    assert outcome.metadata == {"not_computed": "total_sleep_time_min, mvpa_min"}
    assert "0.03 h worn" in (checks["min_wear_time"].description or "")


def test_a_value_left_out_as_partial_says_so():
    recorded = {"Act": {"Day N": np.array([1]), "Wear Minutes": np.array([60.0]), "wake MVPA 5s epoch [min]": [3.0]}}
    masked = {"Act": {**recorded["Act"], "wake MVPA 5s epoch [min]": np.array([np.nan])}}
    head = headline_biomarkers(masked, recorded=recorded)
    assert head["mvpa_min"] is None and "only partial windows" in head["not_computed/mvpa_min"]
    assert head["wear_hours"] == 1.0
    whole = headline_biomarkers(recorded)
    assert whole["mvpa_min"] == 3.0 and not any(k.startswith("not_computed/") for k in whole)


def test_gait_without_a_complete_stride_says_so():
    head = headline_biomarkers({"GaitLumbar": {"gait speed": np.array([np.nan, np.nan]), "Bout N": [1, 1]}})
    assert head["gait_speed_m_s"] is None and head["n_strides"] == 2
    assert "none is a complete stride" in head["not_computed/gait_speed_m_s"]


def test_day_rows_carry_the_same_unrounded_wear_as_the_headline(processed):
    """The per-day wear in summary_rows.parquet is SKDH's Wear Minutes / 60 too (was N wear hours: 0.0)."""
    import pyarrow.parquet as pq

    result, out = processed
    [day] = pq.read_table(out / "summary_rows.parquet").to_pylist()
    assert day["wear_hours"] == pytest.approx(result.headline["wear_hours"]) and day["wear_hours"] > 0.02


def test_a_recording_shorter_than_the_wear_window_has_no_wear_time_and_says_why(short_file, tmp_path):
    """SKDH's AccelThresholdWearDetection raises on a file shorter than its 60-minute window (the file failed)."""
    first, *rest = copy.deepcopy(PIPELINE["Steps"])
    wear = _step("AccelThresholdWearDetection", "preprocessing.wear_detection")
    pipeline = {**PIPELINE, "Steps": [first, wear, *rest]}
    loaded = _study("wear", {"version": "1", "skdh": pipeline})
    result = process_local_file(short_file, loaded=loaded, pipeline_name="wear", inputs={}, out_dir=tmp_path)
    headline = json.loads((tmp_path / "headline.json").read_text())
    assert headline["wear_hours"] is None
    assert headline["not_computed/wear_hours"] == (
        "the recording is 1.75 min long, shorter than the wear detection window (60 min, window_length)"
    )
    assert headline["mvpa_min"] is None and "too little wear" in headline["not_computed/mvpa_min"]  # none known worn
    assert any("('AccelThresholdWearDetection') skipped" in w for w in result.warnings)
    import pyarrow.parquet as pq

    [row] = pq.read_table(tmp_path / "AccelThresholdWearDetection.parquet").to_pylist()
    assert row["window_minutes"] == 60.0 and row["recording_minutes"] == pytest.approx(1.75)
