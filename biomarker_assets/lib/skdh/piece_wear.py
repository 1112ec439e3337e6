"""SKDH's accelerometer-threshold wear detection fed one piece at a time: the same windows, the same numbers.

``AccelThresholdWearDetection`` (and the project's ``...Fast``) take, per axis, the standard
deviation and the range of the acceleration in windows of ``window_length`` minutes every
``window_skip`` minutes, then decide non-wear per window and rescore bouts. Only the first
stage touches samples. :class:`WearWindowStats` computes it while the recording streams by:

- the range is a max/min over each window's samples (max/min are exact, so any grouping gives
  the same numbers). When a window is a whole number of skips (SKDH's 60/15 minutes), as in the
  whole-file ``AccelThresholdWearDetectionFast``, each skip-long block is reduced once and a
  window takes the max/min of its blocks, the incomplete block carried to the next piece;
  otherwise each window is reduced over its samples, those of windows not yet complete carried;
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

CHUNK_SAMPLES = 1 << 19  # samples per step: ~12 MB per (3, n) buffer, three of them


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
        self._next_start = 0  # global index of the next window to compute
        self._sd: list[np.ndarray] = []
        self._range: list[np.ndarray] = []
        # window range, block-wise when a window is whole skips: max/min per skip-block, then over the blocks
        self._blocks = w_len // skip if w_len % skip == 0 else 0
        self._part = np.empty((n_axes, 0))  # (axes, <skip) samples of the block not yet complete
        self._block_max = np.empty((0, n_axes))  # complete blocks from the next window's first block on
        self._block_min = np.empty((0, n_axes))
        self._carry = np.empty((0, n_axes))  # otherwise: the samples from the first window not yet complete
        self._buf, self._counts = np.empty((3, n_axes, 0)), np.empty((2, 0))  # scratch, see _scratch
        self._xt = np.empty((n_axes, 0))  # the chunk, one contiguous row per axis

    def _running_sums(self, xt: np.ndarray) -> None:
        """Extend SKDH's running sums (``m1`` cumulative sum, ``m2`` Welford-style term sum) over ``xt`` (axes, n).

        The recurrence of ``mov_moments_2`` for 1-based sample ``i``: ``m1(i) = m1(i-1) + x(i)``;
        ``delta = x(i) - m1(i-1) / (i-1)``, ``m2(i) = m2(i-1) + delta * (delta / i) * (i-1)``, ``m2(1) = 0``.
        Same operations in the same order (``np.cumsum`` is sequential), vectorised over the chunk
        in three reused (axes, n) buffers; only the recording's first sample is special.
        """
        n0, n = self.n_seen, xt.shape[1]
        m1, term, delta, counts = self._scratch(n)
        np.copyto(m1, xt)  # m1[:, k] at 1-based index n0 + k + 1
        m1[:, 0] += self._m1
        np.cumsum(m1, axis=1, out=m1)
        before, at = counts[0, 1:], counts[1, 1:]  # i - 1 and i for samples 2.. of the chunk
        np.copyto(before, np.arange(n0 + 1, n0 + n, dtype=np.float64))
        np.add(before, 1.0, out=at)
        delta = np.divide(m1[:, :-1], before, out=delta[:, 1:])  # m1(i-1) / (i-1)
        np.subtract(xt[:, 1:], delta, out=delta)
        later = term[:, 1:]
        np.divide(delta, at, out=later)  # delta / i
        np.multiply(delta, later, out=later)
        later *= before
        if n0 == 0:
            term[:, 0] = 0.0  # m2(1) = 0: the recording's first sample adds nothing
        else:
            d0 = xt[:, 0] - self._m1 / n0
            term[:, 0] = d0 * (d0 / (n0 + 1)) * n0
        term[:, 0] += self._m2
        np.cumsum(term, axis=1, out=term)
        rem = self.w_len % self.skip
        for r in sorted({0, rem}):  # 1-based indices i with i % skip == r
            first = n0 + 1 + (r - (n0 + 1)) % self.skip
            for i in range(first, n0 + n + 1, self.skip):
                self._marks[i] = (m1[:, i - n0 - 1].copy(), term[:, i - n0 - 1].copy())
        self._m1, self._m2 = m1[:, -1].copy(), term[:, -1].copy()
        self.n_seen += n

    def _scratch(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(m1, term, delta) as (axes, n) and (2, n) counts, reused across chunks: touching new pages costs more."""
        if self._buf.shape[-1] < n:
            self._buf = np.empty((3, self._m1.size, n))
            self._counts = np.empty((2, n))
        return self._buf[0, :, :n], self._buf[1, :, :n], self._buf[2, :, :n], self._counts[:, :n]

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
        """Consume the next piece's (n, 3) acceleration, in chunks of at most ``CHUNK_SAMPLES``."""
        x = np.asarray(accel, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError("wear detection expects (N, 3) acceleration")
        for a in range(0, x.shape[0], CHUNK_SAMPLES):
            self._add(x[a : a + CHUNK_SAMPLES])

    def _add(self, x: np.ndarray) -> None:
        if self._xt.shape[1] < x.shape[0]:
            self._xt = np.empty((x.shape[1], x.shape[0]))
        xt = self._xt[:, : x.shape[0]]  # one contiguous row per axis: the reductions and sums run along it
        np.copyto(xt, x.T)
        first = self._next_start
        self._running_sums(xt)
        last = self.n_seen - self.w_len  # last start whose window is complete
        if self._blocks:
            self._block_range(xt)
        else:
            self._window_range(x, first, last)
        if last >= first:
            starts = np.arange(first, last + 1, self.skip)
            self._sd.append(self._window_sd(starts))
            self._next_start = int(starts[-1]) + self.skip
        for key in [k for k in self._marks if k < self._next_start]:  # window starts already used
            del self._marks[key]

    def _block_range(self, xt: np.ndarray) -> None:
        """Window range from per-block max/min (exact): each sample is compared once, not ``w_len / skip`` times."""
        buf = np.concatenate((self._part, xt), axis=1) if self._part.size else xt
        n_new = buf.shape[1] // self.skip
        blocks = buf[:, : n_new * self.skip].reshape(buf.shape[0], n_new, self.skip)
        self._part = buf[:, n_new * self.skip :].copy()
        bmax = np.concatenate((self._block_max, blocks.max(axis=2).T), axis=0)
        bmin = np.concatenate((self._block_min, blocks.min(axis=2).T), axis=0)
        k = self._blocks
        n_windows = bmax.shape[0] - k + 1
        if n_windows > 0:
            wmax = sliding_window_view(bmax, k, axis=0).max(axis=-1)
            wmin = sliding_window_view(bmin, k, axis=0).min(axis=-1)
            self._range.append(wmax - wmin)
            bmax, bmin = bmax[n_windows:], bmin[n_windows:]
        self._block_max, self._block_min = bmax.copy(), bmin.copy()

    def _window_range(self, x: np.ndarray, first: int, last: int) -> None:
        """Window range over each window's samples (windows not a whole number of skips), samples carried."""
        buf = np.concatenate((self._carry, x), axis=0) if self._carry.size else x
        buf_start = self.n_seen - buf.shape[0]  # global index of buf[0]
        next_start = first
        if last >= first:
            n_windows = (last - first) // self.skip + 1
            local = buf[first - buf_start :]
            span = sliding_window_view(local[: (n_windows - 1) * self.skip + self.w_len], self.w_len, axis=0)
            span = span[:: self.skip]
            self._range.append(span.max(axis=-1) - span.min(axis=-1))
            next_start = first + n_windows * self.skip
        keep_from = min(next_start, self.n_seen)  # samples of windows not yet complete
        self._carry = buf[keep_from - buf_start :].copy()

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
