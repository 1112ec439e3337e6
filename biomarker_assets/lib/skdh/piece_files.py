"""Pieces of a block-structured device file, decoded by SKDH's own reader.

An Axivity ``.cwa`` is a 1,024-byte header and 512-byte blocks of a fixed number of samples; a
GENEActiv ``.bin`` is a text header and pages of 300 samples. Both readers place a block's samples
by the block's sequence number, so a piece is read by writing the header plus a run of blocks,
renumbered from 0 (the ``.cwa`` checksum word corrected), to a temporary file and running the
step's own SKDH reader class, with its parameters, on it. The decoding is SKDH's; what the project
adds is which blocks to read. A ``.cwa`` block's timestamps are interpolated from its neighbours,
so each read takes ``_MARGIN_BLOCKS`` extra blocks on both sides and keeps only the blocks asked
for: the samples and times then equal the whole-file read's exactly (tests compare them).

Times: SKDH converts the device's local clock to UTC with one offset, taken at the recording's
first sample (``skdh.io.base.handle_naive_timestamps``). Pieces are read naive and shifted by that
same offset, computed once from the first sample, so they match the whole read across a DST change.

A file this module cannot serve exactly (sequence numbers with gaps, blocks of varying sample
counts, a reader step that trims by other inputs) raises :class:`PiecesUnsupported` with the
reason; the caller then reads the whole file, as before.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from biomarker_assets.lib.skdh.pieces import Piece

__all__ = ["FilePieces", "PiecesUnsupported", "open_pieces"]

_MARGIN_BLOCKS = 2
_READ_SAMPLES = 2_160_000  # samples per reader call: 6 h at 100 Hz, about 200 MB while SKDH decodes
_SCAN_BYTES = 8 * 2**20  # the block index is built from the file in parts of this size
_CWA_HEADER, _CWA_BLOCK = 1024, 512
_BIN_PAGE_SAMPLES = 300


class PiecesUnsupported(ValueError):
    """This file or reader step cannot be read in pieces exactly; the reason says why."""


@dataclass(frozen=True)
class _Layout:
    """Where a file's blocks are: byte offsets, samples per block, approximate naive start times."""

    suffix: str
    header: bytes
    offsets: np.ndarray  # (n_blocks + 1,) byte offset of each block, then the end of the last
    samples_per_block: int
    approx_times: np.ndarray  # (n_blocks,) naive local seconds of each block's start, to about 1 s

    @property
    def n_blocks(self) -> int:
        return int(self.offsets.size - 1)


def _chunks(path: Path, overlap: int = 0) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) parts of the file, each starting ``overlap`` bytes before the previous part's end."""
    with path.open("rb") as fh:
        pos = 0
        while True:
            fh.seek(pos)
            data = fh.read(_SCAN_BYTES)
            if not data:
                return
            yield pos, data
            if len(data) < _SCAN_BYTES:
                return
            pos += len(data) - overlap


def _cwa_times(packed: np.ndarray) -> np.ndarray:
    """Naive seconds of Axivity packed timestamps (year-2000:6 month:4 day:5 hour:5 minute:6 second:6)."""
    p = packed.astype(np.int64)
    years = (p >> 26) & 0x3F
    months, days = (p >> 22) & 0x0F, (p >> 17) & 0x1F
    seconds = ((p >> 12) & 0x1F) * 3600 + ((p >> 6) & 0x3F) * 60 + (p & 0x3F)
    month_start = (360 + years * 12 + np.clip(months, 1, 12) - 1).astype("datetime64[M]")  # months since 1970
    day = month_start.astype("datetime64[D]") + np.clip(days, 1, 31) - 1
    return day.astype("datetime64[s]").astype(np.int64).astype(np.float64) + seconds


def _cwa_layout(path: Path) -> _Layout:
    size = path.stat().st_size
    n = (size - _CWA_HEADER) // _CWA_BLOCK
    if n < 1 or size != _CWA_HEADER + n * _CWA_BLOCK:
        raise PiecesUnsupported(f"not a whole number of {_CWA_BLOCK}-byte blocks after the header ({size} bytes)")
    with path.open("rb") as fh:
        header = fh.read(_CWA_HEADER)
    seq, counts, stamps = np.empty(n, np.uint32), np.empty(n, np.uint16), np.empty(n, np.uint32)
    per_part = _SCAN_BYTES // _CWA_BLOCK
    for first in range(0, n, per_part):
        part = np.fromfile(
            path, np.uint8, count=min(per_part, n - first) * _CWA_BLOCK, offset=_CWA_HEADER + first * _CWA_BLOCK
        )
        blocks = part.reshape(-1, _CWA_BLOCK)
        last = first + blocks.shape[0]
        if not np.all((blocks[:, 0] == ord("A")) & (blocks[:, 1] == ord("X"))):
            raise PiecesUnsupported("a block is not an 'AX' data block")
        seq[first:last] = blocks[:, 10:14].copy().view("<u4").ravel()
        stamps[first:last] = blocks[:, 14:18].copy().view("<u4").ravel()
        counts[first:last] = blocks[:, 28:30].copy().view("<u2").ravel()
    if not np.array_equal(seq, np.arange(n, dtype=np.uint32)):
        raise PiecesUnsupported("block sequence numbers are not 0, 1, 2, ... (missing or reordered blocks)")
    if np.any(counts != counts[0]) or counts[0] == 0:
        raise PiecesUnsupported(f"blocks hold different numbers of samples ({sorted(set(counts.tolist()))[:5]})")
    offsets = _CWA_HEADER + _CWA_BLOCK * np.arange(n + 1, dtype=np.int64)
    return _Layout(".cwa", header, offsets, int(counts[0]), _cwa_times(stamps))


_PAGE = re.compile(rb"Recorded Data")
_PAGE_FIELDS = re.compile(
    rb"Recorded Data.*?Sequence Number:\s*(\d+).*?Page Time:(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", re.S
)
_PAGES_HEADER = re.compile(rb"Number of Pages:\s*(\d+)")
_SEQUENCE = re.compile(rb"Sequence Number:\s*(\d+)")


def _bin_layout(path: Path) -> _Layout:
    starts: list[int] = []
    seqs: list[int] = []
    times: list[bytes] = []
    overlap = 512  # a page's fields sit within its first ~150 bytes
    for pos, data in _chunks(path, overlap):
        for m in _PAGE_FIELDS.finditer(data):
            at = pos + m.start()
            if starts and at <= starts[-1]:
                continue  # seen in the previous part's overlap
            if m.start() > len(data) - overlap and len(data) == _SCAN_BYTES:
                break  # the next part sees it whole
            starts.append(at)
            seqs.append(int(m.group(1)))
            times.append(m.group(2))
    if not starts:
        raise PiecesUnsupported("no 'Recorded Data' pages")
    with path.open("rb") as fh:
        header = fh.read(starts[0])
    promised = _PAGES_HEADER.search(header)
    if promised is None or int(promised.group(1)) != len(starts):
        raise PiecesUnsupported(f"the header's 'Number of Pages' does not match the {len(starts)} pages found")
    if seqs != list(range(len(seqs))):
        raise PiecesUnsupported("page sequence numbers are not 0, 1, 2, ... (missing or reordered pages)")
    offsets = np.array([*starts, path.stat().st_size], dtype=np.int64)
    approx = np.array([t.decode() for t in times], dtype="datetime64[s]").astype(np.int64).astype(np.float64)
    return _Layout(".bin", header, offsets, _BIN_PAGE_SAMPLES, approx)


_LAYOUTS = {"ReadCwa": _cwa_layout, "ReadBin": _bin_layout}


def _renumbered(layout: _Layout, raw: bytes, a: int, b: int) -> bytes:
    """Header plus blocks ``a .. b-1`` numbered from 0 (and a header promising that many, for ``.bin``)."""
    if layout.suffix == ".cwa":
        blocks = np.frombuffer(raw, np.uint8).reshape(b - a, _CWA_BLOCK).copy()
        blocks[:, 10:14] = np.arange(b - a, dtype="<u4").view(np.uint8).reshape(-1, 4)
        words = blocks.view("<u2")
        words[:, 255] = 0
        words[:, 255] = (-words.sum(axis=1, dtype=np.uint64).astype(np.int64)) % 65536  # the block sums to 0
        return layout.header + blocks.tobytes()
    header = _PAGES_HEADER.sub(b"Number of Pages:%d" % (b - a), layout.header, count=1)
    body = _SEQUENCE.sub(lambda m: b"Sequence Number:%d" % (int(m.group(1)) - a), raw)
    return header + body


class FilePieces:
    """:class:`~biomarker_assets.lib.skdh.pieces.Pieces` of a ``.cwa``/``.bin`` file through the step's SKDH reader."""

    def __init__(self, reader: Any, path: Path, layout: _Layout, tz_name: str | None):
        self._reader, self._path, self._layout, self._tz = reader, path, layout, tz_name
        self._offset: float | None = None
        self._span: tuple[float, float] | None = None

    @property
    def n_samples(self) -> int:
        return self._layout.n_blocks * self._layout.samples_per_block

    def _read_naive(self, a: int, b: int) -> dict[str, Any]:
        """The reader's output for blocks ``a .. b-1``, times naive (the device's clock)."""
        lay = self._layout
        with self._path.open("rb") as fh:
            fh.seek(int(lay.offsets[a]))
            raw = fh.read(int(lay.offsets[b] - lay.offsets[a]))
        with tempfile.TemporaryDirectory(prefix="biomarker-piece-") as tmp:
            piece_file = Path(tmp) / f"piece{lay.suffix}"
            piece_file.write_bytes(_renumbered(lay, raw, a, b))
            del raw
            with warnings.catch_warnings():  # "naive timestamps, no time zone": the offset is added below
                warnings.simplefilter("ignore")
                out = self._reader.predict(file=str(piece_file), tz_name=None)
        return dict(out[1] if isinstance(out, tuple) else out)  # (kwargs handed on, results)

    def _utc_offset(self) -> float:
        """SKDH's local-to-UTC shift, taken at the recording's first sample (as the whole read does)."""
        if self._offset is None:
            self._offset = 0.0
            if self._tz is not None:
                from skdh.io.base import handle_naive_timestamps

                first = np.asarray(self._read_naive(0, min(1 + _MARGIN_BLOCKS, self._layout.n_blocks))["time"][:1])
                self._offset = float(handle_naive_timestamps(first, is_local=True, tz_name=self._tz)[0] - first[0])
        return self._offset

    def _blocks(self, a: int, b: int) -> tuple[int, dict[str, Any]]:
        """(index of the first sample, the reader's output) for exactly blocks ``a .. b-1``, times in UTC.

        Read ``_READ_SAMPLES`` at a time into arrays of the final size: SKDH's reader holds about
        90 bytes per sample while it decodes, the result 40-48.
        """
        spb = self._layout.samples_per_block
        per_read = max(1, _READ_SAMPLES // spb)
        out: dict[str, Any] | None = None
        for c in range(a, b, per_read):
            d = min(b, c + per_read)
            part = self._read_blocks(c, d)
            if out is None:
                if d == b:
                    return a * spb, part
                n = (b - a) * spb
                out = {k: _empty_like(v, n) for k, v in part.items()}
            lo = (c - a) * spb
            for k, v in part.items():
                if isinstance(out[k], np.ndarray) and out[k].ndim and out[k].shape[0] == (b - a) * spb:
                    out[k][lo : lo + (d - c) * spb] = v
            del part
        assert out is not None  # b > a
        return a * spb, out

    def _read_blocks(self, a: int, b: int) -> dict[str, Any]:
        """The reader's output for exactly blocks ``a .. b-1`` (read with margins), times in UTC."""
        lay, spb = self._layout, self._layout.samples_per_block
        a0, b0 = max(0, a - _MARGIN_BLOCKS), min(lay.n_blocks, b + _MARGIN_BLOCKS)
        data = self._read_naive(a0, b0)
        n = int(np.asarray(data["time"]).shape[0])
        if n != (b0 - a0) * spb:
            raise PiecesUnsupported(f"blocks {a0}..{b0 - 1} read as {n} samples, not {(b0 - a0) * spb}")
        if self._tz is not None:
            data["time"] = np.asarray(data["time"]) + self._utc_offset()  # SKDH's own operation on the whole read
        return _cut(data, n, (a - a0) * spb, (b - a0) * spb)

    @property
    def time_span(self) -> tuple[float, float]:
        if self._span is None:
            n = self._layout.n_blocks
            first = self._blocks(0, 1)[1]["time"]
            last = self._blocks(n - 1, n)[1]["time"]
            self._span = float(first[0]), float(last[-1])
        return self._span

    def iter_pieces(self, seconds: float) -> Iterator[Piece]:
        lay = self._layout
        span = float(lay.approx_times[-1] - lay.approx_times[0])
        per_block = span / (lay.n_blocks - 1) if lay.n_blocks > 1 and span > 0 else 1.0
        step = max(1, round(seconds / per_block))
        for a in range(0, lay.n_blocks, step):
            yield Piece(*self._blocks(a, min(a + step, lay.n_blocks)))

    def window(self, t0: float, t1: float) -> Piece:
        """Blocks found from their approximate times, widened until samples on both sides fall outside."""
        lay = self._layout
        naive0, naive1 = t0 - self._utc_offset(), t1 - self._utc_offset()
        a = max(0, int(np.searchsorted(lay.approx_times, naive0, "left")) - 2)
        b = min(lay.n_blocks, max(a + 1, int(np.searchsorted(lay.approx_times, naive1, "right")) + 1))
        while True:
            start, data = self._blocks(a, b)
            t = np.asarray(data["time"])
            need_before = a > 0 and t[0] >= t0
            need_after = b < lay.n_blocks and t[-1] < t1
            if not (need_before or need_after):
                lo, hi = int(np.searchsorted(t, t0, "left")), int(np.searchsorted(t, t1, "left"))
                return Piece(start + lo, _cut(data, t.size, lo, hi))
            a = max(0, a - 8) if need_before else a
            b = min(lay.n_blocks, b + 8) if need_after else b


def _empty_like(value: Any, n: int) -> Any:
    """An uninitialised array of ``n`` rows like a per-sample ``value``; scalars are kept as they are."""
    if isinstance(value, np.ndarray) and value.ndim:
        return np.empty((n, *value.shape[1:]), dtype=value.dtype)
    return value


def _cut(data: Mapping[str, Any], n: int, lo: int, hi: int) -> dict[str, Any]:
    """Per-sample arrays (length ``n``) cut to ``lo:hi`` as views (the margins are a few blocks); scalars kept."""
    return {k: (v[lo:hi] if isinstance(v, np.ndarray) and v.ndim and v.shape[0] == n else v) for k, v in data.items()}


def open_pieces(
    reader_step: Mapping[str, Any], path: Path, *, tz_name: str | None = None, **_inputs: Any
) -> FilePieces:
    """:class:`FilePieces` for ``path`` read by ``reader_step`` (one entry of a spec's ``Steps``).

    Raises :class:`PiecesUnsupported` with the reason when the file or step cannot be read in
    pieces exactly (the caller reads the whole file instead).
    """
    from biomarker_assets.lib.skdh.pipeline import load_pipeline, pipeline_steps
    from biomarker_assets.lib.skdh.version import SKDH_VERSION

    process = reader_step.get("process")
    layout_of = _LAYOUTS.get(str(process)) if reader_step.get("package") == "skdh" else None
    if layout_of is None:
        raise PiecesUnsupported(f"reader {process!r} is not read in pieces (only ReadCwa and ReadBin)")
    params = reader_step.get("parameters") or {}
    if params.get("trim_keys"):
        raise PiecesUnsupported("the reader trims the recording by other inputs (trim_keys)")
    path = Path(path)
    if path.suffix.lower() != {"ReadCwa": ".cwa", "ReadBin": ".bin"}[str(process)]:
        raise PiecesUnsupported(f"{path.name}: not a {process} file")
    reader = pipeline_steps(load_pipeline({"Steps": [dict(reader_step)], "Version": SKDH_VERSION}))[0]
    return FilePieces(reader, path, layout_of(path), tz_name)
