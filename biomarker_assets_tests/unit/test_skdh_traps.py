"""SKDH traps found on SKDH 0.17.18, each shown on real SKDH first, then how the project handles it.

Static traps are rejected by ``validate_pipeline_spec`` (so a study config
fails validation, naming the step and the fix); traps that depend on the file
are handled when the pipeline runs (``run_pipeline``).
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pyarrow.parquet as pq
import pytest
import skdh
import yaml
from skdh.activity import ActivityLevelClassification
from skdh.gait import GaitLumbar
from skdh.io import ReadCwa, ReadNumpyFile
from skdh.preprocessing import DETACH, AccelThresholdWearDetection, CalibrateAccelerometer, GetDayWindowIndices
from skdh.sleep import Sleep

from biomarker_assets.lib.biomarkers.processing import ProcessingError, process_local_file
from biomarker_assets.lib.skdh.errors import PipelineRunError
from biomarker_assets.lib.skdh.execution import run_pipeline
from biomarker_assets.lib.skdh.pipeline import load_pipeline, pipeline_steps
from biomarker_assets.lib.skdh.tables import results_to_tables
from biomarker_assets.lib.skdh.traps import check_step_inputs
from biomarker_assets.lib.skdh.validation import validate_pipeline_spec
from biomarker_assets.lib.skdh.version import SKDH_VERSION
from biomarker_assets.lib.study_config.loading import ConfigError, parse_config
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.local.pipeline_specs import gait_pipeline_spec
from biomarker_assets_tests.support.device_files import still_postures, write_npz
from biomarker_assets_tests.support.spec_steps import step

CWA = ("ReadCwa", "io.axivity")
NPZ = ("ReadNumpyFile", "io.numpy_compressed")
WINDOWS = ("GetDayWindowIndices", "preprocessing.window_days")
SLEEP = ("Sleep", "sleep.sleep")
SLEEP_CORRECTED = ("SleepCorrected", "skdh_processes.sleep")
ACTIVITY = ("ActivityLevelClassification", "activity.core")
CALIBRATE = ("CalibrateAccelerometer", "preprocessing.calibrate")
DETACH_ = ("DETACH", "preprocessing.wear_detection")
WEAR = ("AccelThresholdWearDetection", "preprocessing.wear_detection")
PREDICT_GAIT = ("PredictGaitLumbarLgbm", "context.gait_classification")
GAIT = ("GaitLumbar", "gait.core")

GAIT_PIPELINE_SPEC = gait_pipeline_spec()


def spec(*steps: dict) -> dict:
    return {"Steps": list(steps), "Version": SKDH_VERSION}


def study_config(pipeline_spec: dict) -> str:
    """The demo study config with one extra pipeline ``trap``, as YAML text (what a study uploads)."""
    config = yaml.safe_load((STUDY_FILES / "demo.yaml").read_text())
    config["data_files"].append({"match": {"glob": "raw/trap/**"}, "pipeline": "trap"})
    config["pipelines"]["trap"] = {"version": "1", "skdh": copy.deepcopy(pipeline_spec)}
    return yaml.safe_dump(config, sort_keys=False)


def config_errors(pipeline_spec: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(study_config(pipeline_spec), "trap.yaml")
    return err.value.errors


def run_skdh(*processes, **inputs):
    """Plain SKDH (skdh.Pipeline.run), as a study's pipeline would run without the project's checks."""
    pipeline = skdh.Pipeline()
    for proc in processes:
        if isinstance(proc, tuple):
            pipeline.add(proc[0], save_file=proc[1])
        else:
            pipeline.add(proc)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = pipeline.run(**inputs)
    return results, [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def still_npz(tmp_path_factory):
    """1.5 h of a still sensor at 25 Hz, with and without temperature (long enough for 60-min wear windows)."""
    folder = tmp_path_factory.mktemp("still")
    time, accel = still_postures(1.5, fs=25.0, minutes=20, seed=1)
    with_temp = write_npz(
        folder / "with_temperature.npz",
        time=time,
        accel=accel,
        temperature=np.full(time.size, 31.0),
        fs=np.float64(25.0),
    )
    without = write_npz(folder / "no_temperature.npz", time=time, accel=accel, fs=np.float64(25.0))
    return with_temp, without


# ------------------------------------------------------------ CalibrateAccelerometer


def test_skdh_calibration_silently_does_nothing_on_a_short_recording(samples):
    results, warned = run_skdh(ReadCwa(), CalibrateAccelerometer(), file=str(samples / "ax3_sample.cwa"))
    assert results["CalibrateAccelerometer"] == {}
    assert any("Less than 72 hours of data" in w and "No Calibration performed" in w for w in warned)


def test_short_recording_is_processed_with_calibration_recorded_as_skipped(samples, tmp_path):
    """Decision: the file is not failed (re-running cannot make it longer); the skip is a result row and a warning."""
    pipeline = spec(step(CWA), step(CALIBRATE), step(ACTIVITY))
    loaded = parse_config(study_config(pipeline), "trap.yaml")
    result = process_local_file(
        samples / "ax3_sample.cwa", loaded=loaded, pipeline_name="trap", inputs={}, out_dir=tmp_path / "out"
    )

    note = next(
        w for w in result.warnings if w.startswith("biomarker_assets: step 1 ('CalibrateAccelerometer') skipped")
    )
    assert "0.08 h long and calibration needs at least 72 h (min_hours)" in note
    assert "used uncalibrated acceleration" in note
    row = pq.read_table(tmp_path / "out" / "CalibrateAccelerometer.parquet").to_pylist()
    assert len(row) == 1 and row[0]["applied"] is False
    assert row[0]["min_hours"] == 72 and row[0]["recording_hours"] == pytest.approx(
        58800 / 200.0 / 3600
    )  # AX3 sample: 200 Hz
    assert np.isnan(row[0]["offset_0"])
    assert (tmp_path / "out" / "ActivityLevelClassification.parquet").exists()  # the rest still ran


def test_calibration_applied_on_long_recording_keeps_the_signal_out_of_results(tmp_path):
    """12.5 h of still postures, distorted by a known offset and scale: the fit is recorded, the signal is not."""
    time, accel = still_postures(12.5, fs=10.0, seed=0)
    offset, scale = np.array([0.02, -0.015, 0.01]), np.array([1.03, 0.98, 1.01])
    path = write_npz(tmp_path / "long.npz", time=time, accel=accel / scale - offset, fs=np.float64(10.0))
    pipeline = load_pipeline(spec(step(NPZ), step(CALIBRATE, min_hours=12)))
    warned: list[str] = []
    res = run_pipeline(pipeline, path, captured_warnings=warned)["CalibrateAccelerometer"]

    assert res["applied"] is True and res["reason"] is None
    assert np.allclose(res["offset"], offset, atol=1e-3) and np.allclose(res["scale"], scale, atol=1e-3)
    assert "accel" not in res
    table = results_to_tables({"CalibrateAccelerometer": res})["CalibrateAccelerometer"]
    assert table.num_rows == 1 and "accel_0" not in table.column_names
    assert not [w for w in warned if "skipped" in w]

    # one orientation only: SKDH cannot fit and leaves accel unchanged, which is recorded too
    time, accel = still_postures(12.5, fs=10.0, seed=0, orientations=1)
    flat = write_npz(tmp_path / "flat.npz", time=time, accel=accel, fs=np.float64(10.0))
    res = run_pipeline(load_pipeline(spec(step(NPZ), step(CALIBRATE, min_hours=12))), flat, captured_warnings=warned)[
        "CalibrateAccelerometer"
    ]
    assert res["applied"] is False and "too little still data" in res["reason"]
    assert any("step 1 ('CalibrateAccelerometer') skipped" in w for w in warned)


# ------------------------------------------------------------ save_file


def test_skdh_wear_detection_with_save_file_crashes_the_run(still_npz, tmp_path):
    _, without = still_npz
    with pytest.raises(ValueError, match="Per-column arrays must each be 1-dimensional"):
        run_skdh(ReadNumpyFile(), (AccelThresholdWearDetection(), str(tmp_path / "wear_{date}.csv")), file=str(without))


def test_save_file_is_rejected_naming_the_step():
    bad = spec(step(CWA), {**step(WEAR), "save_file": "wear_{date}.csv"})
    expected = "step 1 ('AccelThresholdWearDetection'): save_file must be null (results are written by the project)"
    assert validate_pipeline_spec(bad) == [expected]
    assert any(expected in e and e.startswith("pipelines.trap.skdh") for e in config_errors(bad))


# ------------------------------------------------------------ DETACH needs temperature


def test_skdh_detach_without_temperature_fails_cryptically(still_npz):
    _, without = still_npz
    with pytest.raises(np.exceptions.AxisError):
        run_skdh(ReadNumpyFile(), DETACH(), file=str(without))


def test_detach_without_temperature_is_a_clear_processing_error(still_npz, tmp_path):
    with_temp, without = still_npz
    detach = spec(step(NPZ), step(DETACH_))
    assert validate_pipeline_spec(detach) == []  # a .npz may or may not hold temperature
    pipeline = load_pipeline(detach)
    assert run_pipeline(pipeline, with_temp)["DETACH"]["wear"].shape[1] == 2  # works with temperature

    with pytest.raises(PipelineRunError) as err:
        run_pipeline(load_pipeline(detach), without)
    assert str(err.value) == (
        "step 1 ('DETACH'): needs temperature, but the data read from this file have none (signals: accel, time); "
        "use a device/reader that records temperature, or a wear detection without temperature "
        "(AccelThresholdWearDetection)"
    )
    loaded = parse_config(study_config(detach), "trap.yaml")
    with pytest.raises(ProcessingError, match=r"step 1 \('DETACH'\): needs temperature"):
        process_local_file(without, loaded=loaded, pipeline_name="trap", inputs={}, out_dir=tmp_path / "out")


def test_detach_after_a_csv_reader_without_temperature_is_rejected_statically():
    csv = step(("ReadCSV", "io.csv"), time_col_name="t", column_names={"accel": ["x", "y", "z"]})
    assert validate_pipeline_spec(spec(csv, step(DETACH_))) == [
        "step 1 ('DETACH'): needs temperature, but the reader (step 0, 'ReadCSV') reads no temperature column; "
        "add 'temperature' to its column_names, or use a wear detection without temperature "
        "(AccelThresholdWearDetection)"
    ]
    csv["parameters"]["column_names"]["temperature"] = "temp"
    assert validate_pipeline_spec(spec(csv, step(DETACH_))) == []


def test_temperature_shorter_than_the_signal_is_refused():
    """SKDH's Empatica reader interpolates temperature only up to its last sample (see test_readers.py)."""
    time, accel = still_postures(0.1, fs=25.0)
    proc = pipeline_steps(load_pipeline(spec(step(NPZ), step(DETACH_))))[1]
    with pytest.raises(
        PipelineRunError,
        match=r"step 1 \('DETACH'\): needs temperature sampled with the "
        r"acceleration, but it has 8950 samples for 9000 timestamps",
    ):
        check_step_inputs(1, proc, {"time": time, "accel": accel, "temperature": np.full(8950, 31.0)})


# ------------------------------------------------------------ Sleep / day windows


def test_skdh_sleep_without_its_day_window_raises(samples):
    for processes in ([ReadCwa(), Sleep()], [ReadCwa(), GetDayWindowIndices(bases=0, periods=24), Sleep()]):
        with pytest.raises(ValueError, match=r"Day indices for \(12, 24\) \(base, period\) not found"):
            run_skdh(*processes, file=str(samples / "ax3_sample.cwa"))


def test_sleep_needs_a_preceding_matching_day_window():
    assert validate_pipeline_spec(spec(step(CWA), step(WEAR), step(ACTIVITY), step(SLEEP))) == [
        "step 3 ('Sleep'): day_window (12, 24) has no matching GetDayWindowIndices step; "
        "add one with bases=12, periods=24"
    ]
    wrong = spec(step(CWA), step(WINDOWS, bases=[0], periods=[24]), step(SLEEP_CORRECTED, day_window=[12, 24]))
    assert validate_pipeline_spec(wrong) == [
        "step 2 ('SleepCorrected'): day_window (12, 24) has no matching GetDayWindowIndices step "
        "(windows made before it: (0, 24)); add one with bases=12, periods=24, "
        "or set day_window to a window made before it"
    ]
    late = spec(step(CWA), step(SLEEP), step(WINDOWS, bases=12, periods=24))
    assert validate_pipeline_spec(late) == [
        "step 1 ('Sleep'): day_window (12, 24) has no matching GetDayWindowIndices step; "
        "step 2 makes it but runs after this step: move step 2 before step 1"
    ]
    no_window = spec(step(CWA), step(WINDOWS, bases=12, periods=24), step(SLEEP, day_window=None))
    assert validate_pipeline_spec(no_window)[0].startswith(
        "step 2 ('Sleep'): day_window is null, but Sleep needs a day window"
    )
    good = spec(
        step(CWA),
        step(WINDOWS, bases=[0, 12], periods=[24, 24]),
        step(SLEEP_CORRECTED, day_window=[12, 24]),
        step(ACTIVITY),
    )
    assert validate_pipeline_spec(good) == []
    errors = config_errors(spec(step(CWA), step(SLEEP)))
    assert any("step 1 ('Sleep'): day_window (12, 24) has no matching GetDayWindowIndices step" in e for e in errors)


def test_skdh_activity_with_a_missing_window_silently_uses_the_whole_file(samples):
    results, warned = run_skdh(
        ReadCwa(),
        GetDayWindowIndices(bases=12, periods=24),
        ActivityLevelClassification(),
        file=str(samples / "ax3_sample.cwa"),
    )
    assert len(results["ActivityLevelClassification"]["Day N"]) == 1
    assert not [w for w in warned if "Day indices" in w]  # SKDH only logs it at INFO level


def test_activity_window_mismatch_is_rejected_only_when_days_are_windowed():
    mismatch = spec(step(CWA), step(WINDOWS, bases=12, periods=24), step(ACTIVITY))
    assert validate_pipeline_spec(mismatch) == [
        "step 2 ('ActivityLevelClassification'): day_window (0, 24) has no matching GetDayWindowIndices step "
        "(windows made before it: (12, 24)); add one with bases=0, periods=24, or set day_window to a window made "
        "before it; without it SKDH silently takes the whole recording as one day"
    ]
    assert validate_pipeline_spec(spec(step(CWA), step(ACTIVITY))) == []  # no windowing asked for


# ------------------------------------------------------------ GaitLumbar needs gait bouts


def test_skdh_gait_without_bouts_makes_one_bout_of_a_wrist_recording(samples):
    results, _ = run_skdh(ReadCwa(), GaitLumbar(), file=str(samples / "ax3_sample.cwa"), height=1.8)
    gait = results["GaitLumbar"]
    assert set(gait["Bout N"]) == {1} and len(gait["Bout N"]) > 100  # 5 min of wrist data, "strides" throughout


def test_gait_needs_predicted_gait_bouts_before_it():
    assert validate_pipeline_spec(spec(step(CWA), step(GAIT))) == [
        "step 1 ('GaitLumbar'): no PredictGaitLumbarLgbm step before it, so SKDH would take the whole recording as "
        "one gait bout (on wrist or free-living data, meaningless strides); add a PredictGaitLumbarLgbmCorrected "
        "step (package biomarker_assets, module skdh_processes.gait) before it, or, if every file of this pipeline "
        "is one supervised walking test, declare it with a SupervisedGaitBout step (package biomarker_assets, "
        "module skdh_processes.gait)"
    ]
    assert len(validate_pipeline_spec(spec(step(CWA), step(GAIT), step(PREDICT_GAIT)))) == 1
    assert validate_pipeline_spec(spec(step(CWA), step(PREDICT_GAIT), step(GAIT))) == []
    assert validate_pipeline_spec(GAIT_PIPELINE_SPEC) == []


def test_order_is_checked_only_once_every_step_is_valid():
    """An unknown parameter on the window step must not also blame Sleep for a missing window."""
    bad = spec(step(CWA), step(WINDOWS, bases=12, period=24), step(SLEEP))
    assert validate_pipeline_spec(bad) == [
        "step 1 ('GetDayWindowIndices'): unknown parameter 'period' (known: bases, periods)"
    ]
