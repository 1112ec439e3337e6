import random
import re

import pytest
from dagster._core.definitions.partitions.utils.base import raise_error_on_invalid_partition_key_substring

from biomarker_assets.lib.partition_keys import (
    decode_key,
    encode_key,
    file_partition_key,
    parse_file_partition_key,
)

ODD_KEYS = [
    "raw/wrist/DM001_V1_wrist.cwa",
    "raw/with space/and unicode é漢字 🙂.cwa",
    "raw/dots.../a....b/..../x.cwa",
    "raw/pipe|comma,brackets[1]/x.cwa",
    "raw/percent%20already-encoded%2E/x+plus.cwa",
    "raw/control\tchars\nnewline\x00nul.cwa",
    "raw/" + "long-segment/" * 70 + "end.cwa",
]


@pytest.mark.parametrize("key", ODD_KEYS)
def test_keys_round_trip_and_are_accepted_by_dagster(key):
    partition = file_partition_key("demo", key)
    raise_error_on_invalid_partition_key_substring([partition])
    for bad in [",", "|", "[", "]", "\n", "\t", "\x00"]:
        assert bad not in partition
    assert parse_file_partition_key(partition) == ("demo", key)
    assert decode_key(encode_key(key)) == key


def _encode_every_character(s3_key: str) -> str:
    """The encoding without the shortcut for keys with nothing to encode: the reference."""
    always = set("%,|[]") | {chr(c) for c in range(0x20)} | {"\x7f"}
    encoded = "".join("".join(f"%{b:02X}" for b in ch.encode()) if ch in always else ch for ch in s3_key)
    return re.sub(r"\.{3,}", lambda m: "%2E" * len(m.group(0)), encoded)


def test_the_shortcut_for_keys_with_nothing_to_encode_changes_no_key():
    alphabet = [*"abc/._- %,|[]+é漢", "\x00", "\t", "\x1f", "\x7f", "\x80", "..", "..."]
    rng = random.Random(12)
    keys = ["".join(rng.choices(alphabet, k=rng.randint(0, 12))) for _ in range(20_000)] + ODD_KEYS
    for key in keys:
        assert encode_key(key) == _encode_every_character(key), repr(key)
    assert sum(encode_key(k) == k for k in keys) > 1000  # the shortcut was taken, not only the slow path


def test_readable_keys_stay_readable():
    assert file_partition_key("demo", "raw/wrist/DM001_V1_wrist.cwa") == "demo/raw/wrist/DM001_V1_wrist.cwa"
    assert file_partition_key("demo", "raw/é 1.cwa") == "demo/raw/é 1.cwa"


@pytest.mark.parametrize("bad", ["Demo", "has/slash", "", "-lead", "x" * 64])
def test_invalid_study_ids_are_rejected(bad):
    with pytest.raises(ValueError, match="study id"):
        file_partition_key(bad, "raw/x.cwa")


@pytest.mark.parametrize("bad", ["nostudy", "demo/", "/raw/x"])
def test_malformed_partition_keys_are_rejected(bad):
    with pytest.raises(ValueError, match="not a file partition key"):
        parse_file_partition_key(bad)
