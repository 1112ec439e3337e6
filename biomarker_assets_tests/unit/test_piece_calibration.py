"""Calibration fitted from pieces equals SKDH's ``CalibrateAccelerometer`` on the whole arrays.

Truth is SKDH itself: its ``predict`` on the whole recording (offset, scale, temperature scale,
calibrated acceleration, warnings) and its ``Store`` filled the way ``predict`` fills it (every
10-s statistic, bit for bit). ``min_hours=12`` keeps the recordings short.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from skdh.preprocessing import CalibrateAccelerometer
from skdh.preprocessing.calibrate import Store

from biomarker_assets.lib.skdh.piece_calibration import CalibrationFit, fit_calibration
from biomarker_assets.lib.skdh.piece_moments import WindowMoments, plan_store_calls, stream_fs
from biomarker_assets.lib.skdh.pieces import ArrayPieces, Piece
from biomarker_assets.lib.skdh.traps import calibration_record
from biomarker_assets.local.wrist_recording import generate_wrist_day

FS = 10.0
WLEN = int(10 * FS)
#: the crosscheck benchmark's device error: a' = a * gain + offset
GAIN = np.array([1.015, 0.99, 1.0])
OFFSET = np.array([0.02, -0.015, 0.01])
PIECE_SECONDS = [3601.0, 7 * 3600.0]  # neither divides into 10-s windows evenly at a piece's start
RESULT_KEYS = ("offset", "scale", "temperature scale")


def crafted(
    hours: float, *, orientations: int = 6, seed: int = 0, extra: int = 0, fs: float = FS, still_after: float = 0.0
) -> dict[str, Any]:
    """Half-hour blocks alternating still (cycling through ``orientations`` of the 6 axis directions) and moving.

    The device error is gain/offset plus a temperature drift of the offset, so the fit's temperature
    term matters. ``extra`` samples are added after the whole hours; before ``still_after`` hours
    every block moves.
    """
    rng = np.random.default_rng(seed)
    n = round(hours * 3600 * fs) + extra
    block = int(1800 * fs)
    gravity = np.zeros((n, 3))
    noise = np.empty((n, 3))
    directions = np.vstack([np.eye(3), -np.eye(3)])[:orientations]
    for b, a in enumerate(range(0, n, block)):
        z = slice(a, min(a + block, n))
        k = z.stop - z.start
        if b % 2 == 0 and a >= still_after * 3600 * fs:
            gravity[z] = directions[(b // 2) % orientations]
            noise[z] = rng.normal(0, 0.003, (k, 3))
        else:
            v = rng.normal(size=3)
            gravity[z] = v / np.linalg.norm(v)
            noise[z] = rng.normal(0, 0.2, (k, 3))
    time = 1.7e9 + np.arange(n) / fs
    temperature = 28 + 4 * np.sin(2 * np.pi * np.arange(n) / (fs * 86400)) + rng.normal(0, 0.05, n)
    accel = (gravity + noise) * GAIN + OFFSET + 0.002 * (temperature - 28)[:, None] * np.array([1.0, -0.5, 0.3])
    return {"time": time, "accel": accel, "temperature": temperature, "fs": fs}


@pytest.fixture(scope="module")
def wrist() -> dict[str, Any]:
    """The project's generated wrist recording (36 h) with the crosscheck benchmark's device error."""
    day = generate_wrist_day(hours=36, fs=FS, seed=1)
    return {"time": day["time"], "accel": day["accel"] * GAIN + OFFSET, "temperature": day["temperature"], "fs": FS}


def without_temperature(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "temperature"}


def skdh_whole(data: dict[str, Any], **kw: Any) -> tuple[dict, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CalibrateAccelerometer(min_hours=12).predict(**data, **kw)
    return result, [str(w.message) for w in caught]


def pieced(data: dict[str, Any], piece_seconds: float, **kw: Any) -> tuple[CalibrationFit, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_calibration(
            ArrayPieces(data), CalibrateAccelerometer(min_hours=12), piece_seconds=piece_seconds, **kw
        )
    return fit, [str(w.message) for w in caught]


def assert_same_as_skdh(data: dict[str, Any], piece_seconds: float, **kw: Any) -> CalibrationFit:
    """Results, warnings, the project's results row and the calibrated acceleration of every piece match SKDH."""
    whole, whole_warnings = skdh_whole(data, **kw)
    fit, fit_warnings = pieced(data, piece_seconds, **kw)
    assert fit_warnings == whole_warnings
    assert set(fit.skdh_results) == set(whole) - {"accel"}
    for key in fit.skdh_results:
        np.testing.assert_allclose(fit.skdh_results[key], whole[key], rtol=0, atol=1e-12)
    proc = CalibrateAccelerometer(min_hours=12)
    after = {"accel": whole["accel"]} if whole else {}
    row, note = calibration_record(3, proc, {**data, **kw}, after, {k: v for k, v in whole.items() if k != "accel"})
    fit_row, fit_note = fit.record(3)
    assert fit_note == note
    assert fit_row.keys() == row.keys()
    for key, value in row.items():
        np.testing.assert_array_equal(fit_row[key], value)
    calibrated = whole.get("accel", data["accel"])
    for piece in ArrayPieces(data).iter_pieces(piece_seconds):
        np.testing.assert_array_equal(fit.apply(piece.data)["accel"], calibrated[piece.start : piece.stop])
    return fit


@pytest.mark.parametrize("piece_seconds", PIECE_SECONDS)
@pytest.mark.parametrize("temperature", [True, False], ids=["temperature", "no-temperature"])
def test_wrist_recording_needs_the_12_h_extension_and_matches_skdh(wrist, piece_seconds, temperature):
    data = wrist if temperature else without_temperature(wrist)
    fit = assert_same_as_skdh(data, piece_seconds)
    assert fit.applied and fit.uses_temperature == temperature
    assert fit.hours_seen == 24.0  # the first 12 h (an afternoon and evening) are not enough: SKDH adds 12 h
    assert fit.seen.startswith("the first 24 h of 36.00 h (10-s windows: 8640, still: ")
    assert np.any(fit.skdh_results["temperature scale"] != 0) == temperature
    if temperature:  # SKDH's formula needs each sample's temperature: a piece without it is an error, not a guess
        with pytest.raises(ValueError, match="fitted with temperature"):
            fit.apply(without_temperature(wrist))


class CountingPieces(ArrayPieces):
    """ArrayPieces that counts the samples it has handed out."""

    served = 0

    def iter_pieces(self, seconds: float) -> Iterator[Piece]:
        for piece in super().iter_pieces(seconds):
            self.served += piece.n
            yield piece


@pytest.mark.parametrize("piece_seconds", PIECE_SECONDS)
def test_crafted_device_error_is_fitted_from_the_first_12_h_and_only_those_are_read(piece_seconds):
    data = crafted(40.0, extra=7)
    fit = assert_same_as_skdh(data, piece_seconds)
    assert fit.applied and fit.hours_seen == 12.0 and fit.windows == 12 * 360
    pieces = CountingPieces(data)
    fit_calibration(pieces, CalibrateAccelerometer(min_hours=12), piece_seconds=piece_seconds)
    assert pieces.served < 12 * 3600 * FS + piece_seconds * FS + 1  # the fit read 12 h and one piece, not 40 h
    # the device error is what the fit removes: still samples lie on the unit sphere again
    calibrated = fit.apply(data)["accel"][: int(1800 * FS)]
    assert (
        abs(np.linalg.norm(calibrated, axis=1).mean() - 1)
        < 2e-3
        < abs(np.linalg.norm(data["accel"][:18000], axis=1).mean() - 1)
    )


def test_too_short_recording_is_not_calibrated_with_skdh_warning():
    data = crafted(11.5)
    fit = assert_same_as_skdh(data, 3601.0)
    assert fit.skdh_results == {} and not fit.applied
    assert fit.results["reason"] == "the recording is 11.50 h long and calibration needs at least 12 h (min_hours)"
    assert fit.seen == "nothing: the recording (11.50 h) is shorter than min_hours (12 h)"


@pytest.mark.parametrize("extra", [0, 5, WLEN, WLEN + 3], ids=["whole", "tail-5", "tail-wlen", "tail-wlen+3"])
def test_too_little_still_data_recalibration_not_done(extra):
    """Still in one orientation only: SKDH tries 12 h, 24 h, then the rest, and gives up (tail branches at the end)."""
    data = without_temperature(crafted(24.0, orientations=1, extra=extra))
    fit = assert_same_as_skdh(data, 7 * 3600.0)
    assert not fit.applied
    assert fit.results["reason"] == "SKDH found too little still data in enough orientations to calibrate"


def test_apply_false_records_the_fit_and_leaves_accel():
    fit = assert_same_as_skdh(crafted(13.0), 3601.0, apply=False)
    assert not fit.applied and fit.results["reason"] == "it was run with apply=False"
    assert np.all(np.isfinite(fit.results["offset"]))


def test_temperature_recording_ending_just_after_a_12_h_step_fails_as_skdh_does():
    """SKDH's Store cannot take a temperature remainder shorter than a window: both raise SKDH's own error."""
    data = crafted(24.0, orientations=1, extra=5)
    with pytest.raises(ValueError, match="Window length is larger") as whole:
        skdh_whole(data)
    with pytest.raises(ValueError, match="Window length is larger") as piecewise:
        pieced(data, 3601.0)
    assert str(piecewise.value) == str(whole.value)


def skdh_store(data: dict[str, Any], prefixes: list[int]) -> Store:
    store = Store(WLEN)
    for prefix in prefixes:
        store.acc_rsd = data["accel"][:prefix]
        if "temperature" in data:
            store.tmp_rm = data["temperature"][:prefix]
    return store


@pytest.mark.parametrize("piece_seconds", [*PIECE_SECONDS, 1e9])
@pytest.mark.parametrize("case", ["wrist", "nan", "constant", "tail", "tail-temperature"])
def test_window_statistics_are_skdhs_bit_for_bit(wrist, case, piece_seconds):
    """Every 10-s statistic SKDH's Store holds after each of its updates, including NaN and zero-variance windows."""
    data = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in wrist.items()}
    if case == "nan":  # SKDH's running sums carry a NaN to the end of its update
        data["accel"][50_000, 1] = np.nan
        data["temperature"][400_000] = np.nan
    if case == "constant":  # M2 at (or just under) zero: the Fortran clips it
        data["accel"][10_000:200_000] = [0.1, -0.2, 0.97]
    if case.startswith("tail"):
        cut = 24 * 36_000 + (WLEN if case == "tail-temperature" else 7)
        data = {k: (v[:cut] if isinstance(v, np.ndarray) else v) for k, v in data.items()}
        if case == "tail":
            data = without_temperature(data)
    n = data["time"].size
    calls = plan_store_calls(n, 12 * 36_000, 12 * 36_000, WLEN)
    assert calls[-1].tail == case.startswith("tail")
    moments = WindowMoments(n, WLEN, [c.start for c in calls], "temperature" in data)
    for piece in ArrayPieces(data).iter_pieces(piece_seconds):
        moments.feed(piece.data)
    expected = skdh_store(data, [c.prefix for c in calls])
    sd, mean, tmean = moments.rows(calls[-1])
    np.testing.assert_array_equal(sd, expected.acc_rsd)
    np.testing.assert_array_equal(mean, expected.acc_rm)
    if "temperature" in data:
        np.testing.assert_array_equal(tmean, expected.tmp_rm)
    # memory: the statistics, never the signal (56 B a window; one window's samples for SKDH's tail branch)
    assert moments.nbytes <= 56 * (n // WLEN) + 24 * WLEN


def test_sampling_rate_from_time_is_skdhs_and_so_is_the_fit():
    """Without ``fs``, SKDH uses 1 / mean(diff(time)); streamed, NumPy's pairwise sum is walked piece by piece."""
    data = crafted(13.0, seed=4)
    rng = np.random.default_rng(5)
    data["time"] = data["time"] + rng.uniform(-2e-3, 2e-3, data["time"].size)  # a device clock's jitter
    no_fs = {k: v for k, v in data.items() if k != "fs"}
    truth = 1 / np.mean(np.diff(no_fs["time"]))
    for limit in (1000, 1 << 22):
        assert stream_fs(ArrayPieces(no_fs), 3601.0, limit=limit) == truth
    assert_same_as_skdh(no_fs, 3601.0)


@pytest.mark.parametrize("temperature", [True, False], ids=["temperature", "no-temperature"])
def test_a_rate_whose_windows_do_not_fill_min_hours_matches_skdh(temperature):
    """At 9.73 Hz a window is 97 samples and 12 h (420,336) is not a whole number of them: SKDH's next Store
    update starts 35 samples before the 12-h mark, and so must the running sums."""
    fs = 9.73
    data = crafted(30.0, fs=fs, still_after=12.0, extra=3)
    data = data if temperature else without_temperature(data)
    wlen, nh = int(10 * fs), int(12 * 3600 * fs)
    calls = plan_store_calls(data["time"].size, nh, nh, wlen)
    assert calls[0].stop < calls[0].prefix == calls[1].start + 35
    moments = WindowMoments(data["time"].size, wlen, [c.start for c in calls], temperature)
    for piece in ArrayPieces(data).iter_pieces(3601.0):
        moments.feed(piece.data)
    store = Store(wlen)
    for call in calls:
        store.acc_rsd = data["accel"][: call.prefix]
        if temperature:
            store.tmp_rm = data["temperature"][: call.prefix]
    sd, mean, tmean = moments.rows(calls[-1])
    np.testing.assert_array_equal(sd, store.acc_rsd)
    np.testing.assert_array_equal(mean, store.acc_rm)
    if temperature:
        np.testing.assert_array_equal(tmean, store.tmp_rm)
    fit = assert_same_as_skdh(data, 3601.0)
    assert fit.applied and fit.hours_seen == calls[1].prefix / fs / 3600  # the first 12 h move: SKDH adds 12 h
