"""Units of the signals a pipeline hands to its analysis steps, for provenance (no SKDH import).

From the reader's registry entry (``readers.READERS``) and the pipeline's
``GyroscopeUnits`` declaration: a result can then say which units its gyroscope
(turns) and accelerometer were in without re-reading the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from biomarker_assets.lib.skdh.readers import reader_named

_UNITS_STEP = ("biomarker_assets", "GyroscopeUnits")


def signal_units(spec: Mapping[str, Any]) -> dict[str, str]:
    """``{signal: unit}`` as the analysis steps receive them; ``gyro_in_file`` when a declaration converted it.

    Reader units come from the registry (a ``MultiReader`` takes those of the reader it
    names); a ``GyroscopeUnits`` step makes ``gyro`` rad/s and records what the file held.
    """
    units: dict[str, str] = {}
    for step in spec.get("Steps", []):
        if not isinstance(step, Mapping):
            continue
        params = step.get("parameters") or {}
        entry = reader_named(step.get("package"), step.get("process"))
        if entry is not None and entry.process == "MultiReader":
            entry = reader_named("skdh", params.get("reader")) or entry
        if entry is not None:
            units = dict(entry.units)
        elif (step.get("package"), step.get("process")) == _UNITS_STEP:
            units["gyro_in_file"] = str(params.get("units", "deg/s"))
            units["gyro"] = "rad/s"
    return units
