"""A recording handed to a pipeline in pieces: what a day-piece run reads instead of the whole file.

SKDH holds a whole recording in memory (about 120 bytes per sample: 6.8 GB for 7 days at 100 Hz).
A run that reads its file one piece at a time peaks with the piece, not the file. ``Pieces`` is
what such a run needs from a file: the recording's span, consecutive pieces in order (one
streaming pass), and the samples of one time window (a day). :class:`ArrayPieces` serves them from
arrays already in memory (tests; formats without blocks); ``piece_files`` serves them from a
block-structured file through SKDH's own reader, so the decoding is SKDH's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

__all__ = ["ArrayPieces", "Piece", "Pieces"]


@dataclass(frozen=True)
class Piece:
    """Samples ``start`` .. ``start + n - 1`` of the recording, as SKDH's reader returns them.

    ``data`` holds what the reader hands on (``time``, ``accel``, ``fs``, ``temperature``, ``light``,
    ...), per-sample arrays cut to these samples; scalars (``fs``) are the whole file's.
    """

    start: int
    data: Mapping[str, Any]

    @property
    def n(self) -> int:
        return int(np.asarray(self.data["time"]).shape[0])

    @property
    def stop(self) -> int:
        return self.start + self.n


class Pieces(Protocol):
    """A recording that can be read in pieces; sample indices count from the recording's first sample."""

    @property
    def n_samples(self) -> int:
        """Samples in the whole recording, as the whole-file read would return them."""
        ...

    @property
    def time_span(self) -> tuple[float, float]:
        """(first, last) timestamp of the recording, unix seconds as the reader returns them."""
        ...

    def iter_pieces(self, seconds: float) -> Iterator[Piece]:
        """Consecutive pieces of about ``seconds`` each, in order, covering every sample exactly once."""
        ...

    def window(self, t0: float, t1: float) -> Piece:
        """The samples with ``t0 <= time < t1`` (possibly none: ``n == 0``)."""
        ...


class ArrayPieces:
    """:class:`Pieces` over a reader's output already in memory (per-sample arrays sliced, scalars kept)."""

    def __init__(self, data: Mapping[str, Any]):
        self._data = dict(data)
        self._time = np.asarray(self._data["time"])
        self._per_sample = {
            k for k, v in self._data.items() if isinstance(v, np.ndarray) and v.ndim and v.shape[0] == self._time.size
        }

    @property
    def n_samples(self) -> int:
        return int(self._time.size)

    @property
    def time_span(self) -> tuple[float, float]:
        return float(self._time[0]), float(self._time[-1])

    def _slice(self, a: int, b: int) -> Piece:
        return Piece(a, {k: (v[a:b] if k in self._per_sample else v) for k, v in self._data.items()})

    def iter_pieces(self, seconds: float) -> Iterator[Piece]:
        a = 0
        while a < self._time.size:
            b = int(np.searchsorted(self._time, self._time[a] + seconds, side="left"))
            b = max(b, a + 1)
            yield self._slice(a, b)
            a = b

    def window(self, t0: float, t1: float) -> Piece:
        a, b = np.searchsorted(self._time, [t0, t1], side="left")
        return self._slice(int(a), int(b))
