"""The parsed-config cache: one parse per config version, errors kept too, memory bounded (LRU)."""

from __future__ import annotations

import pytest

from biomarker_assets.lib.study_config.cache import (
    CHARGE_PER_ENTRY,
    CHARGE_PER_RAW_BYTE,
    ConfigVersion,
    ParsedConfigs,
)
from biomarker_assets.lib.study_config.loading import ConfigError, parse_config
from biomarker_assets.local.demo import STUDY_FILES

DEMO = (STUDY_FILES / "demo.yaml").read_bytes()
LOADED = parse_config(DEMO, "s3://configs/studies/demo.yaml")
CHARGE = CHARGE_PER_ENTRY + CHARGE_PER_RAW_BYTE * len(DEMO)


def _version(etag: str, key: str = "studies/demo.yaml", version_id: str | None = None) -> ConfigVersion:
    return ConfigVersion("configs", key, etag, version_id)


def test_a_kept_version_is_returned_and_any_other_version_is_a_miss():
    cache = ParsedConfigs()
    cache.put(_version("e1"), LOADED)
    assert cache.get(_version("e1")) is LOADED
    assert cache.get(_version("e2")) is None  # the config changed: its new ETag is parsed again
    assert cache.get(_version("e1", version_id="v2")) is None
    assert cache.get(_version("e1", key="studies/other.yaml")) is None
    assert (cache.hits, cache.misses) == (1, 3)


def test_an_invalid_version_raises_its_errors_again_as_a_new_error_each_time():
    cache = ParsedConfigs()
    with pytest.raises(ConfigError) as parsed:
        parse_config(b"study: x\nbucket: [", "s3://configs/studies/x.yaml")
    cache.put_invalid(_version("bad"), parsed.value, size=20)
    raised = []
    for _ in range(2):
        with pytest.raises(ConfigError) as kept:
            cache.get(_version("bad"))
        assert kept.value.source == "s3://configs/studies/x.yaml" and kept.value.errors == parsed.value.errors
        raised.append(kept.value)
    assert raised[0] is not raised[1] and raised[0] is not parsed.value  # no traceback piles up on one object


def test_memory_is_bounded_least_recently_used_out():
    cache = ParsedConfigs(max_bytes=3 * CHARGE)
    for n in range(3):
        cache.put(_version(f"e{n}"), LOADED)
    assert cache.get(_version("e0")) is LOADED  # e0 used: e1 is now the oldest
    cache.put(_version("e3"), LOADED)
    assert len(cache) == 3 and cache.charged_bytes == 3 * CHARGE
    assert cache.get(_version("e1")) is None
    assert all(cache.get(_version(e)) is LOADED for e in ("e0", "e2", "e3"))


def test_replacing_a_version_does_not_count_it_twice_and_a_too_large_entry_is_not_kept():
    cache = ParsedConfigs(max_bytes=2 * CHARGE)
    cache.put(_version("e0"), LOADED)
    cache.put(_version("e0"), LOADED)
    assert len(cache) == 1 and cache.charged_bytes == CHARGE
    tiny = ParsedConfigs(max_bytes=CHARGE - 1)
    tiny.put(_version("e0"), LOADED)
    assert len(tiny) == 0 and tiny.charged_bytes == 0 and tiny.get(_version("e0")) is None
    cache.clear()
    assert len(cache) == 0 and cache.charged_bytes == 0 and (cache.hits, cache.misses) == (0, 0)
