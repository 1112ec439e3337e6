"""Day-piece processing gives the whole-file run's results (``run_pipeline``), step by step and key by key.

Truth is the project's whole-recording step loop (``execution._run_steps``, what ``run_pipeline``
runs after the reader) on the same arrays, or ``run_pipeline`` itself on SKDH's sample files.
Indices, counts, strings and dtypes must be identical; floats equal to 1e-12 (relative) — in these
cases they come out bit-identical, see ARCHITECTURE.md "Memory: day pieces".
"""

from __future__ import annotations

import copy
import sys
import types
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from biomarker_assets.lib.biomarkers.overview_plot import PieceEnvelope, _envelope
from biomarker_assets.lib.skdh.execution import WarningCapture, _run_steps, read_file, run_pipeline
from biomarker_assets.lib.skdh.file_run import run_file
from biomarker_assets.lib.skdh.headlines import WEAR_NOT_COMPUTED
from biomarker_assets.lib.skdh.piece_plan import PiecePlan, piece_plan
from biomarker_assets.lib.skdh.pieces import ArrayPieces
from biomarker_assets.lib.skdh.piecewise import run_pipeline_in_pieces
from biomarker_assets.lib.skdh.pipeline import load_pipeline, pipeline_steps
from biomarker_assets.local.pipeline_specs import WRIST_PIPELINE_SPEC, bare_skdh_spec, pipeline_step
from biomarker_assets.local.wrist_recording import generate_wrist_days

RTOL = 1e-12
READ_CWA = pipeline_step("ReadCwa", "io.axivity", {"trim_keys": None, "trim_start_factor": None, "ext_error": "warn"})
READ_BIN = WRIST_PIPELINE_SPEC["Steps"][0]


def _same(actual: Any, expected: Any, where: str = "") -> None:
    """Equal recursively: same keys, shapes and dtypes; exact unless float (then ``RTOL``, NaN where NaN)."""
    if isinstance(expected, Mapping):
        assert set(actual) == set(expected), where
        for key in expected:
            _same(actual[key], expected[key], f"{where}/{key}")
        return
    exp, act = np.asarray(expected), np.asarray(actual)
    assert (act.shape, act.dtype) == (exp.shape, exp.dtype), where
    if exp.dtype.kind in "fc":
        np.testing.assert_allclose(act, exp, rtol=RTOL, atol=0, equal_nan=True, err_msg=where)
    else:
        np.testing.assert_array_equal(act, exp, err_msg=where)


def _recording(days: float, fs: float, start: str, seed: int = 6) -> dict[str, Any]:
    """The demo's generated wrist recording as a reader returns it (time, accel, temperature, fs)."""
    chunks = list(generate_wrist_days(days=days, fs=fs, seed=seed, start=start))
    return {
        "time": np.concatenate([c["time"] for c in chunks]),
        "accel": np.concatenate([c["accel"] for c in chunks]),
        "temperature": np.concatenate([c["temperature"] for c in chunks]),
        "fs": float(fs),
    }


def _spec(reader: dict = READ_BIN, bare: bool = False, **changes: dict) -> dict:
    spec = copy.deepcopy(bare_skdh_spec(WRIST_PIPELINE_SPEC) if bare else WRIST_PIPELINE_SPEC)
    spec["Steps"][0] = reader
    for step in spec["Steps"]:
        step["parameters"].update(changes.get(step["name"], {}))
    return spec


def _whole(spec: dict, data: dict, **inputs: Any) -> tuple[dict, dict, list[str]]:
    """``run_pipeline`` after its reader: the same step loop on the reader's output."""
    steps = pipeline_steps(load_pipeline(spec))[1:]
    final: dict = {}
    caught: list[str] = []
    with WarningCapture(caught) as capture:
        results = _run_steps(steps, capture, final, **data, **inputs)
    return results, final, caught


def _check(spec: dict, data: dict, piece_seconds: float, **inputs: Any) -> dict:
    expected, final_whole, _ = _whole(spec, data, **inputs)
    final: dict = {}
    got = run_pipeline_in_pieces(
        load_pipeline(spec), ArrayPieces(data), final_inputs=final, piece_seconds=piece_seconds, **inputs
    )
    _same(got, expected)
    assert list(got) == list(expected)  # step order, as the results tables are written
    for key in ("wear", "sleep", "day_ends", "fs"):
        if key in final_whole:
            _same(final[key], final_whole[key], key)
    assert "accel" not in final and "time" not in final  # QC and the plot get what they need, never the signal
    assert final["file_n_samples"] == data["time"].size and final["file_fs_nominal"] == data["fs"]
    from biomarker_assets.lib.biomarkers.quality import measured_rate

    assert final["file_fs_measured"] == pytest.approx(measured_rate(data["time"]), rel=RTOL)
    _same(final["overview_envelope"], _envelope(final_whole["accel"], 20_000), "envelope")  # calibrated, if it is
    return got


# ------------------------------------------------------------------ generated multi-day recordings

CASES = {
    # fs, days, start, time zone, piece seconds, bare SKDH classes and SKDH's 60/15 wear windows
    "dst-20Hz-london": (20.0, 2.0, "2026-10-24 12:00:00", "Europe/London", 3601.0, False),
    "50Hz-mid-day-start": (50.0, 1.1, "2024-03-04 15:37:00", None, 7 * 3600.0, False),
    "40Hz-decimated": (40.0, 1.2, "2024-03-05 09:00:00", "America/New_York", 3601.0, False),
    "10Hz-bare-skdh": (10.0, 1.1, "2024-03-04 12:00:00", None, 5 * 3600.0 + 7, True),
}


@pytest.mark.slow  # 15-60 s each: multi-day recordings run twice through SKDH
@pytest.mark.parametrize("case", list(CASES))
def test_generated_recording_equals_whole_run(case: str) -> None:
    fs, days, start, zone, piece_seconds, bare = CASES[case]
    data = _recording(days, fs, start)
    changes = {"AccelThresholdWearDetection": {"window_length": 60, "window_skip": 15}} if bare else {}
    inputs = {"tz_name": zone} if zone else {}
    got = _check(_spec(bare=bare, **changes), data, piece_seconds, **inputs)
    assert got["AccelThresholdWearDetection"]["wear"].shape[0] >= 1  # the generated shelf time: bouts to match
    assert len(got["ActivityLevelClassification"]["Day N"]) >= 2  # several days assembled
    assert np.isfinite(np.asarray(got["SleepCorrected"]["TSO Duration"], float)).any()


def test_recording_shorter_than_one_piece_and_wear_windows_across_pieces() -> None:
    data = _recording(5 / 24, 25.0, "2024-03-04 22:10:00")
    _check(_spec(), data, 6 * 3600.0)  # one piece
    _check(_spec(), data, 1234.5)  # 20-minute wear windows straddle most piece boundaries


def test_overview_plot_from_pieces_is_the_whole_file_plot() -> None:
    """The PNG bytes: the piece run's envelope and edge timestamps draw exactly the whole run's plot."""
    from biomarker_assets.lib.biomarkers.overview_plot import overview_pngs

    data = _recording(0.7, 10.0, "2024-03-04 18:00:00")
    _, whole, _ = _whole(_spec(), data)
    final: dict = {}
    run_pipeline_in_pieces(load_pipeline(_spec()), ArrayPieces(data), final_inputs=final, piece_seconds=3601.0)
    expected = overview_pngs(whole["time"], whole["accel"], whole["wear"], whole["sleep"], "t", dpis=(48,))
    got = overview_pngs(
        final["overview_times"],
        None,
        final["wear"],
        final["sleep"],
        "t",
        dpis=(48,),
        envelope=final["overview_envelope"],
    )
    assert (whole["sleep"] >= 0).any() and got == expected


def test_recording_shorter_than_the_wear_window() -> None:
    data = _recording(0.01, 25.0, "2024-03-04 12:00:00")  # 14.4 min < 20 min: wear is not computed, with why
    got = _check(_spec(), data, 3601.0)
    assert WEAR_NOT_COMPUTED in got["AccelThresholdWearDetection"]


# ------------------------------------------------------------------ SKDH's real sample files


@pytest.mark.parametrize(("name", "reader"), [("ax3_sample.cwa", READ_CWA), ("gnactv_sample.bin", READ_BIN)])
def test_skdh_sample_files_equal_run_pipeline(samples: Path, name: str, reader: dict) -> None:
    spec = _spec(reader)
    expected = run_pipeline(load_pipeline(spec), samples / name, captured_warnings=[])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reader's naive-time warning: read once more here
        data = read_file(reader, samples / name)
    got = run_pipeline_in_pieces(load_pipeline(spec), ArrayPieces(data), captured_warnings=[], piece_seconds=61.0)
    _same(got, expected)


# ------------------------------------------------------------------ what runs in pieces, and why not


def test_piece_plan_accepts_the_wrist_pipelines() -> None:
    for spec in (WRIST_PIPELINE_SPEC, bare_skdh_spec(WRIST_PIPELINE_SPEC), _spec(READ_CWA)):
        plan = piece_plan(spec)
        assert isinstance(plan, PiecePlan) and plan.wear == 1 and plan.days == 2 and plan.day_steps == (3, 4)


def _without(spec: dict, name: str) -> dict:
    return {**spec, "Steps": [s for s in spec["Steps"] if s["name"] != name]}


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda s: {**s, "Steps": [pipeline_step("ReadNumpyFile", "io.numpy_compat", {})] + s["Steps"][1:]},
         "not a block-structured file reader"),
        (lambda s: {**s, "Steps": s["Steps"][:1] + [pipeline_step("Resample", "skdh_processes.resample",
                                                                 {"goal_fs": 20.0}, package="biomarker_assets")]
                    + s["Steps"][1:]}, "('Resample') is not one day-piece processing reproduces"),
        (lambda s: {**s, "Steps": s["Steps"][:1] + [pipeline_step("DETACH", "preprocessing.wear_detection", {})]},
         "('DETACH') is not one day-piece"),
        (lambda s: {**s, "Steps": s["Steps"] + [pipeline_step("GaitLumbar", "gait", {})]}, "'GaitLumbar'"),
        (lambda s: _without(s, "GetDayWindowIndices"), "sees the whole recording as one day"),
        (lambda s: {**s, "Steps": s["Steps"][:2] + [pipeline_step("GetDayWindowIndices", "preprocessing.window_days",
                                                                  {"bases": 0, "periods": 24})] + s["Steps"][3:]},
         "is not one GetDayWindowIndices makes"),
        (lambda s: {**s, "Steps": [dict(s["Steps"][0], save_file="x.csv")] + s["Steps"][1:]}, "saves or plots"),
        (lambda s: {**s, "Steps": s["Steps"][:2] + s["Steps"][3:4] + s["Steps"][2:3] + s["Steps"][4:]},
         "without GetDayWindowIndices"),
        (lambda s: {**s, "Steps": s["Steps"][:2] + [pipeline_step("CalibrateAccelerometer", "preprocessing", {})]
                    + s["Steps"][2:]}, "calibration runs in pieces only directly after the reader"),
    ],
)  # fmt: skip
def test_piece_plan_refuses_with_the_reason(make: Any, reason: str) -> None:
    got = piece_plan(make(copy.deepcopy(WRIST_PIPELINE_SPEC)))
    assert isinstance(got, str) and reason in got


# ------------------------------------------------------------------ the building blocks


def test_envelope_from_pieces_equals_the_whole_array_envelope() -> None:
    rng = np.random.default_rng(4)
    accel = rng.normal(0, 1, (250_003, 3))
    for bins in (7, 20_000, 300_000):
        env = PieceEnvelope(accel.shape[0], bins)
        edges = np.unique(np.r_[0, np.sort(rng.integers(1, accel.shape[0], 40)), accel.shape[0]])
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            env.add(int(a), accel[a:b])
        _same(env.result(), _envelope(accel, bins), f"bins={bins}")


def test_run_file_falls_back_to_whole_file_and_says_why(samples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec(READ_CWA)
    path = samples / "ax3_sample.cwa"
    expected = run_pipeline(load_pipeline(spec), path)
    monkeypatch.setitem(sys.modules, "biomarker_assets.lib.skdh.piece_files", None)  # not installed
    results, how = run_file(load_pipeline(spec), spec, path)
    assert how == {"mode": "whole_file", "reason": "the piece reader (lib/skdh/piece_files) is not installed"}
    _same(results, expected)
    gait = {**spec, "Steps": spec["Steps"] + [pipeline_step("GaitLumbar", "gait", {})]}
    _, how = run_file(load_pipeline(spec), gait, path)
    assert how["mode"] == "whole_file" and "'GaitLumbar'" in how["reason"]


def test_run_file_uses_day_pieces_when_the_piece_reader_is_there(
    samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Path] = []

    def open_pieces(reader_step: dict, path: Path, **inputs: Any) -> ArrayPieces:
        opened.append(path)
        return ArrayPieces(read_file(reader_step, path, **inputs))

    monkeypatch.setitem(
        sys.modules, "biomarker_assets.lib.skdh.piece_files", types.SimpleNamespace(open_pieces=open_pieces)
    )
    spec = _spec(READ_CWA)
    path = samples / "ax3_sample.cwa"
    final: dict = {}
    results, how = run_file(load_pipeline(spec), spec, path, final_inputs=final)
    assert how["mode"] == "day_pieces" and opened == [path]
    _same(results, run_pipeline(load_pipeline(spec), path))
    assert final["file_n_samples"] == 58_800 and "accel" not in final


def test_day_windows_match_skdh_on_irregular_clocks() -> None:
    """A drifting clock (guesses land far from the edge) and a gap: SKDH's own search, extra passes as needed."""
    fs = 10.0
    n = int(1.6 * 86400 * fs)
    t0 = pd.Timestamp("2024-03-04 10:00:00").timestamp()
    time = t0 + np.arange(n) / fs * 1.004  # 0.4 % slow: ~9 min off by day 2
    time[n // 2 :] += 1800.0  # a half-hour gap
    rng = np.random.default_rng(0)
    data = {"time": time, "accel": rng.normal(0, 0.3, (n, 3)) + [0, 0, 1], "temperature": np.full(n, 30.0), "fs": fs}
    _check(_spec(), data, 4 * 3600.0 + 1)


@pytest.mark.slow  # about a minute: 36 h run twice through SKDH
@pytest.mark.parametrize("device_error", [True, False])
def test_calibrated_pipeline_equals_whole_run(device_error: bool) -> None:
    """Calibration fitted over the pieces (``piece_calibration``), applied to every piece as SKDH applies it.

    With a device gain/offset error SKDH calibrates (applied); without it too (or finds too little still
    data): either way the piece run must match the whole run.
    """
    pytest.importorskip("biomarker_assets.lib.skdh.piece_calibration")
    from biomarker_assets.local.wrist_recording import generate_wrist_day

    spec = _spec()
    spec["Steps"].insert(1, pipeline_step("CalibrateAccelerometer", "preprocessing.calibrate", {"min_hours": 12}))
    day = generate_wrist_day(hours=36, fs=10.0, seed=1)
    error = (np.array([1.015, 0.99, 1.0]), np.array([0.02, -0.015, 0.01])) if device_error else (1.0, 0.0)
    data = {"time": day["time"], "accel": day["accel"] * error[0] + error[1], "fs": 10.0}
    data["temperature"] = day["temperature"]
    got = _check(spec, data, 3 * 3600.0 + 1)
    if device_error:
        assert got["CalibrateAccelerometer"]["applied"]


@pytest.mark.parametrize(("w_len", "skip"), [(400, 100), (1200, 300), (70, 100), (90, 40), (300, 300), (61, 7)])
def test_wear_window_statistics_are_skdh_moving_sd_and_range_bit_for_bit(
    w_len: int, skip: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SKDH's running-sum SD and the window range, fed in random pieces (and small internal chunks)."""
    from skdh.utility.math import moving_max, moving_min, moving_sd

    from biomarker_assets.lib.skdh import piece_wear

    monkeypatch.setattr(piece_wear, "CHUNK_SAMPLES", 997)
    rng = np.random.default_rng(w_len * skip)
    x = np.cumsum(rng.normal(0, 0.01, (20_011, 3)), axis=0) + [0.0, 0.0, 1.0]
    stats = piece_wear.WearWindowStats(w_len, skip)
    edges = np.unique(np.r_[0, np.sort(rng.integers(1, x.shape[0], 25)), x.shape[0]])
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        stats.add(x[a:b])
    sd, acc_range = stats.result()
    np.testing.assert_array_equal(sd, moving_sd(x, w_len, skip, axis=0, return_previous=False))
    np.testing.assert_array_equal(acc_range, moving_max(x, w_len, skip, axis=0) - moving_min(x, w_len, skip, axis=0))


@pytest.mark.parametrize(("w_len", "skip"), [(400, 100), (300, 300), (90, 40)])
def test_wear_window_range_block_wise_equals_per_window_with_nan(w_len: int, skip: int) -> None:
    """The block-wise range (window a whole number of skips) is the per-window max - min, NaN included."""
    from numpy.lib.stride_tricks import sliding_window_view

    from biomarker_assets.lib.skdh import piece_wear

    x = np.random.default_rng(7).normal(size=(5_000, 3))
    x[1_234, 1] = x[3_000, 0] = np.nan
    stats = piece_wear.WearWindowStats(w_len, skip)
    for a in range(0, x.shape[0], 777):
        stats.add(x[a : a + 777])
    windows = sliding_window_view(x, w_len, axis=0)[::skip]
    got = stats.result()[1]
    np.testing.assert_array_equal(got, windows.max(axis=-1) - windows.min(axis=-1))
    assert np.isnan(got).any(axis=1).sum() == np.isnan(windows).any(axis=(1, 2)).sum() > 0
