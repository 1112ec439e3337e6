"""Day windows and Sleep's 20 Hz signal for a recording read in pieces, equal to SKDH's on the whole recording.

Day windows: ``GetDayWindowIndices.window_days`` finds each window edge by a guided search on the
timestamps (``finalize_guess``), which reads only a few timestamps near each edge. SKDH's own
method runs here on a :class:`SparseTime`, a timestamp array that holds only the timestamps a
streaming pass collected; a look-up of one it does not hold raises :class:`MissingTimes`, the
caller collects those in one more pass and runs the search again. The search, the time zone
and DST handling (pandas ``DateOffset``) are SKDH's code, so the indices are SKDH's.

Sleep's signal: ``Sleep`` downsamples the *whole* recording to 20 Hz (``apply_resample``: a
Chebyshev filter run forwards and backwards, then every n-th sample or ``np.interp`` onto a grid
anchored at the recording's first timestamp) and cuts days out of that. :func:`downsample_window`
does the same for one day plus a margin on each side: the same grid points (global decimation
phase, or the global ``arange`` grid's values), the same interpolation brackets and index mapping
(``np.interp`` with global grid numbers). The filter is an IIR filter, so a window's filtered
values depend on samples outside it; the influence decays below one unit in the last place within
about 2,000 samples (measured on 25-100 Hz signals), and the margin is 10 minutes of samples.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from scipy.signal import cheby1, sosfiltfilt

__all__ = ["MissingTimes", "SparseTime", "downsample_window", "margin_samples"]

GOAL_FS = 20.0  # Sleep's fixed downsampling rate (skdh.sleep.Sleep.predict)
MARGIN_SECONDS = 600.0


def margin_samples(fs: float) -> int:
    """Samples read on each side of a day so that the 20 Hz filter's values inside the day are the whole file's."""
    return max(4000, int(math.ceil(MARGIN_SECONDS * fs)))


class MissingTimes(LookupError):
    """The search needed timestamps a pass did not keep; ``indices`` are the ones to collect."""

    def __init__(self, indices: Iterable[int]):
        self.indices = sorted(set(indices))
        super().__init__(f"{len(self.indices)} timestamps not collected")


class SparseTime:
    """A read-only stand-in for the whole ``time`` array holding only some timestamps (``size``, ``[i]``)."""

    def __init__(self, size: int, known: Mapping[int, float]):
        self.size = size
        self.known = dict(known)

    @property
    def shape(self) -> tuple[int]:
        return (self.size,)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: Any) -> float:
        if not isinstance(i, int | np.integer):
            raise TypeError("SparseTime serves single timestamps only")
        j = int(i) + self.size if i < 0 else int(i)
        if not 0 <= j < self.size:
            raise IndexError(i)
        try:
            return self.known[j]
        except KeyError:
            raise MissingTimes([j]) from None


def neighbourhood(indices: Iterable[int], radius: int, size: int) -> set[int]:
    """Indices within ``radius`` of any of ``indices``, inside the recording."""
    out: set[int] = set()
    for i in indices:
        out.update(range(max(0, i - radius), min(size, i + radius + 1)))
    return out


class _Recorder(SparseTime):
    """Serves estimated timestamps (regular sampling) for the ones not known, and records every index asked."""

    def __init__(self, size: int, known: Mapping[int, float], fs: float):
        super().__init__(size, known)
        self.fs = fs
        self.asked: set[int] = set()

    def __getitem__(self, i: Any) -> float:
        j = int(i) + self.size if i < 0 else int(i)
        self.asked.add(j)
        return self.known.get(j, self.known[0] + j / self.fs)


def guess_indices(window_days: Any, n: int, known: Mapping[int, float], fs: float) -> set[int]:
    """Indices the day-window search will probably read, from a dry run on regularly spaced timestamps."""
    recorder = _Recorder(n, known, fs)
    window_days(recorder, fs)
    return recorder.asked


def _first_at_or_after(t: float, time0: float, delta: float, after: bool = False) -> int:
    """First grid number k with ``k * delta + time0 >= t`` (``> t`` if ``after``), the grid's own rounding."""
    k = max(0, int(math.floor((t - time0) / delta)) - 2)
    while (k * delta + time0 > t) if after else (k * delta + time0 >= t):
        k -= 1
        if k < 0:
            return 0
    while not ((k * delta + time0 > t) if after else (k * delta + time0 >= t)):
        k += 1
    return k


def _sos(fs: float, goal_fs: float) -> np.ndarray:
    """``apply_resample``'s anti-alias filter."""
    ratio = fs / goal_fs
    wn = 0.8 / ratio if int(ratio) == ratio else goal_fs / fs
    return cheby1(8, 0.05, wn, output="sos")


def downsample_window(
    start: int,
    data: Mapping[str, Any],
    *,
    fs: float,
    time0: float,
    time_last: float,
    n_total: int,
    aa_filter: bool,
    indices: Mapping[str, np.ndarray],
    goal_fs: float = GOAL_FS,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:
    """``apply_resample(goal_fs=20, ...)`` of the whole recording, restricted to the samples in ``data``.

    ``start`` is ``data``'s first global sample index (for an integer rate ratio, a multiple of it);
    ``indices`` are global sample indices inside ``data``. Returns (global index of the first 20 Hz
    sample, 20 Hz time, accel, temperature or None, ``indices`` as global 20 Hz indices).
    """
    time = np.asarray(data["time"])
    ratio = fs / goal_fs
    decimate = int(ratio) == ratio and goal_fs < fs
    if decimate:
        step = int(ratio)
        if start % step:
            raise ValueError("a decimated window must start on the decimation grid")
        grid_start = start // step
        time_rs = time[::step]
    else:  # np.arange(0, span + 0.5 / goal_fs, 1 / goal_fs) + time[0], numbered globally
        delta = 1 / goal_fs
        n_grid = int(math.ceil(((time_last - time0) + 0.5 / goal_fs) / delta))
        lo = _first_at_or_after(time[0], time0, delta) if start else 0
        hi = n_grid if start + time.size >= n_total else min(n_grid, _first_at_or_after(time[-1], time0, delta, True))
        grid_start = lo
        # past the window's last sample np.interp would hold the window's last value, not the recording's
        time_rs = np.arange(lo, hi, dtype=np.float64) * delta + time0
    filt = _sos(fs, goal_fs) if ratio >= 1.0 and aa_filter else None

    def column(y: np.ndarray) -> np.ndarray:
        """One signal column filtered (if SKDH filters) and resampled; one column at a time keeps the
        filter's temporaries to a third (``sosfiltfilt`` filters columns independently: same numbers)."""
        if filt is not None:
            y = sosfiltfilt(filt, y)
        return y[::step].copy() if decimate else np.interp(time_rs, time, y)

    def resample(x: np.ndarray | None) -> np.ndarray | None:
        if x is None:
            return None
        if x.ndim == 1:
            return column(x)
        out = np.zeros((time_rs.size, x.shape[1]), dtype=np.float64)
        for j in range(x.shape[1]):
            out[:, j] = column(x[:, j])
        return out

    accel = resample(np.asarray(data["accel"]))
    temp = data.get("temperature")
    temperature = resample(np.asarray(temp)) if temp is not None else None
    numbers = np.arange(grid_start, grid_start + time_rs.size, dtype=np.int64)
    mapped = {
        name: np.around(np.interp(time[np.asarray(idx) - start], time_rs, numbers)).astype(np.int_)
        for name, idx in indices.items()
    }
    assert accel is not None
    return grid_start, time_rs, accel, temperature, mapped
