"""Supervised walking tests and gyroscope units: SKDH's gyroscope gait truth through the project's pipeline.

SKDH's own test (``tests/gait/test_core.py::test_with_turns_apcwt``/``_vcwt`` of
scikit-digital-health 0.17.18) runs ``GaitLumbar.predict(time, accel, gyro, fs=128,
height=1.88, gait_pred=True)`` on ``gait_input2.npz`` (a 45-second walk with turns, at
its native 128 Hz, gyroscope in rad/s) and compares every key of
``gait_results2_{apcwt,vcwt}.npz`` with ``numpy.allclose(..., equal_nan=True)``; the
same tolerance is used here. The three files come from SKDH's source distribution
(``tests/gait/data/``), fetched hash-checked by ``support.skdh_source_data``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from biomarker_assets.lib.skdh.errors import PipelineRunError
from biomarker_assets.lib.skdh.execution import run_pipeline
from biomarker_assets.lib.skdh.pipeline import load_pipeline
from biomarker_assets.lib.skdh.tables import results_to_tables
from biomarker_assets.lib.skdh.validation import validate_pipeline_spec
from biomarker_assets.lib.skdh.version import SKDH_VERSION
from biomarker_assets.local.pipeline_specs import gait_pipeline_spec
from biomarker_assets.skdh_processes.gait import SUPERVISED_BOUT_NOTE
from biomarker_assets_tests.support.device_files import write_npz
from biomarker_assets_tests.support.skdh_source_data import gyro_gait_truth
from biomarker_assets_tests.support.spec_steps import step

NPZ = ("ReadNumpyFile", "io.numpy_compressed")
CWA = ("ReadCwa", "io.axivity")
APDM = ("ReadApdmH5", "io.apdm")
UNITS = ("GyroscopeUnits", "skdh_processes.units")
SUPERVISED = ("SupervisedGaitBout", "skdh_processes.gait")
CLASSIFIER = ("PredictGaitLumbarLgbmCorrected", "skdh_processes.gait")
GAIT = ("GaitLumbar", "gait.core")

#: SKDH's test_with_turns_apcwt parameters (max_stride_time/loading_factor: SKDH's defaults are its lambdas)
APCWT: dict[str, Any] = {"ic_prom_factor": 0.1, "ic_dist_factor": 0.0, "fc_prom_factor": 0.1, "fc_dist_factor": 0.0}
#: SKDH's test_with_turns_vcwt parameters
VCWT = {
    "downsample": True,
    "gait_event_method": "v cwt",
    "use_cwt_scale_relation": False,
    "wavelet_scale": 8,
    "round_scale": True,
    "max_stride_time": 2.25,
    "loading_factor": 0.2,
}


def spec(*steps: dict) -> dict:
    return {"Steps": list(steps), "Version": SKDH_VERSION}


def supervised_spec(units: str, gait: dict) -> dict:
    return spec(step(NPZ), step(UNITS, units=units), step(SUPERVISED), step(GAIT, **gait))


@pytest.fixture(scope="module")
def gyro_samples() -> Path:
    return gyro_gait_truth()


def assert_matches_truth(gait: dict, truth: np.lib.npyio.NpzFile) -> None:
    assert len(gait["Bout N"]) == len(truth["Bout N"])
    for key in truth.files:
        assert np.allclose(gait[key], truth[key], equal_nan=True), key


# ------------------------------------------------------------------ the declaration is validated


def test_gait_without_classifier_is_refused_unless_declared_supervised():
    refused = validate_pipeline_spec(spec(step(NPZ), step(GAIT)))
    assert len(refused) == 1 and "no PredictGaitLumbarLgbm step before it" in refused[0]
    assert "SupervisedGaitBout" in refused[0]
    assert validate_pipeline_spec(spec(step(NPZ), step(SUPERVISED), step(GAIT))) == []


def test_supervised_and_classifier_together_are_refused():
    problems = validate_pipeline_spec(spec(step(NPZ), step(CLASSIFIER), step(SUPERVISED), step(GAIT)))
    assert problems == [
        "step 3 ('GaitLumbar'): both a gait classifier (step 1) and a SupervisedGaitBout declaration (step 2) "
        "come before it; a file is either one supervised walking bout or searched for bouts: keep one"
    ]


def test_supervised_bout_refuses_a_free_living_length_recording(tmp_path):
    """The trap stays shut for free-living files: a 2-hour recording is not one walking test."""
    t = np.arange(0, 2 * 3600, 1 / 50.0) + 1.6e9
    accel = np.tile([0.0, 0.0, 1.0], (t.size, 1))
    path = write_npz(tmp_path / "day.npz", time=t, accel=accel)
    with pytest.raises(ValueError, match=r"120\.0 min long, longer than max_minutes=20"):
        run_pipeline(load_pipeline(spec(step(NPZ), step(SUPERVISED), step(GAIT))), path, height=1.8)


def test_supervised_bout_on_accelerometer_only_is_skdh_gait_pred_true(samples, tmp_path):
    """A walking stretch of SKDH's lumbar recording (18-48 s, the classifier's bout), as a walk-test file:
    the project's result is SKDH's ``GaitLumbar.predict(..., gait_pred=True)`` and says it was declared."""
    from skdh.gait import GaitLumbar

    data = np.load(samples / "gait_input.npz")
    keep = (data["time"] >= data["time"][0] + 18) & (data["time"] < data["time"][0] + 48)
    path = write_npz(tmp_path / "walk.npz", time=data["time"][keep], accel=data["accel"][keep])
    results = run_pipeline(load_pipeline(spec(step(NPZ), step(SUPERVISED), step(GAIT, **APCWT))), path, height=1.88)
    skdh_gait = GaitLumbar(**APCWT).predict(
        time=data["time"][keep], accel=data["accel"][keep], height=1.88, gait_pred=True
    )
    assert len(results["GaitLumbar"]["Bout N"]) == len(skdh_gait["Bout N"]) > 20
    for key in ("gait speed", "stride time", "step length", "Bout N"):
        assert np.allclose(results["GaitLumbar"][key], skdh_gait[key], equal_nan=True), key
    declared = results["SupervisedGaitBout"]
    assert declared["Supervised Bout Samples"] == int(keep.sum())
    assert declared["Supervised Bout Duration"] == pytest.approx(30.0, abs=0.01)


# ------------------------------------------------------------------ SKDH's gyroscope truth at 128 Hz


@pytest.mark.parametrize(("gait", "truth_file"), [(APCWT, "gait_results2_apcwt.npz"), (VCWT, "gait_results2_vcwt.npz")])
def test_supervised_walk_with_gyroscope_reproduces_skdh_truth(gyro_samples, gait, truth_file):
    results = run_pipeline(load_pipeline(supervised_spec("rad/s", gait)), gyro_samples / "gait_input2.npz", height=1.88)
    assert_matches_truth(results["GaitLumbar"], np.load(gyro_samples / truth_file))
    assert results["GyroscopeUnits"] == {
        "gyro units in file": "rad/s",
        "gyro units handed on": "rad/s",
        "gyroscope present": True,
    }


def test_gyroscope_in_deg_per_s_is_converted_to_skdh_truth(gyro_samples, tmp_path):
    """Axivity readers return deg/s: declared, it is converted and the turns are SKDH's (22 of 68)."""
    data = np.load(gyro_samples / "gait_input2.npz")
    path = write_npz(tmp_path / "deg.npz", time=data["time"], accel=data["accel"], gyro=np.degrees(data["gyro"]))
    truth = np.load(gyro_samples / "gait_results2_apcwt.npz")
    results = run_pipeline(load_pipeline(supervised_spec("deg/s", APCWT)), path, height=1.88)
    assert_matches_truth(results["GaitLumbar"], truth)
    assert int((results["GaitLumbar"]["Turn"] != 0).sum()) == int((truth["Turn"] != 0).sum()) == 22


def test_undeclared_gyroscope_is_refused(gyro_samples, tmp_path):
    """Without the declaration SKDH would take deg/s as rad/s: every stride a turn. The project refuses."""
    data = np.load(gyro_samples / "gait_input2.npz")
    path = write_npz(tmp_path / "deg.npz", time=data["time"], accel=data["accel"], gyro=np.degrees(data["gyro"]))
    with pytest.raises(PipelineRunError, match="gyroscope but its units were not declared"):
        run_pipeline(load_pipeline(spec(step(NPZ), step(SUPERVISED), step(GAIT, **APCWT))), path, height=1.88)


def test_declared_units_must_agree_with_the_reader():
    assert validate_pipeline_spec(spec(step(CWA), step(UNITS, units="deg/s"), step(SUPERVISED), step(GAIT))) == []
    assert (
        validate_pipeline_spec(
            spec(step(APDM, sensor_location="lumbar"), step(UNITS, units="rad/s"), step(SUPERVISED), step(GAIT))
        )
        == []
    )
    assert validate_pipeline_spec(spec(step(CWA), step(UNITS, units="rad/s"), step(SUPERVISED), step(GAIT))) == [
        "step 1 ('GyroscopeUnits'): units 'rad/s' contradict the reader (step 0, 'ReadCwa'), which returns the "
        "gyroscope in deg/s; set units to 'deg/s'"
    ]
    assert len(validate_pipeline_spec(spec(step(APDM, sensor_location="lumbar"), step(UNITS), step(GAIT)))) == 2


# ------------------------------------------------------------------ one typed value per stride


@pytest.mark.parametrize("tz_name", [None, "America/New_York"])
def test_ic_datetime_is_one_timestamp_per_stride(samples, tz_name):
    """SKDH returns ``IC Datetime`` as a pandas DatetimeIndex; each stride keeps its own typed timestamp."""
    inputs = {"height": 1.88} if tz_name is None else {"height": 1.88, "tz_name": tz_name}
    results = run_pipeline(load_pipeline(gait_pipeline_spec()), samples / "gait_input.npz", **inputs)
    table = results_to_tables(results)["GaitLumbar"]
    column = table.column("IC Datetime")
    assert column.type == pa.timestamp("ns", tz=tz_name)
    stamps = np.asarray(results["GaitLumbar"]["IC Timestamp"], dtype=float)
    got = column.cast(pa.int64()).to_numpy() / 1e9
    assert table.num_rows == 81 and len(np.unique(got)) == 81
    assert np.allclose(got, stamps, atol=1e-6)


def test_supervised_declaration_is_named_in_provenance():
    from biomarker_assets.lib.biomarkers.processing import project_processes

    names = project_processes(supervised_spec("deg/s", APCWT))
    assert names == [
        "skdh_processes.units.GyroscopeUnits",
        f"skdh_processes.gait.SupervisedGaitBout: {SUPERVISED_BOUT_NOTE}",
    ]


def test_signal_units_for_provenance():
    from biomarker_assets.lib.skdh.units import signal_units

    assert signal_units(spec(step(CWA), step(UNITS, units="deg/s"), step(SUPERVISED), step(GAIT))) == {
        "accel": "g",
        "gyro": "rad/s",
        "gyro_in_file": "deg/s",
        "temperature": "degC",
        "magnet": "uT",
    }
    assert signal_units(spec(step(APDM, sensor_location="lumbar"), step(GAIT)))["gyro"] == "rad/s"
    assert signal_units(spec(step(CWA), step(GAIT)))["gyro"] == "deg/s"  # what GaitLumbar would be handed
