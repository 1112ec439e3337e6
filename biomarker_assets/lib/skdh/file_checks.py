"""What a device file promises, checked by the project before and after SKDH reads it.

Before: an ``.npz`` is a zip whose directory states each array's uncompressed size, so a
decompression bomb (2 MB that NumPy inflates to 5.9 GB) is refused from the directory, as is
an array of pickled Python objects; a ``.cwa`` without its 1,024-byte header is refused.
After: a file cut short still reads (SKDH reads the complete blocks and drops the rest
silently); the promise it breaks is found here. An Axivity ``.cwa`` is a 1,024-byte header and
512-byte data blocks numbered from 0 (sequence id at offset 10, sample count at 28): a size that
is not a whole number of blocks, or numbers with gaps, mean data is missing. A GENEActiv
``.bin`` header states its ``Number of Pages``; fewer ``Recorded Data`` pages mean the rest is lost.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np

from biomarker_assets.lib.biomarkers.processing import ProcessingError

MIB = 2**20
CWA_HEADER, CWA_BLOCK = 1024, 512
BIN_SAMPLES_PER_PAGE = 300
TRUNCATED = "truncated_file"


def check_npz(path: Path, max_bytes: float) -> None:
    """Refuse an .npz whose arrays inflate past ``max_bytes`` or hold pickled objects, from its zip directory."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            total = sum(m.file_size for m in members)
            if total > max_bytes:
                raise ProcessingError(
                    f"the .npz file's arrays take {total / MIB:,.0f} MiB uncompressed (the file is "
                    f"{path.stat().st_size / MIB:,.1f} MiB): more than the {max_bytes / MIB:,.0f} MiB allowed "
                    "for it; refused before reading"
                )
            for member in members:
                if not member.filename.endswith(".npy"):
                    continue
                with zf.open(member) as f:
                    version = np.lib.format.read_magic(f)
                    read_header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    dtype = read_header(f)[2]
                if dtype.hasobject:
                    raise ProcessingError(
                        f"the .npz file's array {member.filename[:-4]!r} holds pickled Python objects "
                        f"(dtype {dtype}); refused: only numeric arrays are read"
                    )
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise ProcessingError(f"not a valid .npz (zip of .npy arrays): {type(exc).__name__}: {exc}") from exc


def check_before_reading(path: Path, max_bytes: float) -> None:
    """Refuse what the project can tell is unreadable or too large without running a reader."""
    suffix = path.suffix.lower()
    if suffix == ".npz":
        check_npz(path, max_bytes)
    elif suffix == ".cwa":
        with path.open("rb") as f:
            head = f.read(2)
        if path.stat().st_size < CWA_HEADER or head != b"MD":
            raise ProcessingError(
                f"not an Axivity .cwa file: it has no 1,024-byte 'MD' header ({path.stat().st_size:,} bytes)"
            )


def cwa_findings(path: Path, fs: float | None) -> list[str]:
    """``truncated_file`` findings of a .cwa: a partial last block, or block numbers with gaps."""
    size = path.stat().st_size
    if size < CWA_HEADER:
        return []
    blocks, partial = divmod(size - CWA_HEADER, CWA_BLOCK)
    findings = []
    samples = 0
    if blocks:
        data = np.memmap(path, dtype=np.uint8, mode="r", offset=CWA_HEADER, shape=(blocks, CWA_BLOCK))
        sequence = data[:, 10:14].copy().view("<u4").ravel()
        samples = int(data[:, 28:30].copy().view("<u2").astype(np.int64).sum())
        expected = int(sequence.max()) + 1 if sequence.size else 0
        if expected > blocks:
            findings.append(
                f"{TRUNCATED}: block numbers run to {expected - 1:,} but {blocks:,} blocks are present: "
                f"{expected - blocks:,} data block(s) are missing"
            )
    hours = f" ({samples:,} samples, {samples / fs / 3600:.2f} h, in {blocks:,} complete blocks)" if fs else ""
    if partial:
        findings.append(
            f"{TRUNCATED}: the file ends {partial} bytes into a 512-byte data block: it was cut short and the "
            f"data after its last complete block is lost{hours}"
        )
    elif not blocks:
        findings.append(f"{TRUNCATED}: the file holds the header only, no data blocks")
    return findings


_PAGES = re.compile(rb"Number of Pages:\s*(\d+)")


def bin_findings(path: Path, fs: float | None) -> list[str]:
    """``truncated_file`` finding of a GENEActiv .bin: fewer pages than its header states."""
    text = path.read_bytes()
    promised = _PAGES.search(text[:8192])
    if promised is None:
        return []
    expected, found = int(promised.group(1)), text.count(b"Recorded Data")
    if found >= expected:
        return []
    hours = (
        f": {found * BIN_SAMPLES_PER_PAGE / fs / 3600:.2f} h of {expected * BIN_SAMPLES_PER_PAGE / fs / 3600:.2f} h"
        if fs
        else ""
    )
    return [f"{TRUNCATED}: the header promises {expected:,} pages of data, the file holds {found:,}{hours}"]


def integrity_warnings(path: Path, fs: float | None) -> list[str]:
    """What the file's own header or layout says is missing from it; [] for formats without such a promise."""
    suffix = path.suffix.lower()
    if suffix == ".cwa":
        return cwa_findings(path, fs)
    if suffix == ".bin":
        return bin_findings(path, fs)
    return []
