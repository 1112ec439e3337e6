"""The recording a day-piece run reads: its pieces, the timestamps collected so far, the state between steps."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from biomarker_assets.lib.skdh.pieces import Pieces

__all__ = ["NotPiecewise", "PieceRun", "per_sample"]


class NotPiecewise(RuntimeError):
    """This pipeline or recording cannot run in pieces (the message says why); run it whole-file."""


def per_sample(data: Mapping[str, Any], n: int) -> set[str]:
    """The keys of ``data`` holding one value per sample (sliced with the samples; the rest are scalars)."""
    return {k for k, v in data.items() if isinstance(v, np.ndarray) and v.ndim and v.shape[0] == n}


class PieceRun:
    """One day-piece run: the recording's pieces, what pass 1 learned, and the state handed between steps."""

    def __init__(self, pieces: Pieces, piece_seconds: float, inputs: dict[str, Any]):
        self.pieces = pieces
        self.piece_seconds = piece_seconds
        self.inputs = inputs
        self.n = int(pieces.n_samples)
        self.t_first, self.t_last = (float(t) for t in pieces.time_span)
        self._reader_warnings: set[tuple[type, str]] = set()
        with self.reading():
            head = pieces.window(self.t_first, np.nextafter(self.t_first, np.inf))
        self.scalars = {k: v for k, v in head.data.items() if k not in per_sample(head.data, head.n)}
        fs = self.scalars.get("fs")
        if fs is None:
            raise NotPiecewise("the reader gives no sampling rate (fs)")
        self.fs = float(fs)
        self.known: dict[int, float] = {0: self.t_first, self.n - 1: self.t_last}
        self.transform: Callable[[dict], dict] = lambda data: data
        self.state: dict[str, Any] = {}  # what steps hand on (wear, day_ends, sleep, sleep's results)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """SKDH's reader warns on every piece it decodes: pass each distinct warning on once, as one read would."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
        for w in caught:
            key = (w.category, str(w.message))
            if key not in self._reader_warnings:
                self._reader_warnings.add(key)
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

    def read(self, lo: int, hi: int, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
        """Samples ``lo .. hi - 1`` (global indices) through ``pieces.window``, calibrated if the pipeline is.

        ``keys``: the per-sample signals to keep (the step reads no others); None keeps all.
        """
        slack = 5.0 + (hi - lo) / self.fs * 0.01
        while True:
            t0 = self.known.get(lo, self.t_first + lo / self.fs) - slack
            t1 = self.known.get(hi - 1, self.t_first + (hi - 1) / self.fs) + slack
            with self.reading():
                piece = self.pieces.window(t0, t1)
            if (piece.start <= lo or t0 < self.t_first) and (piece.stop >= hi or t1 > self.t_last):
                break
            slack *= 4
        if piece.start > lo or piece.stop < hi:
            raise NotPiecewise(f"samples {lo}..{hi} are not served in time order by the reader")
        signals = per_sample(piece.data, piece.n)
        a, b = lo - piece.start, hi - piece.start
        data = self.transform({**self.scalars, **{k: piece.data[k][a:b] for k in signals}})
        del piece
        return {k: v for k, v in data.items() if keys is None or k in keys or k not in signals}

    def collect(self, wanted: np.ndarray) -> None:
        """One streaming pass keeping the timestamps at ``wanted`` (sorted global indices)."""
        with self.reading():
            for piece in self.pieces.iter_pieces(self.piece_seconds):
                self.keep_times(piece.start, np.asarray(piece.data["time"]), wanted)

    def keep_times(self, start: int, time: np.ndarray, wanted: np.ndarray) -> None:
        lo, hi = np.searchsorted(wanted, [start, start + time.size])
        sel = wanted[lo:hi]
        self.known.update(zip(sel.tolist(), time[sel - start].tolist(), strict=True))
