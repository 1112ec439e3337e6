"""Parsing study configs from YAML bytes and files; no AWS here (the StudyStore resource fetches the bytes)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from biomarker_assets.lib.study_config.schema import StudyConfig
from biomarker_assets.lib.study_config.yaml_safe import MAX_CONFIG_BYTES, YamlRefused, load_untrusted_yaml

__all__ = ["MAX_CONFIG_BYTES", "ConfigError", "ConfigNotFound", "ConfigUnreadable", "LoadedConfig", "parse_config"]

SCHEMA_PATH = Path(__file__).with_name("study_config.schema.json")


class ConfigError(ValueError):
    """A config that cannot be used; ``errors`` has one line per problem, each with its path."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"invalid study config {source}:\n" + "\n".join(f"  - {e}" for e in errors))


class ConfigUnreadable(ConfigError):
    """The config exists but cannot be fetched (S3 403/500, too large to read): that study alone is invalid.

    A ``ConfigError``, so every caller that isolates a bad config isolates an unreadable one too.
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(source, [f"(document): cannot be read: {reason}"])


class ConfigNotFound(LookupError):
    """No config file for the study (raised by whatever fetched it, e.g. the StudyStore resource)."""


@dataclass(frozen=True)
class ConfigLocation:
    """Where a stored config was read from, down to its S3 version (provenance re-fetches exactly that)."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None


@dataclass(frozen=True)
class LoadedConfig:
    config: StudyConfig
    digest: str  # sha256 of the file's bytes: provenance names exactly what was read
    source: str
    raw: bytes = b""  # the bytes read: provenance keeps a copy
    location: ConfigLocation | None = None


def _format_location(loc: tuple) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(document)"


def parse_config(text: str | bytes, source: str = "<string>") -> LoadedConfig:
    """A validated config from YAML bytes; raises :class:`ConfigError` for anything wrong, never another type.

    The YAML is read with :func:`~biomarker_assets.lib.study_config.yaml_safe.load_untrusted_yaml`
    (safe tags, no aliases, bounded depth and size, no duplicate keys).
    """
    raw = text.encode() if isinstance(text, str) else text
    try:
        document = load_untrusted_yaml(raw)
    except YamlRefused as exc:
        raise ConfigError(source, [f"(document): {exc}"]) from None
    if not isinstance(document, dict):
        raise ConfigError(source, ["(document): must be a mapping of fields"])
    try:
        config = StudyConfig.model_validate(document)
    except ValidationError as exc:
        errors = [f"{_format_location(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(source, errors) from None
    except RecursionError:  # the loader bounds depth; this is the last line of defence
        raise ConfigError(source, ["(document): nested too deeply to validate"]) from None
    return LoadedConfig(config=config, digest=hashlib.sha256(raw).hexdigest(), source=source, raw=raw)


def load_config_file(path: str | Path) -> LoadedConfig:
    return parse_config(Path(path).read_bytes(), str(path))


def config_key(prefix: str, study: str) -> str:
    return f"{prefix}{study}.yaml"


def parse_study_config(body: bytes, source: str, study: str) -> LoadedConfig:
    """A stored config: parsed, and its ``study`` field must be the study its file name says."""
    loaded = parse_config(body, source)
    if loaded.config.study != study:
        raise ConfigError(loaded.source, [f"study: {loaded.config.study!r} does not match file name {study!r}"])
    return loaded


def json_schema() -> str:
    return json.dumps(StudyConfig.model_json_schema(), indent=2, sort_keys=True) + "\n"
