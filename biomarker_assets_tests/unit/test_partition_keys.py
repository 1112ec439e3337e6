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
