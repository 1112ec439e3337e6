"""The Axivity .cwa writer: SKDH's own reader gets the generated recording back.

Short files only (minutes); the week-long files are the benchmark's business
(``benchmarks/skdh_processing.py``).
"""

import hashlib
import struct
import warnings

import numpy as np
import pandas as pd
import pytest
import skdh

from biomarker_assets.local.wrist_recording import day_seed, generate_wrist_day, generate_wrist_days
from biomarker_assets_tests.support.cwa_writer import CwaWriter, cwa_time_code, rate_code, write_cwa, write_wrist_cwa

TEMP_STEP = 1 / 3.142  # SKDH: C = (raw - 171) / 3.142


def _read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # naive-timestamp warning
        return skdh.io.ReadCwa().predict(file=str(path))


def _packed_bound(accel):
    """Largest error packing may make per sample: half a step of the sample's exponent."""
    counts = np.abs(accel).max(axis=1) * 256
    exp = np.zeros(len(counts))
    for e in (1, 2, 3):
        exp[counts / 2 ** (e - 1) > 511.5] = e
    return 2.0**exp / 512 + 1e-9


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "unpacked"])
@pytest.mark.parametrize("fs", [50.0, 100.0])
def test_skdh_reads_back_accel_time_fs_and_temperature(tmp_path, fs, packed):
    # 7 min across the 17:30 walk -> run (up to ~3 g, so packed exponents > 0 occur)
    rec = generate_wrist_day(hours=7 / 60, fs=fs, seed=5, start="2024-03-04 17:29:00")
    path = write_cwa(
        tmp_path / "w.cwa", rec["time"], rec["accel"], rec["temperature"], fs, light=rec["light"], packed=packed
    )
    per_block = 120 if packed else 80
    n = rec["time"].size
    n_blocks = -(-n // per_block)
    assert path.stat().st_size == 1024 + 512 * n_blocks

    got = _read(path)
    assert got["fs"] == fs
    assert got["accel"].shape == (n_blocks * per_block, 3)  # padded to whole blocks
    err = np.abs(got["accel"][:n] - rec["accel"])
    if packed:
        assert (np.abs(rec["accel"]).max() > 2.0) and np.all(err <= _packed_bound(rec["accel"])[:, None])
    else:
        assert err.max() <= 1 / 512 + 1e-9
    np.testing.assert_array_equal(got["accel"][n:], np.repeat(got["accel"][n - 1 : n], n_blocks * per_block - n, 0))

    # times: exact to float64 rounding, continuing regularly into the padding
    np.testing.assert_allclose(got["time"][:n], rec["time"], rtol=0, atol=1e-6)
    assert got["time"][0] == pd.Timestamp("2024-03-04 17:29:00").timestamp()
    np.testing.assert_allclose(np.diff(got["time"]), 1 / fs, rtol=0, atol=1e-6)

    # temperature: the block mean, to SKDH's step
    padded = np.concatenate((rec["temperature"], np.repeat(rec["temperature"][-1], n_blocks * per_block - n)))
    block_mean = padded.reshape(n_blocks, per_block).mean(axis=1).repeat(per_block)
    assert np.abs(got["temperature"] - block_mean).max() <= TEMP_STEP / 2 + 1e-9


def test_block_layout_matches_the_format(tmp_path, samples):
    rec = generate_wrist_day(hours=0.05, fs=50.0, seed=1)
    path = write_cwa(tmp_path / "w.cwa", rec["time"], rec["accel"], rec["temperature"], 50.0)
    data = path.read_bytes()
    real = (samples / "ax3_sample.cwa").read_bytes()
    # header: same markers and fields SKDH reads as the real AX3 file
    assert data[:4] == real[:4] == b"MD\xfc\x03"
    assert data[35] == real[35] == 0xFF  # accelerometer only
    assert data[36] == rate_code(50.0) == 0x49 and real[36] == rate_code(200.0) == 0x4B
    blocks = np.frombuffer(data[1024:], dtype="<u2").reshape(-1, 256)
    real_blocks = np.frombuffer(real[1024:], dtype="<u2").reshape(-1, 256)
    # every block sums to zero (16-bit words), as in the real file
    assert not (blocks.sum(axis=1, dtype=np.uint64) % 65536).any()
    assert not (real_blocks.sum(axis=1, dtype=np.uint64) % 65536).any()
    for i, raw in enumerate(data[1024 + k : 1024 + k + 30] for k in range(0, len(data) - 1024, 512)):
        head, length, _, _, seq, stamp, _, _, _, _, rate, axes, offset, count = struct.unpack("<2sHHIIIHHBBBBhH", raw)
        assert (head, length, seq, rate, axes, count) == (b"AX", 508, i, 0x49, 0x30, 120)
        # the stamp is a whole second on a sample of the block's 2.4 s
        block_start = rec["time"][0] + i * 120 / 50.0
        assert cwa_time_code([block_start + offset / 50.0])[0] == stamp and 0 <= offset < 50


def test_chunked_writes_equal_one_write_and_start_off_the_second(tmp_path):
    rec = generate_wrist_day(hours=0.05, fs=100.0, seed=2, start="2024-03-04 23:59:58.25")
    one = write_cwa(tmp_path / "one.cwa", rec["time"], rec["accel"], rec["temperature"], 100.0)
    with CwaWriter(tmp_path / "chunks.cwa", fs=100.0, start=rec["time"][0]) as writer:
        for lo, hi in [(0, 7), (7, 7), (7, 500), (500, 4321), (4321, rec["time"].size)]:
            writer.write(rec["accel"][lo:hi], rec["temperature"][lo:hi])
    assert (tmp_path / "chunks.cwa").read_bytes() == one.read_bytes()
    got = _read(one)
    # starts a quarter second off the second and crosses midnight: still exact
    np.testing.assert_allclose(got["time"][: rec["time"].size], rec["time"], rtol=0, atol=1e-6)


def test_invalid_inputs(tmp_path):
    with pytest.raises(ValueError, match="3200/2"):
        rate_code(60.0)
    with pytest.raises(ValueError, match="regular"):
        write_cwa(tmp_path / "x.cwa", [0.0, 0.02, 0.05], np.zeros((3, 3)), np.zeros(3), 50.0)
    with pytest.raises(ValueError, match="sample grid"):
        write_cwa(tmp_path / "x.cwa", 1.7e9 + 0.003 + np.arange(3) / 50, np.zeros((3, 3)), np.zeros(3), 50.0)


def test_multi_day_generation_is_per_day_and_seeded():
    days = list(generate_wrist_days(days=1.01, fs=12.5, seed=4))
    assert [d["day"] for d in days] == [0, 1]
    first = generate_wrist_day(hours=24, fs=12.5, seed=4)
    np.testing.assert_array_equal(days[0]["accel"], first["accel"])
    assert days[1]["accel"].shape == (round(0.01 * 86400 * 12.5), 3)
    assert days[1]["time"][0] == first["time"][0] + 86400
    assert day_seed(4, 1) != day_seed(4, 2) != 4 and day_seed(4, 1) == day_seed(4, 1)


def test_write_wrist_cwa_is_reproducible(tmp_path):
    a = write_wrist_cwa(tmp_path / "a.cwa", days=0.01, fs=50.0, seed=9)
    b = write_wrist_cwa(tmp_path / "b.cwa", days=0.01, fs=50.0, seed=9)
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    rec = generate_wrist_day(hours=0.24, fs=50.0, seed=9)
    got = _read(a)
    n = rec["time"].size
    np.testing.assert_allclose(got["time"][:n], rec["time"], rtol=0, atol=1e-6)
    assert np.all(np.abs(got["accel"][:n] - rec["accel"]) <= _packed_bound(rec["accel"])[:, None])
