"""SKDH's accelerometer-threshold wear detection with its moving max/min done block-wise: same numbers, faster.

scikit-digital-health 0.17.18's ``AccelThresholdWearDetection`` takes, per axis, the
range (max - min) of the acceleration in 60-minute windows every 15 minutes. SKDH's
``moving_max``/``moving_min`` visit every sample of every window (each sample four
times) in its C extension: about 1.2 s of the 24 h, 50 Hz wrist pipeline. When the
window is a whole number of steps (60 / 15 = 4), the max of a window is the max of
the maxima of the steps it covers, so :func:`moving_max_fast` reduces each step's
block once (NumPy, contiguous per axis) and then takes the max over 4 neighbouring
blocks: the same comparisons on the same numbers, so the result is *identical*, not
just close. Any other case (window not a multiple of the step, a NaN in the data,
more than 2 dimensions, a window longer than the data) goes to SKDH's own function.

``moving_sd`` stays SKDH's: its running-sum algorithm differs from a two-pass
standard deviation by ~6e-10 (relative) on real data, more than the 1e-12 these
processes promise, and it is already fast.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from skdh.base import handle_process_returns
from skdh.preprocessing import AccelThresholdWearDetection
from skdh.utility.math import moving_max as _skdh_moving_max
from skdh.utility.math import moving_min as _skdh_moving_min

from biomarker_assets.skdh_processes._rebind import rebind
from biomarker_assets.skdh_processes.activity import FAST_NOTE

__all__ = ["AccelThresholdWearDetectionFast", "moving_max_fast", "moving_min_fast"]


def _blockwise(
    reduce: Callable[..., np.ndarray], a: np.ndarray, w_len: int, skip: int, trim: bool
) -> np.ndarray | None:
    """``reduce`` (np.max/min) over windows of ``w_len`` every ``skip`` samples on axis 0; None if not applicable."""
    n = a.shape[0]
    if w_len % skip or w_len > n or a.ndim not in (1, 2):
        return None
    k = w_len // skip
    n_full = (n - w_len) // skip + 1  # windows inside the data (SKDH's trimmed output)
    n_blocks = n_full + k - 1
    cols = a.reshape(n, -1)[: n_blocks * skip].T  # (axes, samples): each axis contiguous after the copy
    blocks = reduce(np.ascontiguousarray(cols).reshape(cols.shape[0], n_blocks, skip), axis=2).T
    if np.isnan(blocks).any():  # SKDH's NaN semantics are its own: let it answer
        return None
    full = reduce(sliding_window_view(blocks, k, axis=0), axis=-1)  # (n_full, axes)
    if not trim:  # SKDH: one row per window start, NaN where the window runs past the end
        out = np.full(((n - 1) // skip + 1, full.shape[1]), np.nan)
        out[:n_full] = full
        full = out
    return full.reshape((full.shape[0], *a.shape[1:]))


def _along_first_axis(arr: np.ndarray, axis: int) -> bool:
    """Whether ``axis`` is the first axis of a 1-D or 2-D ``arr`` (a bad axis: False, SKDH raises its error)."""
    return arr.ndim in (1, 2) and -arr.ndim <= axis < arr.ndim and axis % arr.ndim == 0


def _moving_fast(reduce, skdh_fallback, a, w_len, skip, trim, axis):
    """Block-wise ``reduce`` over windows when the window is a multiple of the step, else SKDH's own function."""
    arr = np.asarray(a)
    if _along_first_axis(arr, axis) and w_len > 0 and skip > 0:
        out = _blockwise(reduce, arr, int(w_len), int(skip), trim)
        if out is not None:
            return out
    return skdh_fallback(a, w_len, skip, trim=trim, axis=axis)


def moving_max_fast(a, w_len, skip, trim=True, axis=-1):
    """``skdh.utility.math.moving_max``, block-wise when the window is a multiple of the step; identical results."""
    return _moving_fast(np.max, _skdh_moving_max, a, w_len, skip, trim, axis)


def moving_min_fast(a, w_len, skip, trim=True, axis=-1):
    """``skdh.utility.math.moving_min``, block-wise when the window is a multiple of the step; identical results."""
    return _moving_fast(np.min, _skdh_moving_min, a, w_len, skip, trim, axis)


class AccelThresholdWearDetectionFast(AccelThresholdWearDetection):
    """``skdh.preprocessing.AccelThresholdWearDetection`` with block-wise moving max/min; identical results.

    Same parameters (SKDH's ``__init__``) and results (``wear`` start/stop indices);
    ``predict`` is SKDH's own code with ``moving_max``/``moving_min`` resolved to
    :func:`moving_max_fast`/:func:`moving_min_fast`.
    """

    PROVENANCE_NOTE = FAST_NOTE.format(
        skdh="preprocessing.AccelThresholdWearDetection",
        what="the 60-minute acceleration range takes the max/min of each 15-minute block once and then over "
        "4 neighbouring blocks (identical values) instead of over every window's samples",
    )

    predict = handle_process_returns(results_to_kwargs=True)(
        rebind(
            AccelThresholdWearDetection.predict,
            {"moving_max": moving_max_fast, "moving_min": moving_min_fast},
            "AccelThresholdWearDetectionFast.predict",
        )
    )
