"""Containment of one file's processing: hangs, memory, hostile .npz, timestamps and truncated recordings.

Through ``isolation.process_file_contained`` (what the asset and ``process-file`` call), with the
demo study's pipelines and SKDH's real sample files cut at several points.
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import numpy as np
import pytest

from biomarker_assets.lib.biomarkers.processing import ProcessingError
from biomarker_assets.lib.skdh.file_checks import bin_findings, cwa_findings
from biomarker_assets.lib.skdh.isolation import MIB, Limits, limits_for_file, process_file_contained
from biomarker_assets.lib.skdh.time_checks import time_problem
from biomarker_assets.lib.study_config.loading import load_config_file
from biomarker_assets.local.demo import STUDY_FILES

LOADED = load_config_file(STUDY_FILES / "demo.yaml")


def process(path: Path, pipeline: str, tmp_path: Path, limits: Limits | None = None, **inputs):
    return process_file_contained(
        path, loaded=LOADED, pipeline_name=pipeline, inputs=inputs, out_dir=tmp_path / "out", limits=limits
    )


def write_bomb(path: Path, n_values: int) -> Path:
    """An .npz whose one float64 array of zeros deflates to a tiny fraction of its size."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("accel.npy", "w", force_zip64=True) as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (n_values,)})
        zeros = bytes(8 * 2**20)
        for _ in range(n_values * 8 // len(zeros)):
            f.write(zeros)
    return path


def test_a_hanging_reader_is_stopped_at_the_time_limit(tmp_path):
    """Random bytes (seed 3) make SKDH's GENEActiv reader spin forever; the child is killed at the limit."""
    path = tmp_path / "DM001_V1_wrist.bin"
    path.write_bytes(random.Random(3).randbytes(200_000))
    with pytest.raises(ProcessingError) as info:
        process(path, "wrist-day", tmp_path, Limits(seconds=5, memory_mib=2048))
    assert str(info.value) == (
        "processing did not finish within 5 s (the limit for a 0.2 MiB file); "
        "it was stopped in the GENEActiv reader (ReadBin)"
    )
    assert not (tmp_path / "out").exists()


def test_the_default_limits_scale_with_the_file_and_are_capped():
    small, week = limits_for_file(2 * MIB, "a.npz"), limits_for_file(258_000_000, "a.cwa")
    assert small.seconds == 304 and small.memory_mib == 1536 + 3 * 40 * 2  # unknown-format figure: 40 MiB/MiB
    # a week at 100 Hz (~80 s, 6.8 GB peak measured) gets 13 min and 23 GB of address space
    assert week.seconds == pytest.approx(792, abs=1) and 20_000 < week.memory_mib < 25_000
    assert limits_for_file(50 * 2**30, "x.csv").seconds == 4 * 3600
    # the 2 MB decompression bomb of the issue (5.9 GB when loaded) is past its file's allowance
    assert small.memory_mib * MIB < 5.9e9


def test_a_decompression_bomb_is_refused_from_the_zip_directory(tmp_path):
    bomb = write_bomb(tmp_path / "DM001_V1_lumbar.npz", 32 * 2**20)  # 256 MiB of zeros in ~250 KB
    assert bomb.stat().st_size < 1 * MIB
    with pytest.raises(ProcessingError) as info:
        process(bomb, "gait", tmp_path, Limits(seconds=60, memory_mib=100), height=1.8)
    assert str(info.value).startswith(
        "the .npz file's arrays take 256 MiB uncompressed (the file is 0.2 MiB): more than the 100 MiB allowed "
        "for it; refused before reading"
    )


def test_pickled_objects_in_an_npz_are_refused_before_reading(tmp_path):
    path = tmp_path / "DM001_V1_lumbar.npz"
    np.savez(path, time=np.arange(10.0), accel=np.array([{"a": 1}] * 10, dtype=object))
    with pytest.raises(ProcessingError, match=r"array 'accel' holds pickled Python objects \(dtype object\)"):
        process(path, "gait", tmp_path, height=1.8)


def test_running_out_of_the_memory_limit_names_the_limit(tmp_path):
    """1 M samples (31 MiB of arrays, under the zip check) with 40 MiB of address space: MemoryError in the child."""
    n = 1_000_000
    path = tmp_path / "DM001_V1_lumbar.npz"
    np.savez(path, time=1.6e9 + np.arange(n) / 100.0, accel=np.zeros((n, 3)))
    with pytest.raises(ProcessingError) as info:
        process(path, "gait", tmp_path, Limits(seconds=120, memory_mib=40), height=1.8)
    assert "MemoryError" in str(info.value)
    assert str(info.value).endswith("processing needed more than the 40 MiB allowed for a 30.5 MiB .npz file")


@pytest.mark.parametrize(
    "name, time, problem",
    [
        ("reversed", lambda t: t[::-1], "the timestamps run backwards (2020-02-12T09:08:16 first, "),
        ("constant", lambda t: np.full_like(t, t[0]), "every timestamp is the same (2020-02-12T09:06:50)"),
        ("text", lambda t: t.astype(str), "the timestamps are not numbers (type <U"),
        ("missing", lambda t: np.where(np.arange(t.size) == 7, np.nan, t), "1 of 17,000 timestamps are missing"),
        ("not seconds", lambda t: t * 1e12, "not Unix seconds between 1990 and 2100"),
        ("one step back", lambda t: np.where(np.arange(t.size) == 100, t[0], t), "go back in time at 1 place(s)"),
    ],
)
def test_broken_timestamps_say_what_is_wrong(samples, tmp_path, name, time, problem):
    gait = np.load(samples / "gait_input.npz")
    path = tmp_path / "DM001_V1_lumbar.npz"
    np.savez(path, time=time(gait["time"]), accel=gait["accel"])
    with pytest.raises(ProcessingError) as info:
        process(path, "gait", tmp_path, height=1.8)
    assert "PipelineRunError: step 0 ('ReadNumpyFile') read this file, but " in str(info.value)
    assert problem in str(info.value)


def test_good_timestamps_pass():
    assert time_problem(np.arange(1.6e9, 1.6e9 + 10, 0.01)) is None


@pytest.mark.parametrize("blocks, extra", [(0, 1), (1, 0), (1, 511), (50, 256), (489, 100)])
def test_a_cwa_cut_inside_a_block_is_processed_and_flagged_truncated(samples, tmp_path, blocks, extra):
    """ax3_sample.cwa (490 blocks of 120 samples, 200 Hz) cut after ``blocks`` blocks plus ``extra`` bytes."""
    whole = (samples / "ax3_sample.cwa").read_bytes()
    path = tmp_path / "DM001_V1_wrist.cwa"
    path.write_bytes(whole[: 1024 + blocks * 512 + extra])
    findings = cwa_findings(path, 200.0)
    if extra:
        assert findings == [
            f"truncated_file: the file ends {extra} bytes into a 512-byte data block: it was cut short and the data "
            f"after its last complete block is lost ({blocks * 120:,} samples, {blocks * 120 / 200 / 3600:.2f} h, "
            f"in {blocks} complete blocks)"
        ]
    else:
        assert findings == []  # cut exactly at a block boundary: the file itself cannot tell (see ARCHITECTURE)
    if blocks >= 50:  # enough data for the wrist pipeline: processed, and the warning travels with the result
        result = process(path, "wrist-activity", tmp_path)
        assert [w for w in result.warnings if w.startswith("truncated_file")] == findings


def test_a_cwa_with_missing_blocks_is_flagged(samples, tmp_path):
    whole = (samples / "ax3_sample.cwa").read_bytes()
    path = tmp_path / "gap.cwa"
    path.write_bytes(whole[:1024] + whole[1024 : 1024 + 10 * 512] + whole[1024 + 20 * 512 :])
    assert cwa_findings(path, 200.0) == [
        "truncated_file: block numbers run to 489 but 480 blocks are present: 10 data block(s) are missing"
    ]


def test_the_whole_samples_are_not_flagged(samples, tmp_path):
    assert not process(samples / "ax3_sample.cwa", "wrist-activity", tmp_path).warnings.count("truncated_file")
    assert cwa_findings(samples / "ax3_sample.cwa", 200.0) == []


def test_a_geneactiv_bin_with_fewer_pages_than_its_header_states(samples, tmp_path):
    lines = (samples / "gnactv_sample.bin").read_bytes().splitlines(keepends=True)
    path = tmp_path / "DM001_V1_wrist.bin"
    path.write_bytes(b"".join(lines[:79]))  # header and two of its three pages
    assert bin_findings(path, 50.0) == [
        "truncated_file: the header promises 3 pages of data, the file holds 2: 0.00 h of 0.01 h"
    ]
    assert bin_findings(samples / "gnactv_sample.bin", 50.0) == []
