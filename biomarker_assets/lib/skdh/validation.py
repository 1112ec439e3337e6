"""Every problem with a pipeline spec, found without importing anything the spec names.

Pipeline specs use SKDH's saved-pipeline structure (what ``skdh.Pipeline.save``
writes)::

    {"Steps": [{"name", "process", "package", "module", "parameters",
                "save_file", "plot_file"}, ...],
     "Version": "<skdh version>"}

Each check is its own function; :func:`validate_pipeline_spec` runs them in a fixed
order, so the messages (shown to study teams and kept in tests) stay in that order.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from biomarker_assets.lib.skdh.allowlist import ALLOWED_PACKAGES, resolve_process
from biomarker_assets.lib.skdh.parameter_policy import parameter_value_problems
from biomarker_assets.lib.skdh.tables import NAME_RE
from biomarker_assets.lib.skdh.traps import order_problems

_STEP_REQUIRED = ("process", "package", "module", "parameters")
_STEP_OPTIONAL = ("name", "save_file", "plot_file")
_IDENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

#: a step that passed every check on its own: (index, class, parameters) for the order checks.
Resolved = tuple[int, type, Mapping]


def _top_level_problems(spec: Mapping) -> list[str]:
    problems = []
    extra = sorted(set(map(str, spec)) - {"Steps", "Version"})
    if extra:
        problems.append(f"unknown top-level keys {extra}")
    if not isinstance(spec.get("Version"), str):
        problems.append("'Version' (the SKDH version that wrote the spec) must be a string")
    return problems


def _key_problems(where: str, step: Mapping) -> tuple[list[str], list[str]]:
    """(problems, missing required keys): required and unknown keys, and no SKDH-written files."""
    problems = []
    missing = [k for k in _STEP_REQUIRED if k not in step]
    if missing:
        problems.append(f"{where}: missing keys {missing}")
    unknown = sorted(set(map(str, step)) - set(_STEP_REQUIRED) - set(_STEP_OPTIONAL))
    if unknown:
        problems.append(f"{where}: unknown keys {unknown}")
    # the project writes results; SKDH would write local files named with today's date, and
    # AccelThresholdWearDetection with a save_file crashes the run
    for key in ("save_file", "plot_file"):
        if step.get(key) is not None:
            problems.append(f"{where}: {key} must be null (results are written by the project)")
    return problems, missing


def _name_problems(where: str, step: Mapping, names: Counter[str]) -> list[str]:
    """Step names become result keys and Parquet file names; valid ones are counted in ``names``."""
    name = step.get("name")
    if name is None:
        return []
    if not isinstance(name, str) or not NAME_RE.match(name):
        return [f"{where}: name {name!r} must match {NAME_RE.pattern}"]
    names[name] += 1
    return []


def _parameters(where: str, step: Mapping) -> tuple[Mapping | None, list[str]]:
    """The step's parameters if they are a mapping of names (else None), and what is wrong with them."""
    params = step.get("parameters")
    if "parameters" in step and not isinstance(params, Mapping):
        return None, [f"{where}: parameters must be a mapping, got {type(params).__name__}"]
    if isinstance(params, Mapping) and not all(isinstance(k, str) for k in params):
        return None, [f"{where}: parameter names must be strings"]
    return params, []


def _class_problems(where: str, step: Mapping) -> tuple[type | None, list[str]]:
    """The step's class, checked by plain string membership first (``os``, ``..`` are never imported)."""
    package, module, process = step.get("package"), step.get("module"), step.get("process")
    if not isinstance(package, str) or package not in ALLOWED_PACKAGES:
        return None, [f"{where}: package {package!r} is not allowed (allowed: {sorted(ALLOWED_PACKAGES)})"]
    if not isinstance(module, str) or module not in ALLOWED_PACKAGES[package]:
        return None, [f"{where}: module {module!r} is not an allowed module of package {package!r}"]
    if not isinstance(process, str) or not _IDENT_RE.match(process):
        return None, [f"{where}: process {process!r} is not a class name"]
    cls = resolve_process(package, module, process)
    if cls is None:
        return None, [f"{where}: {package}.{module} has no SKDH process (BaseProcess subclass) {process!r}"]
    return cls, []


def parameter_problems(cls: type, params: Mapping) -> list[str]:
    """Unknown parameter names, found from the signature so a typo is caught before running."""
    try:
        sig = inspect.signature(cls.__init__)  # type: ignore[misc]  # the class's own, as SKDH calls it
    except (TypeError, ValueError):
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return []
    known = {name for name in sig.parameters if name != "self"}
    return [f"unknown parameter {k!r} (known: {', '.join(sorted(known))})" for k in params if k not in known]


def _step_problems(i: int, step: Any, names: Counter[str]) -> tuple[list[str], Resolved | None]:
    """Problems of one step on its own, and the step resolved when it has none that stop the order checks."""
    if not isinstance(step, Mapping):
        return [f"step {i}: must be a mapping, got {type(step).__name__}"], None
    where = f"step {i} ({step.get('process')!r})"
    problems, missing = _key_problems(where, step)
    problems += _name_problems(where, step, names)
    params, param_shape = _parameters(where, step)
    problems += param_shape
    if any(k in missing for k in ("package", "module", "process")):
        return problems, None
    cls, class_problems = _class_problems(where, step)
    problems += class_problems
    if cls is None or params is None:
        return problems, None
    unknown = parameter_problems(cls, params)
    problems += [f"{where}: {p}" for p in unknown]
    problems += [f"{where}: {p}" for p in parameter_value_problems(cls, params)]  # allow-listed values only
    return problems, None if unknown else (i, cls, params)


def validate_pipeline_spec(spec: Any) -> list[str]:
    """Every problem with ``spec`` (empty list when it is fine), without importing what it names.

    Checked: the top-level shape; per step the keys, a package in
    ``ALLOWED_PACKAGES`` and a module path in its allow-list, a ``process`` that
    is a ``BaseProcess`` subclass of that module, parameters that are a mapping of
    names the class accepts, ``save_file``/``plot_file`` unset. Once every step
    is valid on its own, the order is checked for the SKDH traps that would
    otherwise crash deep inside SKDH or give meaningless results without an
    error (see :func:`biomarker_assets.lib.skdh.traps.order_problems`).
    """
    if not isinstance(spec, Mapping):
        return [f"spec must be a mapping with 'Steps' and 'Version', got {type(spec).__name__}"]
    problems = _top_level_problems(spec)
    steps = spec.get("Steps")
    if not isinstance(steps, list) or not steps:
        return [*problems, "'Steps' must be a non-empty list"]
    names: Counter[str] = Counter()
    resolved: list[Resolved] = []
    for i, step in enumerate(steps):
        step_problems, ok = _step_problems(i, step, names)
        problems += step_problems
        if ok is not None:
            resolved.append(ok)
    dupes = sorted(n for n, c in names.items() if c > 1)
    if dupes:
        problems.append(f"duplicate step names {dupes}")
    if not problems:  # order checks need every step resolved, else they would blame the wrong step
        problems.extend(order_problems(resolved))
    return problems
