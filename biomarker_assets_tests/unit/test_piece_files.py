"""Pieces of a .cwa/.bin file read through SKDH's reader equal the same samples of the whole-file read.

The reference is SKDH's own whole-file read (``execution.read_file``, the pipeline's reader step)
served by ``ArrayPieces``; every array must be identical, not close.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biomarker_assets.lib.skdh.execution import read_file
from biomarker_assets.lib.skdh.piece_files import PiecesUnsupported, open_pieces
from biomarker_assets.lib.skdh.pieces import ArrayPieces, Piece
from biomarker_assets.local.axivity_cwa import write_wrist_cwa
from biomarker_assets.local.demo import DST_RECORDING
from biomarker_assets.local.geneactiv_bin import make_demo_wrist_file
from biomarker_assets.local.pipeline_specs import pipeline_step

READER_PARAMS = {"trim_keys": None, "trim_start_factor": None, "ext_error": "warn"}
CWA = pipeline_step("ReadCwa", "io.axivity", READER_PARAMS)
BIN = pipeline_step("ReadBin", "io.geneactiv", READER_PARAMS)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> dict[str, tuple[dict, Path]]:
    tmp = tmp_path_factory.mktemp("piece_files")
    return {
        "ax3 sample": (CWA, samples / "ax3_sample.cwa"),
        "geneactiv sample": (BIN, samples / "gnactv_sample.bin"),
        # across the clocks going back in London (device clock kept at BST)
        "dst cwa": (
            CWA,
            write_wrist_cwa(
                tmp / "dst.cwa", **{**DST_RECORDING, "days": 1.0, "fs": 12.5, "start": "2026-10-24 18:00:00"}
            ),
        ),
        "generated bin": (BIN, make_demo_wrist_file(tmp / "six.bin", hours=6, fs=25.0, seed=3)),
    }


def assert_same(piece: Piece, expected: Piece) -> None:
    assert piece.start == expected.start
    assert set(piece.data) == set(expected.data)
    for key, value in expected.data.items():
        got = piece.data[key]
        assert np.asarray(got).dtype == np.asarray(value).dtype, key
        np.testing.assert_array_equal(np.asarray(got), np.asarray(value), err_msg=key)


CASES = [
    ("ax3 sample", None),
    ("ax3 sample", "Europe/London"),
    ("geneactiv sample", "America/New_York"),
    ("dst cwa", "Europe/London"),
    ("generated bin", "Europe/Berlin"),
]


@pytest.mark.parametrize(("name", "zone"), CASES)
def test_pieces_cover_the_recording_exactly_as_the_whole_read(files, name: str, zone: str | None) -> None:
    step, path = files[name]
    data = read_file(step, path, tz_name=zone)
    whole = ArrayPieces(data)
    pieces = open_pieces(step, path, tz_name=zone)
    assert pieces.n_samples == whole.n_samples
    assert pieces.time_span == whole.time_span
    span = whole.time_span[1] - whole.time_span[0]
    for seconds in (span / 3.3, 3601.0, 2 * span):
        got = list(pieces.iter_pieces(seconds))
        assert got[0].start == 0 and got[-1].stop == whole.n_samples
        assert all(p.stop == q.start for p, q in zip(got, got[1:], strict=False)), "gaps or overlaps"
        for piece in got:
            assert_same(piece, samples_of(data, piece.start, piece.stop))


def samples_of(data: dict, a: int, b: int) -> Piece:
    n = len(data["time"])
    return Piece(
        a, {k: (v[a:b] if isinstance(v, np.ndarray) and v.ndim and v.shape[0] == n else v) for k, v in data.items()}
    )


@pytest.mark.parametrize(("name", "zone"), CASES)
def test_a_time_window_holds_the_same_samples_as_the_whole_read(files, name: str, zone: str | None) -> None:
    step, path = files[name]
    whole = ArrayPieces(read_file(step, path, tz_name=zone))
    pieces = open_pieces(step, path, tz_name=zone)
    t0, t1 = whole.time_span
    rng = np.random.default_rng(7)
    windows = [(t0, t1 + 1), (t0 - 500, t0 + 10), (t1 - 3, t1 + 100), (t0 - 100, t0 - 50), (t1 + 1, t1 + 9)]
    windows += [tuple(sorted(rng.uniform(t0 - 60, t1 + 60, 2))) for _ in range(8)]
    for a, b in windows:
        assert_same(pieces.window(a, b), whole.window(a, b))


def test_a_long_window_is_read_in_parts_with_the_same_result(files, monkeypatch: pytest.MonkeyPatch) -> None:
    """SKDH's reader is called on a few hours at a time; the parts are put together exactly."""
    from biomarker_assets.lib.skdh import piece_files

    step, path = files["dst cwa"]
    whole = ArrayPieces(read_file(step, path, tz_name="Europe/London"))
    monkeypatch.setattr(piece_files, "_READ_SAMPLES", 12_345)
    pieces = open_pieces(step, path, tz_name="Europe/London")
    t0, t1 = whole.time_span
    assert_same(pieces.window(t0 + 3000, t1 - 4000), whole.window(t0 + 3000, t1 - 4000))


def _cut_file(path: Path, out: Path, keep: int) -> Path:
    out.write_bytes(path.read_bytes()[:keep])
    return out


def test_files_that_cannot_be_read_in_pieces_say_why(files, tmp_path: Path) -> None:
    step, path = files["dst cwa"]
    raw = bytearray(path.read_bytes())
    with pytest.raises(PiecesUnsupported, match="whole number of 512-byte blocks"):
        open_pieces(step, _cut_file(path, tmp_path / "cut.cwa", 1024 + 512 * 10 + 100))
    raw[1024 + 512 * 3 + 10] ^= 0x7  # block 3 numbered as another
    (tmp_path / "gap.cwa").write_bytes(bytes(raw))
    with pytest.raises(PiecesUnsupported, match="sequence numbers"):
        open_pieces(step, tmp_path / "gap.cwa")
    bin_step, bin_path = files["generated bin"]
    text = bin_path.read_bytes()
    cut = text[: text.index(b"Recorded Data", len(text) // 2)]
    (tmp_path / "cut.bin").write_bytes(cut)
    with pytest.raises(PiecesUnsupported, match="Number of Pages"):
        open_pieces(bin_step, tmp_path / "cut.bin")
    with pytest.raises(PiecesUnsupported, match="trim_keys"):
        open_pieces({**step, "parameters": {**READER_PARAMS, "trim_keys": ("wear",)}}, path)
    with pytest.raises(PiecesUnsupported, match="only ReadCwa and ReadBin"):
        open_pieces(pipeline_step("ReadNumpyFile", "io.numpy_compressed", {}), path)
