"""SKDH's accelerometer-threshold wear detection fed one piece at a time: the same windows, the same numbers.

``AccelThresholdWearDetection`` (and the project's ``...Fast``) take, per axis, the standard
deviation and the range of the acceleration in windows of ``window_length`` minutes every
``window_skip`` minutes, then decide non-wear per window and rescore bouts. Only the first
stage touches samples. :class:`WearWindowStats` computes it while the recording streams by:

- the range is a max/min over each window's samples; a window straddling pieces is computed
  from the samples carried over, so every window sees exactly its samples (max/min are exact);
- SKDH 0.17.18's ``moving_sd`` (its Fortran ``mov_moments_2``) is *not* a per-window standard
  deviation: it keeps running sums ``m1`` and ``m2`` over the whole recording and differences
  them at the window's ends. The rounding of a window's value therefore depends on every
  sample before it. The same recurrences are run here with the sums carried across pieces
  (``np.cumsum`` adds sequentially, as the Fortran loop does), so each value is bit-identical
  to SKDH's on the whole array (tested against ``moving_sd`` for many window/skip pairs).

:func:`decide_wear` is the rest of SKDH's ``predict`` on the per-window arrays (a few thousand
numbers for a week), calling SKDH's own bout rescoring (``_modify_wear_times``).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from skdh.preprocessing import AccelThresholdWearDetection

__all__ = ["WearWindowStats", "decide_wear", "wear_window_samples"]

CHUNK_SAMPLES = 1 << 19  # samples per step of the running sums: ~12 MB per (n, 3) temporary


def wear_window_samples(proc: AccelThresholdWearDetection, fs: float) -> tuple[int, int]:
    """(samples per window, samples per skip), as SKDH's ``predict`` computes them."""
    return int(proc.wlen * 60 * fs), int(proc.wskip * 60 * fs)


class WearWindowStats:
    """Per-window SD and range of (N, 3) acceleration handed in consecutive pieces; see the module docstring."""

    def __init__(self, w_len: int, skip: int, n_axes: int = 3):
        if w_len <= 0 or skip <= 0:
            raise ValueError("`wlen` and `skip` cannot be less than or equal to 0.")
        self.w_len, self.skip = w_len, skip
        self.n_seen = 0  # samples consumed so far
        self._m1 = np.zeros(n_axes)  # running sums at sample n_seen (1-based index n_seen)
        self._m2 = np.zeros(n_axes)
        # running sums at the 1-based indices a window ends on or starts after: i % skip in {0, w_len % skip}
        self._marks: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._carry = np.empty((0, n_axes))  # the last samples, from the first window not yet complete
        self._next_start = 0  # global index of the next window to compute
        self._sd: list[np.ndarray] = []
        self._range: list[np.ndarray] = []

    def _running_sums(self, x: np.ndarray) -> None:
        """Extend SKDH's running sums (``m1`` cumulative sum, ``m2`` Welford-style term sum) over ``x``."""
        n0 = self.n_seen
        idx = np.arange(n0 + 1, n0 + x.shape[0] + 1, dtype=np.int64)  # 1-based sample indices
        m1 = np.cumsum(np.concatenate((self._m1[None, :], x), axis=0), axis=0)  # m1[k] at index n0 + k
        term = np.zeros_like(x)
        later = idx >= 2  # m2(1) = 0: the first sample adds nothing
        i = idx[later][:, None]
        delta = x[later] - m1[:-1][later] / (i - 1)
        delta_n = delta / i
        term[later] = delta * delta_n * (i - 1)
        m2 = np.cumsum(np.concatenate((self._m2[None, :], term), axis=0), axis=0)
        rem = self.w_len % self.skip
        wanted = (idx % self.skip == 0) | (idx % self.skip == rem)
        for k in np.nonzero(wanted)[0]:
            self._marks[int(idx[k])] = (m1[k + 1].copy(), m2[k + 1].copy())
        self._m1, self._m2 = m1[-1].copy(), m2[-1].copy()
        self.n_seen += x.shape[0]

    def _window_sd(self, starts: np.ndarray) -> np.ndarray:
        """SKDH's ``mov_moments_2`` standard deviation of the windows starting at ``starts`` (0-based)."""
        out = np.empty((starts.size, self._m1.size))
        w = self.w_len
        for r, s in enumerate(starts.tolist()):
            end = s + w  # 1-based index of the window's last sample
            m1_end, m2_end = self._marks[end]
            if s == 0:
                sd = m2_end.copy()
            else:
                m1_nb, m2_nb = self._marks[s]
                delta = m1_nb / s - (m1_end - m1_nb) / w
                sd = m2_end - m2_nb - delta**2 * w * s / end
            sd[(sd > -1e-5) & (sd < 0.0)] = 0.0
            out[r] = np.sqrt(sd / float(w - 1))
        return out

    def add(self, accel: np.ndarray) -> None:
        """Consume the next piece's (n, 3) acceleration (in chunks: the running sums need ~8 copies of one)."""
        x = np.asarray(accel, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError("wear detection expects (N, 3) acceleration")
        for a in range(0, x.shape[0], CHUNK_SAMPLES):
            self._add(x[a : a + CHUNK_SAMPLES])

    def _add(self, x: np.ndarray) -> None:
        self._running_sums(x)
        buf = np.concatenate((self._carry, x), axis=0) if self._carry.size else x
        buf_start = self.n_seen - buf.shape[0]  # global index of buf[0]
        first = self._next_start
        last = self.n_seen - self.w_len  # last start whose window is complete
        if last >= first:
            starts = np.arange(first, last + 1, self.skip)
            local = buf[first - buf_start :]
            span = sliding_window_view(local[: starts[-1] - first + self.w_len], self.w_len, axis=0)[:: self.skip]
            self._range.append(span.max(axis=-1) - span.min(axis=-1))
            self._sd.append(self._window_sd(starts))
            self._next_start = int(starts[-1]) + self.skip
        keep_from = min(self._next_start, self.n_seen)  # samples of windows not yet complete
        self._carry = buf[keep_from - buf_start :].copy()
        for key in [k for k in self._marks if k < self._next_start]:  # window starts already used
            del self._marks[key]

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(SD, range), one row per complete window, as SKDH's ``moving_sd``/``moving_max - moving_min``."""
        n_axes = self._m1.size
        sd = np.concatenate(self._sd) if self._sd else np.empty((0, n_axes))
        rng = np.concatenate(self._range) if self._range else np.empty((0, n_axes))
        return sd, rng


def decide_wear(
    proc: AccelThresholdWearDetection, sd: np.ndarray, acc_range: np.ndarray, n_samples: int, skip: int
) -> np.ndarray:
    """SKDH's ``predict`` after the window statistics: non-wear per window, bout rules, (start, stop) indices."""
    n_full = sd.shape[0]
    n_starts = (n_samples - 1) // skip + 1
    nonwear = np.zeros(n_starts, dtype=bool)
    nonwear[:n_full] = np.sum((sd < proc.sd_crit) & (acc_range < proc.range_crit), axis=1) >= 2
    nonwear[n_full:n_starts] = nonwear[n_full - 1]  # SKDH: the NaN tail takes the last full window's value
    starts, stops = proc._modify_wear_times(nonwear, proc.wskip, proc.apply_setup_crit, proc.ship_crit)
    return np.minimum(np.concatenate((starts, stops)).reshape((2, -1)).T * skip, n_samples - 1)
