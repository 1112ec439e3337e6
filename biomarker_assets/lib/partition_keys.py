"""The one place where S3 keys become Dagster partition keys and back.

A file partition key reads ``<study>/<S3 key>``. S3 keys may hold anything, while
Dagster rejects ``...`` and control characters in partition keys, and the UI's
range syntax and backfill forms trip on ``,``, ``|`` and brackets. Those are
percent-encoded (and ``%`` itself, so decoding is exact); everything else,
unicode included, stays readable.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import unquote

STUDY_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_STUDY_ID_RE = re.compile(STUDY_ID_PATTERN)
_ALWAYS_ENCODED = set("%,|[]") | {chr(c) for c in range(0x20)} | {"\x7f"}
_DOT_RUN = re.compile(r"\.{3,}")
# anything encode_key changes: one of _ALWAYS_ENCODED, or a run of 3+ dots
_NEEDS_ENCODING = re.compile(r"[%,|\[\]\x00-\x1f\x7f]|\.{3}")


class FilePartition(NamedTuple):
    study: str
    key: str


def _encode_char(ch: str) -> str:
    return "".join(f"%{b:02X}" for b in ch.encode("utf-8"))


def encode_key(s3_key: str) -> str:
    """Encode an S3 key so Dagster and its UI accept it; `decode_key` inverts it."""
    if _NEEDS_ENCODING.search(s3_key) is None:  # most keys: one regex scan instead of a join per character
        return s3_key
    encoded = "".join(_encode_char(ch) if ch in _ALWAYS_ENCODED else ch for ch in s3_key)
    return _DOT_RUN.sub(lambda m: "%2E" * len(m.group(0)), encoded)


def decode_key(encoded: str) -> str:
    return unquote(encoded, errors="strict")


def is_valid_study_id(study: str) -> bool:
    return bool(_STUDY_ID_RE.match(study))


def file_partition_key(study: str, s3_key: str) -> str:
    if not is_valid_study_id(study):
        raise ValueError(f"invalid study id {study!r}: must match {STUDY_ID_PATTERN}")
    return f"{study}/{encode_key(s3_key)}"


def parse_file_partition_key(partition_key: str) -> FilePartition:
    study, sep, encoded = partition_key.partition("/")
    if not sep or not is_valid_study_id(study) or not encoded:
        raise ValueError(f"not a file partition key: {partition_key!r} (expected '<study>/<encoded S3 key>')")
    return FilePartition(study, decode_key(encoded))
