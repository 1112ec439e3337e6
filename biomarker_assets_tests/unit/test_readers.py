"""SKDH's readers for CSV, .npz, APDM .h5 and Empatica .avro, as a study config names them.

``.cwa`` and ``.bin`` are compared with SKDH's truth arrays in test_skdh_runner.py.
Each reader step here is the first step of a pipeline in a study config that
passes the project's validation; what SKDH reads is compared with the file's
contents (the real SKDH CSV sample) or with what the test wrote
(``device_files``).
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml
from skdh.io.apdm import SensorNotFoundError

from biomarker_assets.lib.skdh.execution import read_file
from biomarker_assets.lib.skdh.version import SKDH_VERSION
from biomarker_assets.lib.study_config.loading import parse_config
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets_tests.support.device_files import (
    APDM_SENSORS,
    EMPATICA_ACCEL_PARAMS,
    write_apdm_h5,
    write_empatica_avro,
    write_npz,
)


def reader(process: str, module: str, parameters: dict) -> dict:
    return {
        "name": process,
        "process": process,
        "package": "skdh",
        "module": module,
        "parameters": parameters,
        "save_file": None,
        "plot_file": None,
    }


# SKDH's example_data_2min.csv has no header row: unix seconds, accel x/y/z [g], gyro x/y/z.
CSV_COLUMNS = ["time", "ax", "ay", "az", "gx", "gy", "gz"]
READERS = {
    "csv": reader(
        "ReadCSV",
        "io.csv",
        {
            "time_col_name": "time",
            "column_names": {"accel": ["ax", "ay", "az"], "gyro": ["gx", "gy", "gz"]},
            "read_csv_kwargs": {"header": None, "names": CSV_COLUMNS},
            "to_datetime_kwargs": {"unit": "s"},
        },
    ),
    "npz": reader("ReadNumpyFile", "io.numpy_compressed", {}),
    "apdm": reader("ReadApdmH5", "io.apdm", {"sensor_location": "Lumbar"}),
    "empatica": reader("ReadEmpaticaAvro", "io.empatica", {}),
}


@pytest.fixture(scope="module")
def study_readers() -> dict[str, dict]:
    """The reader steps as a study config carries them: YAML in, validated, one pipeline per file pattern."""
    config = yaml.safe_load((STUDY_FILES / "demo.yaml").read_text())
    config["data_files"] = [
        {"match": {"glob": f"raw/**/*.{ext}"}, "pipeline": f"read-{ext}"} for ext in ("csv", "npz", "h5", "avro")
    ]
    names = {"csv": "csv", "npz": "npz", "h5": "apdm", "avro": "empatica"}
    config["pipelines"] = {
        f"read-{ext}": {
            "version": "1",
            "skdh": {"Version": SKDH_VERSION, "Steps": [copy.deepcopy(READERS[name])]},
        }
        for ext, name in names.items()
    }
    loaded = parse_config(yaml.safe_dump(config), "readers.yaml")
    return {name: loaded.config.pipelines[f"read-{ext}"].skdh["Steps"][0] for ext, name in names.items()}


def test_csv_sample_reads_as_written(study_readers, samples):
    """example_data_2min.csv: 10,360 rows over 105 s (~98 Hz, jittered), no gaps: every row comes back unchanged."""
    path = samples / "example_data_2min.csv"
    warned: list[str] = []
    res = read_file(study_readers["csv"], path, captured_warnings=warned)
    raw = pd.read_csv(path, header=None, names=CSV_COLUMNS).to_numpy()

    assert res["accel"].shape == (10360, 3) and res["gyro"].shape == (10360, 3)
    assert np.array_equal(res["accel"], raw[:, 1:4])
    assert np.array_equal(res["gyro"], raw[:, 4:7])
    # seconds -> datetime64[ns] -> seconds: within a microsecond of the file's text
    assert np.allclose(res["time"], raw[:, 0], rtol=0, atol=1e-6)
    # SKDH's estimate: median rate of the first 2,500 intervals, rounded to 1e-6 Hz
    assert res["fs"] == pytest.approx(98.038988, abs=1e-6)
    assert "temperature" not in res
    assert not [w for w in warned if "not found" in w or "gap" in w], warned


def test_csv_without_header_parameters_fails_clearly(samples):
    """Without header=None the first data row becomes column names: SKDH finds no 'time' column."""
    bad = reader("ReadCSV", "io.csv", {"time_col_name": "time", "column_names": {"accel": ["ax", "ay", "az"]}})
    with pytest.raises(KeyError, match="time"):
        read_file(bad, samples / "example_data_2min.csv")


def test_npz_reads_every_array(study_readers, samples, tmp_path):
    """A real lumbar recording (SKDH's gait_input) plus temperature and fs, written with numpy.savez."""
    gait = np.load(samples / "gait_input.npz")
    time, accel = gait["time"][:3000], gait["accel"][:3000]
    temperature = np.linspace(31.0, 33.0, time.size)
    path = write_npz(
        tmp_path / "DM001_V1_lumbar.npz", time=time, accel=accel, temperature=temperature, fs=np.float64(196.0)
    )

    res = read_file(study_readers["npz"], path)
    assert np.array_equal(res["time"], time)
    assert np.array_equal(res["accel"], accel)
    assert np.array_equal(res["temperature"], temperature)
    assert res["fs"] == 196.0

    incomplete = write_npz(tmp_path / "no_accel.npz", time=time)
    with pytest.raises(ValueError, match="Missing `time` or `accel`"):
        read_file(study_readers["npz"], incomplete)


# ------------------------------------------------------------------------- APDM


def _apdm_signals(n: int, fs: float, start_us: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    accel_g = np.column_stack(
        [0.3 * np.sin(2 * np.pi * 1.8 * t), 0.1 * rng.standard_normal(n), 1.0 + 0.2 * np.cos(2 * np.pi * 1.8 * t)]
    )
    return {
        "time_us": start_us + np.round(t * 1e6).astype(np.uint64),
        "accel_ms2": accel_g * 9.81,
        "gyro": 0.5 * rng.standard_normal((n, 3)),
        "magnet": 40.0 + rng.standard_normal((n, 3)),
        "temperature": 30.0 + 0.01 * np.arange(n),
    }


@pytest.fixture(scope="module")
def apdm_file(tmp_path_factory):
    fs, n, start_us = 128.0, 1280, 1709568000 * 10**6  # 2024-03-04 16:00 UTC, 10 s
    sensors = {
        monitor: {"label": label, **_apdm_signals(n, fs, start_us, seed)}
        for seed, (monitor, label) in enumerate(APDM_SENSORS.items())
    }
    path = write_apdm_h5(tmp_path_factory.mktemp("apdm") / "DM001_V1_lumbar.h5", sensors, fs=fs, timezone_offset_h=-5.0)
    return path, sensors


def test_apdm_h5_reads_the_named_sensor(study_readers, apdm_file):
    path, sensors = apdm_file
    lumbar = sensors["XI-010284"]
    res = read_file(study_readers["apdm"], path)

    # m/s^2 (stored float32) -> g with the reader's 9.81
    assert np.allclose(res["accel"], lumbar["accel_ms2"] / 9.81, rtol=1e-6, atol=1e-6)
    assert np.allclose(res["gyro"], lumbar["gyro"], rtol=1e-6, atol=1e-6)
    assert np.allclose(res["temperature"], lumbar["temperature"], rtol=1e-6)
    # UTC microseconds -> local seconds with the file's Timezone Offset (-5 h)
    assert np.allclose(res["time"], lumbar["time_us"] / 1e6 - 5 * 3600, rtol=0, atol=1e-6)
    assert "fs" not in res  # APDM's reader gives none: later steps estimate it from the timestamps

    foot = read_file(reader("ReadApdmH5", "io.apdm", {"sensor_location": "Right Foot"}), path)
    assert np.allclose(foot["accel"], sensors["XI-010301"]["accel_ms2"] / 9.81, rtol=1e-6, atol=1e-6)


def test_apdm_h5_time_zone_and_missing_sensor(apdm_file):
    path, sensors = apdm_file
    utc = read_file(READERS["apdm"], path, tz_name="America/New_York")  # -5 h in March: matches the file
    assert np.allclose(utc["time"], sensors["XI-010284"]["time_us"] / 1e6, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="Timezone offset from the file does not match"):
        read_file(READERS["apdm"], path, tz_name="Europe/Berlin")
    with pytest.raises(SensorNotFoundError, match="Left Wrist"):
        read_file(reader("ReadApdmH5", "io.apdm", {"sensor_location": "Left Wrist"}), path)


# ---------------------------------------------------------------------- Empatica


@pytest.fixture(scope="module")
def empatica_file(tmp_path_factory):
    start_us, tz = 1709568000 * 10**6 + 250_000, -18000  # 2024-03-04 16:00:00.25 UTC, participant at UTC-5
    fs, n = 64.0, 64 * 30
    t = np.arange(n) / fs
    accel_g = np.column_stack([0.5 * np.sin(2 * np.pi * t), 0.25 * np.cos(2 * np.pi * t), np.full(n, -1.0)])
    p = EMPATICA_ACCEL_PARAMS
    digital = np.round(
        (accel_g - p["physicalMin"]) / (p["physicalMax"] - p["physicalMin"]) * (p["digitalMax"] - p["digitalMin"])
        + p["digitalMin"]
    ).astype(np.int64)
    streams = {
        "eda": (4.0, np.linspace(0.1, 0.5, 120)),
        "temperature": (1.0, np.linspace(31.0, 32.5, 30)),
        "bvp": (64.0, np.sin(2 * np.pi * 1.2 * t)),
        "steps": (0.2, np.array([0, 3, 5, 0, 1, 2])),
    }
    peaks_ns = (start_us * 1000 + np.arange(0, 29) * 10**9).astype(np.int64)
    path = write_empatica_avro(
        tmp_path_factory.mktemp("avro") / "DM001_V1_wrist.avro",
        start_us=start_us,
        timezone_s=tz,
        accel_digital=digital,
        accel_fs=fs,
        eda=streams["eda"][1],
        eda_fs=streams["eda"][0],
        temperature=streams["temperature"][1],
        temperature_fs=streams["temperature"][0],
        bvp=streams["bvp"][1],
        bvp_fs=streams["bvp"][0],
        steps=streams["steps"][1],
        steps_fs=streams["steps"][0],
        peaks_ns=peaks_ns,
    )
    return path, {
        "start": start_us / 1e6,
        "tz": tz,
        "accel_g": accel_g,
        "digital": digital,
        "streams": streams,
        "peaks_ns": peaks_ns,
    }


def test_empatica_avro_reads_accel_and_streams(study_readers, empatica_file):
    path, w = empatica_file
    res = read_file(study_readers["empatica"], path)
    n = w["accel_g"].shape[0]
    local_start = w["start"] + w["tz"]  # no tz_name: UTC + the file's offset, i.e. naive local time

    assert res["fs"] == 64.0
    assert np.allclose(res["time"], local_start + np.arange(n) / 64.0, rtol=0, atol=1e-6)
    # digital -> g with imuParams: within one digital step of the g values written
    step_g = (16 - -16) / (EMPATICA_ACCEL_PARAMS["digitalMax"] - EMPATICA_ACCEL_PARAMS["digitalMin"])
    assert res["accel"].shape == (n, 3)
    assert np.abs(res["accel"] - w["accel_g"]).max() <= step_g
    assert "gyro" not in res  # EmbracePlus ships an empty gyroscope stream

    # same-rate stream (bvp) placed sample for sample; float32 in the file
    assert np.allclose(res["bvp"], w["streams"]["bvp"][1].astype(np.float32), atol=1e-7)
    # slower streams are interpolated onto the accel timestamps up to their own last sample,
    # so they come back shorter than accel (SKDH's apply_resample does not extrapolate)
    for name in ("eda", "temperature"):
        fs, values = w["streams"][name]
        own_time = local_start + np.arange(values.size) / fs
        kept = res["time"][res["time"] <= own_time[-1]]
        assert res[name].shape == kept.shape and kept.size < n, name
        assert np.allclose(res[name], np.interp(kept, own_time, values.astype(np.float32)), atol=1e-5), name
    # steps and systolic peaks keep their own time base
    steps = res["steps"]
    assert steps["fs"] == 0.2 and np.array_equal(steps["values"], w["streams"]["steps"][1])
    assert np.allclose(steps["time"], local_start + np.arange(6) / 0.2, atol=1e-6)
    assert np.allclose(res["systolic_peaks"]["values"], w["peaks_ns"] / 1e9 + w["tz"], atol=1e-6)


def test_empatica_avro_with_time_zone_name_stays_utc(empatica_file):
    path, w = empatica_file
    res = read_file(READERS["empatica"], path, tz_name="America/New_York")
    assert np.isclose(res["time"][0], w["start"], rtol=0, atol=1e-6)


# ---------------------------------------------------------------- the reader registry


def test_registry_names_every_skdh_reader_at_the_module_pipeline_save_writes():
    import skdh.io
    from skdh.base import BaseProcess

    from biomarker_assets.lib.skdh.allowlist import ALLOWED_PACKAGES, resolve_process
    from biomarker_assets.lib.skdh.readers import READERS, reader_for_class

    assert {r.process for r in READERS} == {n for n in skdh.io.__all__ if isinstance(getattr(skdh.io, n), type)}
    for entry in READERS:
        cls = getattr(skdh.io, entry.process)
        assert issubclass(cls, BaseProcess) and cls.__module__ == f"skdh.{entry.module}", entry
        assert reader_for_class(cls) is entry
        assert reader_for_class(type("ProjectCwa", (cls,), {})) is entry  # a subclass counts as its reader
        # last: mypy narrows cls to resolve_process's Optional result after an `is`
        assert entry.module in ALLOWED_PACKAGES["skdh"] and resolve_process("skdh", entry.module, entry.process) is cls
    assert len({ext for r in READERS for ext in r.extensions}) == sum(len(r.extensions) for r in READERS)


def test_registry_file_format_numbers_are_run_sizings():
    from biomarker_assets.lib.skdh.readers import bytes_per_sample, peak_mib_per_file_mib, reader_for_extension
    from biomarker_assets.platform.run_sizing import MEASURED

    # run sizing reads these; a change resizes every Fargate run, so it must be deliberate
    assert (peak_mib_per_file_mib(".bin"), peak_mib_per_file_mib(".cwa")) == (10.5, 29.5)
    for name, size, samples, _peak in MEASURED:
        if samples is not None:  # bytes per sample as measured, to the figures run_sizing documents
            ext = "." + name.rsplit(".", 1)[1]
            assert bytes_per_sample(ext) == pytest.approx(size / samples, abs=0.02)
    assert bytes_per_sample("CWA") == 4.27 and bytes_per_sample(".bin") == 12.7
    assert bytes_per_sample(".xyz") is None and peak_mib_per_file_mib(".npz") is None
    avro = reader_for_extension(".avro")
    assert avro is not None and avro.process == "ReadEmpaticaAvro"


def test_registry_temperature_and_signal_steps():
    from skdh.gait import GaitLumbar
    from skdh.io import ReadBin, ReadCSV, ReadCwa, ReadNumpyFile

    from biomarker_assets.lib.skdh.readers import is_signal_step, reader_for_class
    from biomarker_assets.skdh_processes import Resample

    csv, numpy_file, cwa, binary = (reader_for_class(c) for c in (ReadCSV, ReadNumpyFile, ReadCwa, ReadBin))
    assert csv is not None and numpy_file is not None and cwa is not None and binary is not None
    assert csv.reads_temperature({"column_names": {"accel": ["x"], "temperature": "t"}}) is True
    assert csv.reads_temperature({"column_names": {"accel": ["x"]}}) is False
    assert numpy_file.reads_temperature({}) is None  # the file decides
    assert cwa.reads_temperature({}) is True
    assert binary.units["accel"] == "g"
    assert is_signal_step(ReadCwa()) and is_signal_step(Resample(goal_fs=50.0)) and not is_signal_step(GaitLumbar())
