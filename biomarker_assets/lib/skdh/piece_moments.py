"""SKDH's 10-s window moments and sampling rate, computed from pieces with SKDH's exact rounding.

SKDH 0.17.18's ``moving_sd``/``moving_mean`` (Fortran ``mov_moments_2``/``mov_moments_1``) keep
running sums from the first sample of each call: ``m1`` (sum) and ``m2`` (Welford-style sum of
squared deviations); a window's mean and SD are differences of those sums at its two ends. The
sums are sequential, so they can be carried from one piece to the next and give bit-identical
windows, as long as they restart exactly where SKDH's calls start (:func:`plan_store_calls`).
``np.cumsum`` adds in the same order as the Fortran loop; the per-sample terms are computed with
the Fortran expression's order of operations. ``tests/unit/test_piece_calibration.py`` checks both
against SKDH's functions bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from biomarker_assets.lib.skdh.pieces import Pieces

__all__ = ["StoreCall", "WindowMoments", "plan_store_calls", "stream_fs"]

#: samples per vectorized block: bounds the temporaries (about 10 arrays of 24 B a sample: 8 MiB; faster than larger)
_BLOCK = 1 << 15
#: mov_moments_2 zeroes M2 in (-1e-5, 0): the literal is single precision in the Fortran source
_M2_CLIP = float(np.float32(-1e-5))


@dataclass(frozen=True)
class StoreCall:
    """One update of SKDH's ``Store``: it is handed ``accel[:prefix]`` and adds the windows of ``[start, stop)``.

    ``tail``: SKDH's short-remainder branch (at most one window's samples left at the recording's end),
    which adds one row of ``np.mean``/``np.std`` over ``[start, prefix)`` instead of moving moments.
    """

    prefix: int
    start: int
    stop: int
    tail: bool


def plan_store_calls(n: int, nh: int, n12h: int, wlen: int) -> list[StoreCall]:
    """The Store updates SKDH's ``predict`` loop makes on ``n`` samples until the end (it stops at a successful fit)."""
    calls: list[StoreCall] = []
    done, k = 0, 0
    while True:
        prefix = min(nh + k * n12h, n)
        left = prefix - done
        tail = k > 0 and left <= wlen
        calls.append(StoreCall(prefix, done, done + (left // wlen) * wlen, tail))
        done = calls[-1].stop
        if nh + k * n12h >= n:
            return calls
        k += 1


class WindowMoments:
    """Non-overlapping windows' SD and mean of ``accel`` (and mean of ``temperature``), fed piece by piece.

    Running sums restart at each of ``restarts`` (the Store calls' starts, multiples of ``wlen``).
    The last ``wlen`` samples are kept for SKDH's tail branch. Memory: 56 B per window.
    """

    def __init__(self, n: int, wlen: int, restarts: list[int], uses_temperature: bool):
        self.wlen = wlen
        self.uses_temperature = uses_temperature
        self.position = 0
        n_windows = n // wlen
        self._sd = np.full((n_windows, 3), np.nan)
        self._mean = np.full((n_windows, 3), np.nan)
        self._tmean = np.full(n_windows, np.nan)
        self._restarts = sorted(set(restarts))
        self._seg = 0  # samples since the current restart
        self._m1 = np.zeros(3)
        self._m2 = np.zeros(3)
        self._t1 = np.zeros(1)
        self._prev = (np.zeros(3), np.zeros(3), np.zeros(1))  # sums at the previous window end
        self._tail_acc = np.empty((0, 3))
        self._tail_tmp = np.empty(0)

    @property
    def nbytes(self) -> int:
        return int(self._sd.nbytes + self._mean.nbytes + self._tmean.nbytes + self._tail_acc.nbytes)

    def feed(self, data: Mapping[str, Any]) -> None:
        """Take the next piece's ``accel`` (and ``temperature``)."""
        acc = np.asarray(data["accel"], dtype=np.float64)
        tmp = np.asarray(data["temperature"], dtype=np.float64) if self.uses_temperature else None
        self._tail_acc = np.concatenate((self._tail_acc, acc[-self.wlen :]))[-self.wlen :]
        if tmp is not None:
            self._tail_tmp = np.concatenate((self._tail_tmp, tmp[-self.wlen :]))[-self.wlen :]
        a = 0
        while a < acc.shape[0]:
            pos = self.position
            if pos in self._restarts:
                self._restart()
            nxt = next((r for r in self._restarts if r > pos), None)
            b = acc.shape[0] if nxt is None else min(acc.shape[0], a + nxt - pos)
            b = min(b, a + _BLOCK)
            self._block(acc[a:b], None if tmp is None else tmp[a:b])
            self.position += b - a
            a = b

    def _restart(self) -> None:
        self._seg = 0
        self._m1, self._m2, self._t1 = np.zeros(3), np.zeros(3), np.zeros(1)
        self._prev = (np.zeros(3), np.zeros(3), np.zeros(1))

    def _block(self, x: np.ndarray, t: np.ndarray | None) -> None:
        """Advance the running sums over ``x`` (all in one segment) and finish the windows that end in it."""
        k = x.shape[0]
        i = np.arange(self._seg + 1, self._seg + k + 1, dtype=np.float64)[:, None]  # Fortran's 1-based index
        m1 = np.cumsum(np.concatenate((self._m1[None, :], x)), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):  # i = 1: its term is 0 by definition
            delta = x - m1[:-1] / (i - 1)
            delta_n = delta / i
            term1 = delta * delta_n * (i - 1)
        if self._seg == 0:
            term1[0] = 0.0
        m2 = np.cumsum(np.concatenate((self._m2[None, :], term1)), axis=0)
        t1 = np.cumsum(np.concatenate((self._t1, t))) if t is not None else np.zeros(k + 1)
        ends = np.arange(self.wlen - self._seg % self.wlen, k + 1, self.wlen)  # 1-based offsets of window ends
        if ends.size:
            self._windows(ends, m1, m2, t1)
        self._m1, self._m2, self._t1 = m1[-1], m2[-1], t1[-1:]
        self._seg += k

    def _windows(self, ends: np.ndarray, m1: np.ndarray, m2: np.ndarray, t1: np.ndarray) -> None:
        """mov_moments_2/1's window formulas for windows ending at block offsets ``ends`` (1-based)."""
        wlen = self.wlen
        e1, e2, et = m1[ends], m2[ends], t1[ends]
        p1 = np.concatenate((self._prev[0][None, :], e1[:-1]))
        p2 = np.concatenate((self._prev[1][None, :], e2[:-1]))
        pt = np.concatenate((self._prev[2], et[:-1]))
        rel = (self._seg + ends).astype(np.float64)  # Fortran's i at each window end
        nb = rel - wlen
        with np.errstate(invalid="ignore", divide="ignore"):  # nb = 0: the first window has no correction
            delta = p1 / nb[:, None] - (e1 - p1) / wlen
            m2w = e2 - p2 - delta**2 * wlen * nb[:, None] / rel[:, None]
        first = nb == 0
        m2w[first] = e2[first]
        mean = e1 - p1
        mean[first] = e1[first]
        tsum = et - pt
        tsum[first] = et[first]
        m2w[(m2w > _M2_CLIP) & (m2w < 0.0)] = 0.0
        with np.errstate(invalid="ignore"):  # a negative M2 beyond the clip is NaN in SKDH too
            sd = np.sqrt(m2w / float(wlen - 1))
        w = (self.position + ends) // wlen - 1  # global window indices (restarts are multiples of wlen)
        self._sd[w] = sd
        self._mean[w] = mean / wlen
        self._tmean[w] = tsum / wlen
        self._prev = (e1[-1], e2[-1], et[-1:])

    def rows(self, call: StoreCall) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(acc SD, acc mean, temperature mean) rows SKDH's Store holds after ``call``."""
        if not call.tail:
            w = call.stop // self.wlen
            return self._sd[:w], self._mean[:w], self._tmean[:w]
        from skdh.utility import moving_mean  # SKDH's own tail branch, on the kept samples

        w = call.start // self.wlen
        left = call.prefix - call.start
        acc, tmp = self._tail_acc[-left:], self._tail_tmp[-left:]
        sd = np.concatenate((self._sd[:w], np.std(acc, axis=0, keepdims=True)))
        mean = np.concatenate((self._mean[:w], np.mean(acc, axis=0, keepdims=True)))
        if not self.uses_temperature:
            return sd, mean, np.zeros(mean.shape[0])
        return sd, mean, np.concatenate((self._tmean[:w], moving_mean(tmp, self.wlen, self.wlen)))


def stream_fs(pieces: Pieces, piece_seconds: float, limit: int = 1 << 22) -> float:
    """SKDH's ``1 / mean(diff(time))`` over the whole recording, bit for bit, from one pass over the pieces.

    NumPy sums a float64 array pairwise (split in halves rounded down to a multiple of 8, down to
    blocks of 128); the tree depends only on the length, so ``np.add.reduce`` of a subtree's range is
    that subtree's sum. The tree is walked down to ranges of at most ``limit`` differences, each summed
    by NumPy itself, in order, as the pieces arrive.
    """
    n = int(pieces.n_samples) - 1
    stream = pieces.iter_pieces(piece_seconds)
    buffer: list[np.ndarray] = []
    buffered = 0
    last: np.ndarray | None = None

    def take(k: int) -> np.ndarray:
        nonlocal buffered, last
        while buffered < k:
            t = np.asarray(next(stream).data["time"], dtype=np.float64)
            d = np.diff(t) if last is None else np.diff(np.concatenate((last, t)))
            last = t[-1:]
            buffer.append(d)
            buffered += d.size
        run = np.concatenate(buffer)
        buffer[:] = [run[k:]]
        buffered -= k
        return run[:k]

    def total(k: int) -> float:
        if k <= limit:
            return float(np.add.reduce(take(k)))
        half = k // 2
        half -= half % 8
        return total(half) + total(k - half)

    mean = np.float64(total(n)) / n
    return float(1 / mean)
