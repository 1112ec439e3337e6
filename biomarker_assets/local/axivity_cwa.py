"""Axivity ``.cwa`` writer: synthetic recordings in the binary format UK Biobank-scale studies deliver.

A GENEActiv ``.bin`` (see :mod:`biomarker_assets.local.geneactiv_bin`) stores
every sample as hex text: a week at 100 Hz is ~770 MB. An Axivity AX3 ``.cwa``
stores 120 samples in each 512-byte block (4 bytes a sample): the same week is
~258 MB, and SKDH reads it with its compiled reader (``skdh.io.ReadCwa``).

Layout, checked against the real ``ax3_sample.cwa`` in ``../shared/data/skdh-samples/``,
SKDH 0.17.18's reader (``src/skdh/io/_extensions/read_axivity.f95`` and ``pyread.c``
in scikit-digital-health; the wheel ships only the compiled ``read.*.so``) and
OpenMovement's published ``cwa.h``. All integers are little-endian.

Header, 1024 bytes (two 512-byte blocks)::

    @0   "MD"                 @2  uint16 1020 (length after these 4 bytes)
    @4   uint8 hardware type  @5  uint16 device id   @7 uint32 session id
    @11  uint16 upper device id (0xFFFF = 0)
    @13  timestamp logging start  @17 timestamp logging end  @21 uint32 capacity (0)
    @25  reserved  @26 flash LED  @27 8 reserved
    @35  uint8 sensor config (0xFF: accelerometer only -> SKDH expects 3 axes)
    @36  uint8 rate code: fs = 3200 / (1 << (15 - (code & 0x0F))) Hz,
         range +-(16 >> (code >> 6)) g
    @37  timestamp last change  @41 uint8 firmware  @42 int16 time zone (-1 unknown)
    @44  20 reserved  @64 448 bytes annotation (url-encoded name=value, space padded)
    @512 512 bytes reserved (0xFF)

Data block, 512 bytes, one after another from byte 1024::

    @0  "AX"  @2 uint16 508
    @4  uint16 device fractional: top bit set -> bottom 15 bits are the fraction of a
        second of the timestamp (always 0 here: the stamp is placed on a whole second)
    @6  uint32 session id     @10 uint32 sequence id (0-based, consecutive)
    @14 uint32 timestamp: RTC, bits YYYYYYMM MMDDDDDh hhhhmmmm mmssssss (year - 2000)
    @18 uint16 light: bits 13-15 accel scale (1/2^(8+n) g; 0 -> 1/256 g), 10-12 gyro
        range, 0-9 light (raw; lux ~ 10^(raw/341))
    @20 uint16 temperature, bottom 10 bits; SKDH: C = (raw - 171) / 3.142
    @22 uint8 events  @23 uint8 battery ((raw - 512) / 2)  @24 uint8 rate code (as header)
    @25 uint8 0x30 (3 axes, packed) or 0x32 (3 axes, 16-bit)
    @26 int16 timestamp offset: index (from the block's first sample) of the sample
        whose time is the whole-second timestamp
    @28 uint16 sample count: 120 packed or 80 unpacked (SKDH accepts nothing else)
    @30 480 bytes samples:
        packed   uint32 per sample: eezzzzzz zzzzyyyy yyyyyyxx xxxxxxxx, 10-bit signed
                 x, y, z shifted left by the 2-bit exponent e, in 1/256 g
        unpacked int16 x, y, z per sample (6 bytes), in 1/256 g
    @510 uint16 checksum: the 16-bit word-wise sum of the whole block is 0

How SKDH turns a block into times: ``t0 = RTC(timestamp) - offset / fs``; the
block's samples are ``t0 + i / fs``; and when a block starts less than 1 s after
the previous block ended, SKDH continues from the previous block's end instead
(so times stay regular). The fraction in ``device fractional`` is ignored by
SKDH, which is why this writer puts every block's timestamp on a whole second
that falls exactly on a sample (for whole-second starts and fs = 12.5 .. 3200 Hz
this always exists within two seconds of the block start).

Quantization (what a reader gets back): acceleration to 1/256 g (3.9 mg) while
|a| < 2 g, then 2/256, 4/256 or 8/256 g as the packed exponent grows (all three
axes of a sample share it), clipped to the range (+-8 g by default); unpacked
keeps 1/256 g everywhere. Temperature is the block mean to 1/3.142 C. Devices
write whole blocks, so a last partial block is padded by repeating the final
sample; SKDH returns the padded length (``n_blocks * samples_per_block``).

Writing is streaming (:class:`CwaWriter` takes chunks and keeps < 1 block
between them), so a week at 100 Hz is written one generated day at a time; see
:func:`write_wrist_cwa`.
"""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

import numpy as np

__all__ = [
    "BLOCK_SIZE",
    "HEADER_SIZE",
    "CwaWriter",
    "cwa_time_code",
    "rate_code",
    "write_cwa",
    "write_wrist_cwa",
]

BLOCK_SIZE = 512
HEADER_SIZE = 1024
PACKED_SAMPLES = 120
UNPACKED_SAMPLES = 80
_ACCEL_UNITS = 256.0  # counts per g (scale bits 13-15 of the light word left at 0)

# One data block. Fields are unaligned, hence the explicit offsets; samples are raw bytes.
_BLOCK_DTYPE = np.dtype(
    {
        "names": [
            "header",
            "length",
            "fractional",
            "session",
            "sequence",
            "timestamp",
            "light",
            "temperature",
            "events",
            "battery",
            "rate",
            "axes_bps",
            "offset",
            "count",
            "samples",
            "checksum",
        ],
        "formats": [
            "S2",
            "<u2",
            "<u2",
            "<u4",
            "<u4",
            "<u4",
            "<u2",
            "<u2",
            "u1",
            "u1",
            "u1",
            "u1",
            "<i2",
            "<u2",
            ("u1", 480),
            "<u2",
        ],
        "offsets": [0, 2, 4, 6, 10, 14, 18, 20, 22, 23, 24, 25, 26, 28, 30, 510],
        "itemsize": BLOCK_SIZE,
    }
)


def rate_code(fs: float, range_g: int = 8) -> int:
    """The header/block rate byte for ``fs`` (3200 / 2^k Hz) and range (+-2, 4, 8 or 16 g)."""
    for code in range(16):
        if 3200.0 / (1 << (15 - code)) == float(fs):
            break
    else:
        allowed = ", ".join(f"{3200.0 / (1 << (15 - c)):g}" for c in range(6, 16))
        raise ValueError(f"Axivity rates are 3200/2^k Hz ({allowed}); got fs={fs}")
    ranges = {16: 0, 8: 1, 4: 2, 2: 3}
    if range_g not in ranges:
        raise ValueError(f"range_g must be one of {sorted(ranges)}, got {range_g}")
    return (ranges[range_g] << 6) | code


def cwa_time_code(seconds) -> np.ndarray:
    """Naive local unix seconds (whole) -> packed RTC timestamps (years 2000-2063)."""
    secs = np.asarray(seconds, dtype="int64")
    dt = secs.astype("datetime64[s]")
    years = dt.astype("datetime64[Y]").astype("int64") + 1970
    months = dt.astype("datetime64[M]").astype("int64") % 12 + 1
    days = (dt.astype("datetime64[D]") - dt.astype("datetime64[M]")).astype("int64") + 1
    sod = secs - dt.astype("datetime64[D]").astype("datetime64[s]").astype("int64")
    if np.any((years < 2000) | (years > 2063)):
        raise ValueError("CWA timestamps hold years 2000-2063 only")
    code = (
        ((years - 2000) << 26)
        | (months << 22)
        | (days << 17)
        | ((sod // 3600) << 12)
        | ((sod // 60 % 60) << 6)
        | (sod % 60)
    )
    return code.astype("<u4")


def _pack(counts: np.ndarray) -> np.ndarray:
    """(n, 3) float counts (1/256 g) -> packed uint32: shared 2-bit exponent, 10-bit signed axes.

    The exponent is the smallest that keeps every axis in 10 signed bits, and each
    value is rounded once, to the nearest multiple of 2^exponent counts.
    """
    exp = np.zeros(counts.shape[0], dtype=np.int64)
    for e in (1, 2, 3):
        q = np.rint(counts / (1 << exp)[:, None])
        exp[((q < -512) | (q > 511)).any(axis=1)] = e
    q = np.clip(np.rint(counts / (1 << exp)[:, None]), -512, 511).astype(np.int64) & 0x3FF
    return (
        (exp.astype(np.uint32) << 30)
        | (q[:, 2].astype(np.uint32) << 20)
        | (q[:, 1].astype(np.uint32) << 10)
        | q[:, 0].astype(np.uint32)
    )


class CwaWriter:
    """Stream samples into an AX3 ``.cwa``: ``write`` chunks of any length, then ``close``.

    ``start`` is the first sample's time (naive local unix seconds, SKDH's
    convention); samples are regular at ``fs`` from there, so only accel,
    temperature and (optionally) light are passed. ``packed=True`` (the default)
    writes 120 samples a block in 4 bytes each; ``False`` writes 80 a block as
    16-bit integers (finer above 2 g, 1.5x the size).
    """

    def __init__(
        self,
        path,
        *,
        fs: float,
        start: float,
        packed: bool = True,
        range_g: int = 8,
        device_id: int = 41000,
        session_id: int = 1,
        annotation: dict[str, str] | None = None,
    ):
        self.path = Path(path)
        self.fs = float(fs)
        self.rate = rate_code(fs, range_g)
        self.range_g = range_g
        self.packed = packed
        self.per_block = PACKED_SAMPLES if packed else UNPACKED_SAMPLES
        self.start = float(start)
        self.device_id = int(device_id) & 0xFFFFFFFF
        self.session_id = int(session_id) & 0xFFFFFFFF
        self.annotation = annotation or {}
        self.n_samples = 0  # samples passed to write()
        self.n_blocks = 0
        self._pending: list[np.ndarray] = []  # < one block of accel/temperature/light
        self._file: BinaryIO | None = open(self.path, "wb")  # noqa: SIM115  closed by close() or __exit__
        self._file.write(self._header())

    # ---------------------------------------------------------------- header
    def _header(self) -> bytes:
        head = bytearray(b"\xff" * HEADER_SIZE)
        start_code = int(cwa_time_code([math.floor(self.start)])[0])
        changed = int(cwa_time_code([math.floor(self.start) - 3600])[0])
        struct.pack_into(
            "<2sHBHIHIII",
            head,
            0,
            b"MD",
            HEADER_SIZE - 4,
            0x00,
            self.device_id & 0xFFFF,
            self.session_id,
            (self.device_id >> 16) & 0xFFFF or 0xFFFF,
            start_code,
            0xFFFFFFFF,
            0,
        )
        head[26] = 0  # no LED flash
        head[35] = 0xFF  # sensor config: accelerometer only
        head[36] = self.rate
        struct.pack_into("<IBh", head, 37, changed, 45, -1)
        text = "&".join(f"{quote(k)}={quote(str(v))}" for k, v in self.annotation.items()).encode("ascii")
        if len(text) > 448:
            raise ValueError("annotation longer than 448 bytes")
        head[64:512] = text.ljust(448, b" ")
        return bytes(head)

    # ---------------------------------------------------------------- data
    def write(self, accel, temperature, light=None) -> None:
        """Append samples: accel (n, 3) g, temperature (n,) C, light (n,) lux or None."""
        accel = np.asarray(accel, dtype=float)
        temperature = np.asarray(temperature, dtype=float)
        n = accel.shape[0]
        if accel.shape != (n, 3) or temperature.shape != (n,):
            raise ValueError("accel must be (n, 3) and temperature (n,)")
        light = np.zeros(n) if light is None else np.asarray(light, dtype=float)
        if light.shape != (n,):
            raise ValueError("light must be (n,)")
        if self._file is None:
            raise ValueError("writer is closed")
        self.n_samples += n
        step = 4096 * self.per_block  # encode ~0.5-2M samples at a time: bounded extra memory
        for i in range(0, n, step):
            rows = np.column_stack((accel[i : i + step], temperature[i : i + step], light[i : i + step]))
            if self._pending:
                rows = np.concatenate((self._pending.pop(), rows))
            full = rows.shape[0] // self.per_block * self.per_block
            if full:
                self._write_blocks(rows[:full])
            if full < rows.shape[0]:
                self._pending = [rows[full:].copy()]

    def _write_blocks(self, rows: np.ndarray) -> None:
        per = self.per_block
        nb = rows.shape[0] // per
        blocks = np.zeros(nb, dtype=_BLOCK_DTYPE)
        seq = self.n_blocks + np.arange(nb, dtype=np.int64)

        # Time stamp: the first whole second at or after the block's first sample that
        # falls exactly on a sample. Worked in sample units from the recording start.
        frac0 = self.start - math.floor(self.start)
        first = seq * per  # sample index of each block's first sample
        rel = frac0 + first / self.fs  # seconds after floor(start)
        whole = np.ceil(rel - 1e-9)
        for _ in range(8):
            off_f = (whole - rel) * self.fs
            bad = np.abs(off_f - np.rint(off_f)) > 1e-6
            if not bad.any():
                break
            whole[bad] += 1
        else:
            raise ValueError("no whole second falls on a sample: start * fs must be on the sample grid")
        offset = np.rint((whole - rel) * self.fs).astype(np.int64)
        blocks["timestamp"] = cwa_time_code(math.floor(self.start) + whole.astype(np.int64))
        blocks["offset"] = offset

        blocks["header"] = b"AX"
        blocks["length"] = BLOCK_SIZE - 4
        blocks["fractional"] = 0x8000  # fraction of the whole-second stamp: 0
        blocks["session"] = self.session_id
        blocks["sequence"] = seq.astype(np.uint32)
        lux = rows[:, 4].reshape(nb, per).mean(axis=1)
        light_raw = np.clip(np.rint(341.0 * np.log10(np.maximum(lux, 1.0))), 0, 1023)
        blocks["light"] = light_raw.astype(np.uint16)  # scale bits 0: 1/256 g
        temp = rows[:, 3].reshape(nb, per).mean(axis=1)
        blocks["temperature"] = np.clip(np.rint(temp * 3.142 + 171.0), 0, 1023).astype(np.uint16)
        # battery: from 206 (4.2 V) down by 20 raw units a week, a function of time only
        blocks["battery"] = np.rint(206 - 20 * np.minimum(first / self.fs / (7 * 86400), 1)).astype(np.uint8)
        blocks["rate"] = self.rate
        blocks["axes_bps"] = 0x30 if self.packed else 0x32
        blocks["count"] = per

        limit = self.range_g * _ACCEL_UNITS
        counts = np.clip(rows[:, :3] * _ACCEL_UNITS, -limit, limit - 1)
        if self.packed:
            data = _pack(counts).astype("<u4").reshape(nb, per)
        else:
            data = np.rint(counts).astype("<i2").reshape(nb, per * 3)
        blocks["samples"] = data.view(np.uint8).reshape(nb, 480)

        words = blocks.view("<u2").reshape(nb, BLOCK_SIZE // 2)
        total = words[:, :-1].sum(axis=1, dtype=np.uint64)
        blocks["checksum"] = ((-total.astype(np.int64)) & 0xFFFF).astype(np.uint16)

        assert self._file is not None, "write() and close() call this on an open writer only"
        self._file.write(blocks.tobytes())
        self.n_blocks += nb

    def close(self) -> Path:
        """Pad the last block by repeating the final sample, and close the file."""
        if self._file is None:
            return self.path
        if self._pending:
            rest = self._pending[0]
            pad = np.repeat(rest[-1:], self.per_block - rest.shape[0], axis=0)
            self._write_blocks(np.concatenate((rest, pad)))
            self._pending = []
        if self.n_blocks == 0:
            self._file.close()
            self._file = None
            raise ValueError("no samples written")
        self._file.close()
        self._file = None
        return self.path

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()
        elif self._file is not None:
            self._file.close()
            self._file = None
        return False


def write_cwa(path, time, accel, temperature, fs, *, light=None, packed: bool = True, **kwargs) -> Path:
    """Write a whole in-memory recording (``time`` regular at ``fs``) as one ``.cwa``."""
    time = np.asarray(time, dtype=float)
    if time.size == 0:
        raise ValueError("no samples to write")
    if time.size > 1 and not np.allclose(np.diff(time), 1 / float(fs), atol=1e-6):
        raise ValueError("time must be regular at fs; blocks store one time stamp each")
    with CwaWriter(path, fs=fs, start=float(time[0]), packed=packed, **kwargs) as writer:
        writer.write(accel, temperature, light)
    return Path(path)


def write_wrist_cwa(
    path,
    days: float = 1.0,
    fs: float = 50.0,
    seed: int = 0,
    *,
    start: str = "2024-03-04 12:00:00",
    packed: bool = True,
) -> Path:
    """Generate ``days`` of the synthetic wrist recording and write it as ``.cwa``, a day at a time.

    Memory stays at one generated day (about 0.6 GB at 100 Hz) whatever ``days`` is.
    The file is the same for the same arguments.
    """
    from biomarker_assets.local.wrist_recording import generate_wrist_days

    t0 = datetime.fromisoformat(start).replace(tzinfo=UTC).timestamp()
    note = {"_c": "DEMO", "_p": "left wrist", "_n": f"synthetic wrist recording, seed {seed}, {days:g} d at {fs:g} Hz"}
    with CwaWriter(path, fs=fs, start=t0, packed=packed, session_id=seed, annotation=note) as writer:
        for day in generate_wrist_days(days=days, fs=fs, seed=seed, start=start):
            writer.write(day["accel"], day["temperature"], day["light"])
    return Path(path)
