"""Which rule of a study config a key falls under, and the fields in its file name."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from functools import lru_cache

from wcmatch import glob as wcglob

from biomarker_assets.lib.study_config.schema import DataFiles, FilePattern, MetadataFiles, StudyConfig

_GLOB_FLAGS = wcglob.GLOBSTAR | wcglob.DOTGLOB


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> wcglob.WcMatcher:
    # What wcglob.globmatch(key, pattern, flags=...) does on every call (parse, expand, build the
    # matcher), once per pattern: a catalog tick matches every listed key against every rule.
    return wcglob.compile(pattern, flags=_GLOB_FLAGS)


def matches(pattern: FilePattern, key: str) -> bool:
    if pattern.glob is not None:
        return _glob(pattern.glob).match(key)
    return _regex(pattern.regex).fullmatch(key) is not None


@dataclass(frozen=True)
class Match:
    kind: str  # "metadata" or "data"
    rule: MetadataFiles | DataFiles
    rule_index: int


def classify(config: StudyConfig, key: str) -> Match | None:
    """Metadata rules win over data rules, so a CSV of subjects is never fed to SKDH."""
    if not any(key.startswith(p) for p in config.prefixes):
        return None
    for i, metadata_rule in enumerate(config.metadata_files):
        if matches(metadata_rule.match, key):
            return Match("metadata", metadata_rule, i)
    for i, data_rule in enumerate(config.data_files):
        if matches(data_rule.match, key):
            return Match("data", data_rule, i)
    return None


def filename_fields(config: StudyConfig, key: str) -> dict[str, str] | None:
    """Named groups of the file-name regex, or None when the name does not match."""
    found = _regex(config.filename.pattern).fullmatch(posixpath.basename(key))
    if found is None:
        return None
    return {k: v for k, v in found.groupdict().items() if v is not None}
