"""Parsed study configs kept per exact object version, so a sensor tick does not re-parse unchanged configs.

The hostile-input YAML loader is pure Python (``yaml_safe``): ~0.05 s for the 7 KB demo config,
seconds for a 1 MiB one, and every sensor tick used to load every study's config. A config object
is immutable per (bucket, key, ETag, VersionId), so its parse result (a valid ``LoadedConfig`` or
the errors of an invalid one) can be kept and reused until the object changes; a new ETag is a
new key and is parsed once.

Bounded by an estimate of the memory the entries hold (``CHARGE_PER_RAW_BYTE`` times the config's
size: the parsed demo config holds ~6x its 7 KB), least recently used first out. Thread-safe:
a code server may evaluate several sensors at once. Plain Python, no AWS: the StudyStore resource
asks S3 for the version and calls :meth:`ParsedConfigs.get` / :meth:`ParsedConfigs.put`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from biomarker_assets.lib.study_config.loading import ConfigError, LoadedConfig

#: bytes of memory charged per byte of config (parsed models, the raw bytes kept for provenance)
CHARGE_PER_RAW_BYTE = 8
#: fixed charge per entry (key tuple, dataclass, dict slot)
CHARGE_PER_ENTRY = 4096
#: default bound: ~1,100 configs of the demo's size, or 8 of the 1 MiB largest allowed
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ConfigVersion:
    """One stored version of a config: what a parse result is valid for."""

    bucket: str
    key: str
    etag: str
    version_id: str | None = None


@dataclass(frozen=True)
class _Invalid:
    """A config that failed to parse: its errors, raised again as a new ConfigError on every hit."""

    source: str
    errors: tuple[str, ...]
    size: int


Entry = LoadedConfig | _Invalid


def _charge(entry: Entry) -> int:
    size = len(entry.raw) if isinstance(entry, LoadedConfig) else entry.size
    return CHARGE_PER_ENTRY + CHARGE_PER_RAW_BYTE * size


class ParsedConfigs:
    """An LRU of parse results by :class:`ConfigVersion`, bounded by ``max_bytes`` of estimated memory."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[ConfigVersion, Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, version: ConfigVersion) -> LoadedConfig | None:
        """The parsed config of ``version``, None when not kept; raises ConfigError if it was invalid."""
        with self._lock:
            entry = self._entries.get(version)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(version)
            self.hits += 1
        if isinstance(entry, _Invalid):
            raise ConfigError(entry.source, list(entry.errors))
        return entry

    def put(self, version: ConfigVersion, loaded: LoadedConfig) -> None:
        self._store(version, loaded)

    def put_invalid(self, version: ConfigVersion, error: ConfigError, size: int) -> None:
        """Keeps a parse failure (deterministic for these bytes); never an unreadable config (may be transient)."""
        self._store(version, _Invalid(error.source, tuple(error.errors), size))

    def _store(self, version: ConfigVersion, entry: Entry) -> None:
        charge = _charge(entry)
        if charge > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(version, None)
            if old is not None:
                self._bytes -= _charge(old)
            self._entries[version] = entry
            self._bytes += charge
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= _charge(evicted)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def charged_bytes(self) -> int:
        return self._bytes


#: the process's cache: a code server keeps it between sensor ticks, a daemon between run launches
PARSED_CONFIGS = ParsedConfigs()
