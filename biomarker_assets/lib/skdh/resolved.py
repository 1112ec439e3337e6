"""The pipeline as it ran: every step with every constructor parameter, SKDH's defaults filled in.

A spec names only the parameters a study set; the defaults come from the installed SKDH
and can change between releases. Provenance records both, so a result can be re-made
(and a changed default found) from the record alone. Reads each process's ``__init__``
signature: SKDH keeps no list of its defaults.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from biomarker_assets.lib.skdh.allowlist import resolve_process


def _plain(value: Any) -> Any:
    """JSON-able: tuples -> lists, NumPy scalars/arrays -> Python, anything else without JSON form -> repr."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):  # NumPy scalar or array
        return _plain(value.tolist())
    try:
        json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        return repr(value)
    return value


def default_parameters(cls: type) -> dict[str, Any]:
    """``__init__`` parameter -> default, for every named parameter (``*args``/``**kwargs`` have none)."""
    defaults: dict[str, Any] = {}
    for name, param in inspect.signature(cls).parameters.items():  # the constructor without self
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        defaults[name] = None if param.default is inspect.Parameter.empty else param.default
    return defaults


def resolved_steps(spec: dict) -> list[dict[str, Any]]:
    """One entry per step: name, class (``package.module.process``), parameters with defaults, and which were set.

    ``spec`` is validated already (the pipeline was built from it); an unknown process raises ``LookupError``.
    """
    steps = []
    for step in spec.get("Steps", []):
        cls = resolve_process(step["package"], step["module"], step["process"])
        if cls is None:
            raise LookupError(f"no process {step['package']}.{step['module']}.{step['process']}")
        given = dict(step.get("parameters") or {})
        steps.append(
            {
                "name": step.get("name") or step["process"],
                "process": f"{cls.__module__}.{cls.__qualname__}",
                "spec": f"{step['package']}.{step['module']}.{step['process']}",
                "parameters": _plain({**default_parameters(cls), **given}),
                "set_in_config": sorted(given),
            }
        )
    return steps


def day_windows(steps: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Step name -> (base hour, period hours) of each day-level step (SKDH's ``day_window``; None = whole file)."""
    windows: dict[str, tuple[int, int]] = {}
    for step in steps:
        window = step["parameters"].get("day_window", "absent")
        if isinstance(window, list) and len(window) == 2:
            windows[step["name"]] = (int(window[0]), int(window[1]))
    return windows
