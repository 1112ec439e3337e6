"""The spec digest that names results folders and enters data versions.

Kept apart from pipeline building (and SKDH) so the code location and sensors can
compute where results go without importing SKDH.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def jsonable(value: Any) -> Any:
    """Tuples -> lists, so a spec equals its own JSON round trip (config files are JSON/YAML)."""
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def pipeline_digest(spec: dict) -> str:
    """sha256 of the spec as canonical JSON (sorted keys, no spaces): the results-prefix version.

    Tuples and lists hash the same, so a spec and its JSON/YAML round trip agree.
    """
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
