"""The SKDH side of processing one file: safe pipeline loading, running, and tabular results.

No AWS and no Dagster here, so everything can be tested on local files against
SKDH's own truth data.

Pipeline specs use SKDH's saved-pipeline structure (what ``skdh.Pipeline.save``
writes)::

    {"Steps": [{"name", "process", "package", "module", "parameters",
                "save_file", "plot_file"}, ...],
     "Version": "<skdh version>"}

Specs come from study config files, so they are treated as untrusted: SKDH's own
``Pipeline.load`` would ``import_module`` whatever package a spec names. Here a spec
is checked against a fixed allow-list first (string checks only), and processes are
built by this module.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import pkgutil
import re
import warnings
from collections import Counter
from collections.abc import Mapping
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import skdh
from skdh.base import BaseProcess
from skdh.context import PredictGaitLumbarLgbm
from skdh.gait import GaitLumbar
from skdh.io import ReadCSV
from skdh.preprocessing import DETACH, CalibrateAccelerometer, CtaWearDetection, GetDayWindowIndices
from skdh.sleep import Sleep

from biomarker_assets.skdh_processes import PROJECT_PROCESSES, Resample

__all__ = [
    "ALLOWED_PACKAGES",
    "GAIT_PIPELINE_SPEC",
    "HEADLINE_KEYS",
    "PipelineRunError",
    "PipelineSpecError",
    "SKDH_VERSION",
    "headline_biomarkers",
    "load_pipeline",
    "pipeline_digest",
    "read_file",
    "results_to_tables",
    "run_pipeline",
    "spec_from_pipeline",
    "validate_pipeline_spec",
    "write_results",
]

SKDH_VERSION: str = skdh.__version__

logger = logging.getLogger("biomarker_assets.skdh")

PROJECT_PACKAGE = "biomarker_assets"
PROJECT_MODULE = "skdh_processes"


def _skdh_modules() -> frozenset[str]:
    """Public module paths of the *installed* skdh (``io``, ``io.axivity``, ``gait.core``, ...).

    Built by walking skdh's own package tree (never a spec), so a spec can only
    name modules that already ship with the pinned SKDH. Private modules
    (``_extensions``) are left out: they hold no processes.
    """
    names = set()
    for info in pkgutil.walk_packages(skdh.__path__, prefix="skdh.", onerror=lambda _name: None):
        rel = info.name.split(".", 1)[1]
        if not any(part.startswith("_") for part in rel.split(".")):
            names.add(rel)
    return frozenset(names)


def _project_modules() -> frozenset[str]:
    """``skdh_processes`` plus the submodule defining each project process (what ``Pipeline.save`` writes)."""
    names = {PROJECT_MODULE}
    for cls in PROJECT_PROCESSES.values():
        names.add(cls.__module__.split(".", 1)[1])
    return frozenset(names)


#: package name -> module paths (relative to the package) that a spec step may name.
ALLOWED_PACKAGES: dict[str, frozenset[str]] = {
    "skdh": _skdh_modules(),
    PROJECT_PACKAGE: _project_modules(),
}

_STEP_REQUIRED = ("process", "package", "module", "parameters")
_STEP_OPTIONAL = ("name", "save_file", "plot_file")
# step names become result keys and Parquet file names
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_IDENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class PipelineSpecError(ValueError):
    """The pipeline spec is not allowed or cannot be built; ``problems`` lists why."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid SKDH pipeline spec: " + "; ".join(self.problems))


class PipelineRunError(RuntimeError):
    """A step cannot run on what this file gave (e.g. DETACH without temperature); the message names the step.

    Raised before SKDH runs the step, instead of SKDH's own error deep inside it
    (for DETACH a NumPy ``AxisError``), so a study team reads what to change.
    """


def _resolve_process(package: str, module: str, process: str) -> type | None:
    """Class for an already allow-listed (package, module, process); None if absent.

    Only called after the module string is in ``ALLOWED_PACKAGES``: skdh modules
    are imported by their allow-listed name, project processes come from
    ``PROJECT_PROCESSES`` without importing anything.
    """
    if package == "skdh":
        obj = getattr(import_module(f"skdh.{module}"), process, None)
    else:
        obj = PROJECT_PROCESSES.get(process)
        if obj is not None and module != PROJECT_MODULE and obj.__module__ != f"{PROJECT_PACKAGE}.{module}":
            return None
    if isinstance(obj, type) and issubclass(obj, BaseProcess) and obj is not BaseProcess:
        return obj
    return None


def _parameter_problems(cls: type, params: Mapping) -> list[str]:
    """Unknown parameter names, found from the signature so a typo is caught before running."""
    try:
        sig = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return []
    known = {name for name in sig.parameters if name != "self"}
    return [f"unknown parameter {k!r} (known: {', '.join(sorted(known))})" for k in params if k not in known]


def validate_pipeline_spec(spec: dict) -> list[str]:
    """Every problem with ``spec`` (empty list when it is fine), without importing what it names.

    Checked: the top-level shape; per step the keys, a package in
    ``ALLOWED_PACKAGES`` and a module path in its allow-list (plain string
    membership, so ``os``, ``..`` or a made-up module are never imported); a
    ``process`` that is a ``BaseProcess`` subclass of that module; parameters
    that are a mapping of names the class accepts; ``save_file``/``plot_file``
    unset (the project writes results; SKDH would write local files named with
    today's date, and ``AccelThresholdWearDetection`` with a ``save_file``
    crashes the run).

    Once every step is valid on its own, the order is checked for the SKDH
    traps that would otherwise crash deep inside SKDH or give meaningless
    results without an error (see :func:`_order_problems`).
    """
    if not isinstance(spec, Mapping):
        return [f"spec must be a mapping with 'Steps' and 'Version', got {type(spec).__name__}"]
    problems: list[str] = []
    extra = sorted(set(map(str, spec)) - {"Steps", "Version"})
    if extra:
        problems.append(f"unknown top-level keys {extra}")
    if not isinstance(spec.get("Version"), str):
        problems.append("'Version' (the SKDH version that wrote the spec) must be a string")
    steps = spec.get("Steps")
    if not isinstance(steps, list) or not steps:
        problems.append("'Steps' must be a non-empty list")
        return problems

    names: Counter[str] = Counter()
    resolved: list[tuple[int, type, Mapping]] = []
    for i, step in enumerate(steps):
        where = f"step {i}"
        if not isinstance(step, Mapping):
            problems.append(f"{where}: must be a mapping, got {type(step).__name__}")
            continue
        where = f"step {i} ({step.get('process')!r})"
        missing = [k for k in _STEP_REQUIRED if k not in step]
        if missing:
            problems.append(f"{where}: missing keys {missing}")
        unknown = sorted(set(map(str, step)) - set(_STEP_REQUIRED) - set(_STEP_OPTIONAL))
        if unknown:
            problems.append(f"{where}: unknown keys {unknown}")
        for key in ("save_file", "plot_file"):
            if step.get(key) is not None:
                problems.append(f"{where}: {key} must be null (results are written by the project)")
        name = step.get("name")
        if name is not None:
            if not isinstance(name, str) or not _NAME_RE.match(name):
                problems.append(f"{where}: name {name!r} must match {_NAME_RE.pattern}")
            else:
                names[name] += 1
        params = step.get("parameters")
        if "parameters" in step and not isinstance(params, Mapping):
            problems.append(f"{where}: parameters must be a mapping, got {type(params).__name__}")
            params = None
        elif isinstance(params, Mapping) and not all(isinstance(k, str) for k in params):
            problems.append(f"{where}: parameter names must be strings")
            params = None

        package, module, process = step.get("package"), step.get("module"), step.get("process")
        if missing and any(k in missing for k in ("package", "module", "process")):
            continue
        if not isinstance(package, str) or package not in ALLOWED_PACKAGES:
            problems.append(f"{where}: package {package!r} is not allowed (allowed: {sorted(ALLOWED_PACKAGES)})")
            continue
        if not isinstance(module, str) or module not in ALLOWED_PACKAGES[package]:
            problems.append(f"{where}: module {module!r} is not an allowed module of package {package!r}")
            continue
        if not isinstance(process, str) or not _IDENT_RE.match(process):
            problems.append(f"{where}: process {process!r} is not a class name")
            continue
        cls = _resolve_process(package, module, process)
        if cls is None:
            problems.append(f"{where}: {package}.{module} has no SKDH process (BaseProcess subclass) {process!r}")
            continue
        if params is not None:
            param_problems = _parameter_problems(cls, params)
            problems.extend(f"{where}: {p}" for p in param_problems)
            if not param_problems:
                resolved.append((i, cls, params))

    dupes = sorted(n for n, c in names.items() if c > 1)
    if dupes:
        problems.append(f"duplicate step names {dupes}")
    if not problems:  # order checks need every step resolved, else they would blame the wrong step
        problems.extend(_order_problems(resolved))
    return problems


# ---------------------------------------------------------------- order checks (SKDH traps)


def _param(cls: type, params: Mapping, name: str, missing: Any = inspect.Parameter.empty) -> Any:
    """A step's parameter value: from the spec, else the class's default; ``missing`` if it has none."""
    if name in params:
        return params[name]
    try:
        parameter = inspect.signature(cls.__init__).parameters.get(name)
    except (TypeError, ValueError):
        return missing
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return missing
    return parameter.default


def _window_key(value: Any) -> tuple[int, int] | None:
    """``day_window`` as SKDH looks it up in ``day_ends`` (``(base, period)``); None if not a pair of ints."""
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return int(value[0]), int(value[1])
    return None


def _day_windows(params: Mapping) -> list[tuple[int, int]]:
    """(base, period) keys a GetDayWindowIndices step puts in ``day_ends`` (SKDH pairs bases and periods with zip)."""
    bases, periods = params.get("bases"), params.get("periods")
    if bases is None or periods is None:
        return []
    bases = bases if isinstance(bases, (list, tuple)) else [bases]
    periods = periods if isinstance(periods, (list, tuple)) else [periods]
    try:
        return [(int(b), int(p)) for b, p in zip(bases, periods)]
    except (TypeError, ValueError):
        return []


def _reads_temperature(cls: type, params: Mapping) -> bool | None:
    """Whether a reader step returns temperature: known for ReadCSV (its column_names), else None (the file decides)."""
    if issubclass(cls, ReadCSV):
        columns = params.get("column_names")
        return isinstance(columns, Mapping) and "temperature" in columns
    return None


def _order_problems(steps: list[tuple[int, type, Mapping]]) -> list[str]:
    """SKDH traps decided from step order and parameters alone (each found by running SKDH 0.17.18).

    - ``Sleep`` (and subclasses such as ``SleepCorrected``) looks its
      ``day_window`` up among the windows a *preceding* ``GetDayWindowIndices``
      made and raises "Day indices for (12, 24) (base, period) not found" without one.
    - Other steps with a ``day_window`` (``ActivityLevelClassification``,
      ``GaitLumbar``) silently take the whole recording as one day when their
      window is missing; that is only flagged when the pipeline does window
      days (a ``GetDayWindowIndices`` step before them), since without any
      windowing one whole-recording "day" is what the spec asks for.
    - ``GaitLumbar`` without gait bouts from a preceding ``PredictGaitLumbarLgbm``
      treats the whole recording as one gait bout: on wrist or free-living data
      every arm swing becomes a "stride" of a single bout.
    - ``DETACH``/``CtaWearDetection`` need temperature; a ``ReadCSV`` reader
      without a temperature column cannot give it (other readers depend on the
      file: checked when the pipeline runs, see :func:`run_pipeline`).
    """
    problems: list[str] = []
    windows: dict[tuple[int, int], int] = {}  # window -> first step making it, so far
    later_windows: dict[tuple[int, int], int] = {}
    for i, cls, params in steps:
        if issubclass(cls, GetDayWindowIndices):
            for key in _day_windows(params):
                later_windows.setdefault(key, i)
    window_steps: list[int] = []
    gait_bouts_step: int | None = None
    reader: tuple[int, type, Mapping] | None = None
    for i, cls, params in steps:
        where = f"step {i} ({cls.__name__!r})"
        if cls.__module__.startswith("skdh.io."):
            reader = (i, cls, params)

        day_window = _param(cls, params, "day_window")
        if day_window is not inspect.Parameter.empty:
            strict = issubclass(cls, Sleep)
            key = _window_key(day_window)
            if day_window is None and strict:
                problems.append(
                    f"{where}: day_window is null, but {cls.__name__} needs a day window; set it to a window "
                    "that a preceding GetDayWindowIndices step makes (e.g. [12, 24] with bases=12, periods=24)"
                )
            elif key is not None and key not in windows and (strict or window_steps):
                base, period = key
                message = f"{where}: day_window {key} has no matching GetDayWindowIndices step"
                if window_steps:
                    made = ", ".join(str(w) for w in windows) or "none"
                    message += f" (windows made before it: {made})"
                after = later_windows.get(key)
                if after is not None and after > i:
                    message += f"; step {after} makes it but runs after this step: move step {after} before step {i}"
                else:
                    message += f"; add one with bases={base}, periods={period}"
                    if windows:
                        message += ", or set day_window to a window made before it"
                if not strict:
                    message += "; without it SKDH silently takes the whole recording as one day"
                problems.append(message)

        if issubclass(cls, GaitLumbar) and gait_bouts_step is None:
            problems.append(
                f"{where}: no PredictGaitLumbarLgbm step before it, so SKDH would take the whole recording as "
                "one gait bout (on wrist or free-living data, meaningless strides); add a PredictGaitLumbarLgbm "
                "step (package skdh, module context.gait_classification) before it"
            )

        if issubclass(cls, (DETACH, CtaWearDetection)) and reader is not None:
            r_i, r_cls, r_params = reader
            if _reads_temperature(r_cls, r_params) is False:
                problems.append(
                    f"{where}: needs temperature, but the reader (step {r_i}, {r_cls.__name__!r}) reads no "
                    "temperature column; add 'temperature' to its column_names, or use a wear detection "
                    "without temperature (AccelThresholdWearDetection)"
                )

        if issubclass(cls, GetDayWindowIndices):
            window_steps.append(i)
            for key in _day_windows(params):
                windows.setdefault(key, i)
        if issubclass(cls, PredictGaitLumbarLgbm):
            gait_bouts_step = i
    return problems


def load_pipeline(spec: dict) -> skdh.Pipeline:
    """Build an ``skdh.Pipeline`` from a validated spec; raises :class:`PipelineSpecError`.

    Processes are constructed here and added with ``Pipeline.add`` instead of
    ``Pipeline.load``, which imports any module a spec names. A pipeline keeps
    per-run state in its processes: build one per run/thread (this is cheap).
    """
    problems = validate_pipeline_spec(spec)
    if problems:
        raise PipelineSpecError(problems)
    pipeline = skdh.Pipeline()
    for i, step in enumerate(spec["Steps"]):
        cls = _resolve_process(step["package"], step["module"], step["process"])
        try:
            proc = cls(**dict(step["parameters"]))
        except Exception as exc:  # bad parameter values: SKDH raises various types
            raise PipelineSpecError([f"step {i} ({step['process']!r}): {type(exc).__name__}: {exc}"]) from exc
        pipeline.add(proc, name=step.get("name"))
    return pipeline


def _jsonable(value: Any) -> Any:
    """Tuples -> lists, so a spec equals its own JSON round trip (config files are JSON/YAML)."""
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def spec_from_pipeline(pipeline: skdh.Pipeline) -> dict:
    """The dict ``Pipeline.save`` would write as YAML, without writing a file."""
    steps = []
    for proc in pipeline._steps:
        package, module = type(proc).__module__.split(".", 1)
        steps.append(
            {
                "name": proc._name,
                "process": proc._cls_name,
                "package": package,
                "module": module,
                "parameters": _jsonable(proc._kw),
                "save_file": proc.pipe_save_file,
                "plot_file": proc.pipe_plot_file,
            }
        )
    return {"Steps": steps, "Version": SKDH_VERSION}


def pipeline_digest(spec: dict) -> str:
    """sha256 of the spec as canonical JSON (sorted keys, no spaces): the results-prefix version.

    Tuples and lists hash the same, so a spec and its JSON/YAML round trip agree.
    """
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _is_signal_step(proc: BaseProcess) -> bool:
    """Readers and Resample return the raw signal as 'results'; it is input, not a biomarker."""
    return isinstance(proc, Resample) or type(proc).__module__.startswith("skdh.io")


class _WarningCapture:
    """Record warnings (so SKDH's many warnings never turn into errors) and log each once.

    ``warnings.catch_warnings`` is process-global: runs in threads of one process
    share it (Dagster's default executor runs each step in its own process).
    :meth:`note` adds the project's own findings (a skipped step), reported after
    SKDH's warnings and never merged with them.
    """

    def __init__(self, sink: list[str] | None):
        self.sink = sink
        self._cm = warnings.catch_warnings(record=True)
        self._notes: list[str] = []

    def __enter__(self):
        self._records = self._cm.__enter__()
        warnings.simplefilter("always")
        return self

    def note(self, text: str) -> None:
        self._notes.append(text)

    def __exit__(self, *exc):
        self._cm.__exit__(*exc)
        seen: Counter[str] = Counter()
        for w in self._records:
            seen[f"{w.category.__name__}: {w.message}"] += 1
        messages = [text + (f" (x{count})" if count > 1 else "") for text, count in seen.items()]
        messages += [f"biomarker_assets: {text}" for text in self._notes]
        for message in messages:
            if self.sink is None:
                logger.warning("SKDH %s", message)
            else:  # the caller reports them (e.g. to the Dagster run log)
                self.sink.append(message)
        return False


# per-sample signals some non-reader steps hand back as "results" (CalibrateAccelerometer
# returns the whole calibrated accel): they are input to later steps, not biomarkers.
_SIGNAL_KEYS = frozenset({"time", "accel", "gyro", "magnet", "temperature", "light"})


def _n_samples(kwargs: Mapping) -> int | None:
    time = kwargs.get("time")
    return int(time.shape[0]) if isinstance(time, np.ndarray) and time.ndim == 1 else None


def _fs(kwargs: Mapping) -> float:
    """Sampling rate as SKDH's steps take it: ``fs`` if given, else from the timestamps (APDM gives no fs)."""
    fs = kwargs.get("fs")
    if fs is not None:
        return float(fs)
    return float(1.0 / np.mean(np.diff(kwargs["time"])))


def _check_step_inputs(i: int, proc: BaseProcess, kwargs: Mapping) -> None:
    """Traps that depend on the file, checked just before the step; raises :class:`PipelineRunError`."""
    where = f"step {i} ({proc._cls_name!r})"
    if isinstance(proc, (DETACH, CtaWearDetection)):
        n = _n_samples(kwargs)
        temperature = kwargs.get("temperature")
        if not isinstance(temperature, np.ndarray) or temperature.ndim != 1:
            signals = ", ".join(sorted(k for k, v in kwargs.items() if isinstance(v, np.ndarray) and v.ndim in (1, 2)))
            raise PipelineRunError(
                f"{where}: needs temperature, but the data read from this file have none (signals: {signals}); "
                "use a device/reader that records temperature, or a wear detection without temperature "
                "(AccelThresholdWearDetection)"
            )
        if n is not None and temperature.shape[0] != n:
            raise PipelineRunError(
                f"{where}: needs temperature sampled with the acceleration, but it has {temperature.shape[0]} "
                f"samples for {n} timestamps"
            )


def _calibration_record(
    i: int, proc: CalibrateAccelerometer, before: Mapping, after: Mapping, result: Mapping | None
) -> tuple[dict, str | None]:
    """CalibrateAccelerometer's outcome as one row, and a note when acceleration was left uncalibrated.

    SKDH 0.17.18 returns nothing (only a warning) when the recording is shorter
    than ``min_hours`` (default 72, rounded up to a multiple of 12, so at least
    12 h), and unchanged acceleration with offset 0 / scale 1 when it finds too
    little still data; the pipeline then goes on with uncalibrated acceleration.
    Either way the row says ``applied = False`` and why, so every result of the
    file can be traced to calibrated or uncalibrated input.
    """
    accel = before.get("accel")
    n = int(accel.shape[0]) if isinstance(accel, np.ndarray) else 0
    hours = n / _fs(before) / 3600.0 if n else 0.0
    result = dict(result or {})
    applied = bool(result) and after.get("accel") is not accel
    reason = None
    if not result:
        reason = f"the recording is {hours:.2f} h long and calibration needs at least {proc.min_hours} h (min_hours)"
    elif not applied:
        reason = (
            "it was run with apply=False"
            if before.get("apply", True) is False
            else "SKDH found too little still data in enough orientations to calibrate"
        )
    nan3 = np.full((1, 3), np.nan)
    record = {
        "applied": applied,
        "reason": reason,
        "recording_hours": hours,
        "min_hours": int(proc.min_hours),
        "offset": np.asarray(result.get("offset", nan3), dtype=float).reshape(1, 3),
        "scale": np.asarray(result.get("scale", nan3), dtype=float).reshape(1, 3),
        "temperature scale": np.asarray(result.get("temperature scale", nan3), dtype=float).reshape(1, 3),
    }
    note = None
    if not applied:
        note = (
            f"step {i} ({proc._cls_name!r}) skipped: {reason}; the steps after it used uncalibrated acceleration "
            f"(recorded in its results: applied = false)"
        )
    return record, note


def _run_steps(
    pipeline: skdh.Pipeline, capture: _WarningCapture, final_inputs: dict | None, **kwargs
) -> dict[str, dict]:
    """``skdh.Pipeline.run`` (steps in order, kwargs handed on, results by step name) with checks between steps."""
    results: dict[str, dict] = {}
    for i, proc in enumerate(pipeline._steps):
        if proc.pipe_save_file is not None or proc.pipe_plot_file is not None:
            raise PipelineSpecError([f"step {i} ({proc._cls_name!r}): save_file/plot_file must be None"])
        _check_step_inputs(i, proc, kwargs)
        before = kwargs
        kwargs, step_result = proc.predict(**kwargs)
        if isinstance(proc, CalibrateAccelerometer):
            step_result, note = _calibration_record(i, proc, before, kwargs, step_result)
            if note:
                capture.note(note)
        elif isinstance(step_result, Mapping) and not _is_signal_step(proc):
            n = _n_samples(before)
            step_result = {
                k: v
                for k, v in step_result.items()
                if not (k in _SIGNAL_KEYS and isinstance(v, np.ndarray) and v.ndim and v.shape[0] == n)
            }
        if step_result is not None:
            results[proc._name] = step_result
    if final_inputs is not None:
        final_inputs.update(kwargs)
    return results


def run_pipeline(
    pipeline: skdh.Pipeline,
    path: Path,
    *,
    captured_warnings: list[str] | None = None,
    final_inputs: dict | None = None,
    **inputs,
) -> dict[str, dict]:
    """Run ``pipeline`` on the file at ``path``; return SKDH's results per step name.

    ``inputs`` are extra SKDH inputs (``height`` in m, ``tz_name``, ...).
    Results of signal steps (``skdh.io`` readers, ``Resample``) are left out: SKDH
    returns the whole recording as their "results", which would otherwise become
    a results table; use :func:`read_file` to look at a reader's output. For the
    same reason per-sample signals (``accel``, ...) other steps hand back are
    dropped from their results. Warnings are logged on ``biomarker_assets.skdh``
    (each distinct message once) or, if ``captured_warnings`` is a list,
    appended to it instead. ``final_inputs``, if a dict, receives what the last
    step handed on (the signal, ``fs``, ``wear``/``sleep`` indices), for QC and plots.

    File-dependent SKDH traps are handled here (the static ones are rejected by
    :func:`validate_pipeline_spec`):

    - ``DETACH``/``CtaWearDetection`` on data without temperature raise
      :class:`PipelineRunError` naming the step (the file cannot give a wear
      result; SKDH itself fails with a NumPy ``AxisError``);
    - ``CalibrateAccelerometer`` on a recording shorter than its ``min_hours``
      (or without enough still data) does not stop the file: SKDH leaves the
      acceleration uncalibrated, and the step's results record ``applied =
      False`` with the reason, plus a warning. A study team then keeps every
      other biomarker of a short (e.g. in-clinic) recording and can filter on
      the flag; failing would block such files for good, as re-running cannot
      make a recording longer.
    """
    with _WarningCapture(captured_warnings) as capture:
        results = _run_steps(pipeline, capture, final_inputs, file=str(path), **inputs)
    signal = {proc._name for proc in pipeline._steps if _is_signal_step(proc)}
    return {name: res for name, res in results.items() if name not in signal}


def read_file(reader_step: dict, path: Path, *, captured_warnings: list[str] | None = None, **inputs) -> dict[str, Any]:
    """Validate and run only a reader step (``skdh.io``) on ``path``; return what it read.

    ``reader_step`` is one entry of a spec's ``Steps``. Useful to check a reader
    against truth data and to inspect a file, since :func:`run_pipeline` drops
    reader output.
    """
    if not (
        isinstance(reader_step, Mapping)
        and reader_step.get("package") == "skdh"
        and str(reader_step.get("module", "")).split(".")[0] == "io"
    ):
        got = reader_step.get("process") if isinstance(reader_step, Mapping) else reader_step
        raise PipelineSpecError([f"step 0 ({got!r}): not a reader (package skdh, module io...)"])
    spec = {"Steps": [reader_step], "Version": SKDH_VERSION}
    pipeline = load_pipeline(spec)
    with _WarningCapture(captured_warnings):
        results = pipeline.run(file=str(path), **inputs)
    return dict(next(iter(results.values()), {}))


# ---------------------------------------------------------------- results -> tables


def _key_str(key: Any) -> str:
    """Column-name part for a dict key; tuples such as day windows (12, 24) become ``12_24``."""
    if isinstance(key, tuple):
        return "_".join(_key_str(k) for k in key)
    if isinstance(key, np.generic):
        key = key.item()
    return str(key)


def _flatten(prefix: str, value: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}/{_key_str(k)}" if prefix else _key_str(k), v, out)
    else:
        out.append((prefix, value))


def _to_array(value: Any) -> Any:
    """A leaf as an ndarray (or a scalar: Python/NumPy scalars, str, None, 0-d arrays)."""
    if value is None or isinstance(value, (str, bytes, bool, int, float, np.generic)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, (list, tuple)):
        try:
            value = np.asarray(value)
        except ValueError:  # ragged
            value = np.asarray([str(v) for v in value])
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return value.item()
        return value
    return str(value)


def _arrow(values: Any) -> pa.Array:
    """NumPy column -> Arrow; object columns that Arrow cannot type become strings."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "O":
        try:
            return pa.array(values.tolist())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.array([None if v is None else str(v) for v in values.tolist()], type=pa.string())
    return pa.array(values)


def _broadcast(value: Any, n: int) -> pa.Array:
    if value is None:
        return pa.nulls(n, type=pa.string())
    return pa.array([value] * n)


def results_to_tables(results: dict[str, dict]) -> dict[str, pa.Table]:
    """One Arrow table per step that returned results (steps in pipeline order).

    Rules, all deterministic:

    - nested dicts are flattened with ``parent/child`` column names; tuple keys
      (day windows) are joined with ``_`` (``day_ends/12_24``);
    - lists become arrays; 1-D arrays are columns; 2-D (and higher, reshaped to
      2-D) arrays are split into ``name_0``, ``name_1``, ...;
    - the step's table has the columns of the most common length (ties: the
      longer length); scalars (including None -> null string) are repeated down it;
    - columns of any other length go to a table ``<step>__<length>`` (e.g. a
      per-bout array next to per-stride arrays);
    - a step with only scalars gives a one-row table; a step that returned
      nothing gives no table;
    - column names keep SKDH's order; a clash after flattening gets ``#2``, ``#3``.
    """
    tables: dict[str, pa.Table] = {}
    for step, res in results.items():
        if not res:
            continue
        leaves: list[tuple[str, Any]] = []
        _flatten("", res, leaves)
        scalars: list[tuple[str, Any]] = []
        columns: list[tuple[str, np.ndarray]] = []
        for name, value in leaves:
            value = _to_array(value)
            if not isinstance(value, np.ndarray):
                scalars.append((name, value))
            elif value.ndim == 1:
                columns.append((name, value))
            else:
                flat = value.reshape(value.shape[0], int(np.prod(value.shape[1:])))
                columns.extend((f"{name}_{j}", flat[:, j]) for j in range(flat.shape[1]))
        lengths = Counter(len(v) for _, v in columns)
        main_len = max(lengths, key=lambda n: (lengths[n], n)) if lengths else 1
        groups: dict[int, list[tuple[str, pa.Array]]] = {main_len: []}
        for name, value in columns:
            groups.setdefault(len(value), []).append((name, _arrow(value)))
        groups[main_len].extend((name, _broadcast(value, main_len)) for name, value in scalars)
        for n, cols in groups.items():
            if not cols:
                continue
            table_name = step if n == main_len else f"{step}__{n}"
            tables[table_name] = pa.table(dict(_unique(cols)))
    return tables


def _unique(cols: list[tuple[str, pa.Array]]) -> list[tuple[str, pa.Array]]:
    seen: Counter[str] = Counter()
    out = []
    for name, arr in cols:
        name = name or "value"
        seen[name] += 1
        out.append((name if seen[name] == 1 else f"{name}#{seen[name]}", arr))
    return out


def write_results(tables: dict[str, pa.Table], out_dir: Path) -> list[Path]:
    """Write ``<table>.parquet`` per table into ``out_dir``; same tables -> byte-identical files.

    Schema metadata is dropped (it is where pandas/other writers put run-specific
    data) and options are fixed.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in tables.items():
        if not _NAME_RE.match(name):
            raise ValueError(f"table name {name!r} is not a safe file name")
        path = out_dir / f"{name}.parquet"
        pq.write_table(
            table.replace_schema_metadata(None),
            path,
            compression="zstd",
            version="2.6",
            use_dictionary=True,
            write_statistics=True,
            store_schema=True,
        )
        paths.append(path)
    return paths


# ---------------------------------------------------------------- headline numbers

#: keys of :func:`headline_biomarkers`, always present (None when not computed).
HEADLINE_KEYS = ("wear_hours", "total_sleep_time_min", "mvpa_min", "gait_speed_m_s", "n_strides", "n_bouts")

# SKDH 0.17.18 result keys, found by running SKDH:
# GaitLumbar: one row per stride; "gait speed" [m/s] (NaN where the stride is not
# complete), "Bout N" numbers bouts across the recording, "Day N" the day window.
_GAIT_SPEED = "gait speed"
_GAIT_BOUT = "Bout N"
# Sleep (and SleepCorrected): one entry per day window; "total sleep time" [min].
_SLEEP_TST = "total sleep time"
_SLEEP_WEAR_MIN = "Wear Minutes"
# ActivityLevelClassification: one entry per day; "N wear hours"; MVPA minutes in
# the wake (non-sleep) part of the day, from short epochs: "wake MVPA 5s epoch [min]"
# (5 is the `short_wlen` parameter).
_ACT_WEAR_H = "N wear hours"
_ACT_MVPA_RE = re.compile(r"^wake MVPA \d+s epoch \[min\]$")


def _floats(values: Any) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return np.array([], dtype=float)


def _nan_stat(values: Any, how: str) -> float | None:
    arr = _floats(values)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return None
    return float(arr.mean() if how == "mean" else arr.sum())


def _first_step_with(results: dict[str, dict], key: str | re.Pattern) -> tuple[dict, str] | None:
    for res in results.values():
        if not isinstance(res, Mapping):
            continue
        for k in res:
            if (k == key) if isinstance(key, str) else (isinstance(k, str) and key.match(k)):
                return res, k
    return None


def headline_biomarkers(results: dict[str, dict]) -> dict[str, float | int | None]:
    """A few readable numbers for a summary table; None when the pipeline did not produce them.

    Steps are found by their SKDH result keys (not step names), first match wins:

    - ``wear_hours``: total over days of ActivityLevelClassification ``N wear
      hours``; else Sleep ``Wear Minutes`` / 60 (wear detection alone returns
      sample indices, not hours);
    - ``total_sleep_time_min``: mean over days of Sleep ``total sleep time``;
    - ``mvpa_min``: mean over days of ActivityLevelClassification
      ``wake MVPA <n>s epoch [min]`` (MVPA minutes per day outside sleep);
    - ``gait_speed_m_s``: mean of GaitLumbar ``gait speed`` over strides (NaNs skipped);
    - ``n_strides``: GaitLumbar rows (strides); ``n_bouts``: distinct (``Day N``, ``Bout N``).
    """
    out: dict[str, float | int | None] = dict.fromkeys(HEADLINE_KEYS)

    if found := _first_step_with(results, _ACT_WEAR_H):
        out["wear_hours"] = _nan_stat(found[0][found[1]], "sum")
    elif found := _first_step_with(results, _SLEEP_WEAR_MIN):
        minutes = _nan_stat(found[0][found[1]], "sum")
        out["wear_hours"] = None if minutes is None else minutes / 60.0

    if found := _first_step_with(results, _SLEEP_TST):
        out["total_sleep_time_min"] = _nan_stat(found[0][found[1]], "mean")

    if found := _first_step_with(results, _ACT_MVPA_RE):
        out["mvpa_min"] = _nan_stat(found[0][found[1]], "mean")

    if found := _first_step_with(results, _GAIT_SPEED):
        gait = found[0]
        out["gait_speed_m_s"] = _nan_stat(gait[_GAIT_SPEED], "mean")
        bouts = _floats(gait.get(_GAIT_BOUT, []))
        out["n_strides"] = int(bouts.size if _GAIT_BOUT in gait else _floats(gait[_GAIT_SPEED]).size)
        if _GAIT_BOUT in gait:
            days = _floats(gait.get("Day N", np.zeros(bouts.size)))
            days = days if days.size == bouts.size else np.zeros(bouts.size)
            out["n_bouts"] = len(set(zip(days.tolist(), bouts.tolist())))
    return out


# ---------------------------------------------------------------- demo pipelines


def _gait_pipeline_spec() -> dict:
    """Lumbar gait as SKDH's truth was made: read, resample to 50 Hz, classify, GaitLumbar.

    ``GaitLumbar``'s IC/FC prominence and distance factors are those SKDH's own
    test uses to reproduce ``gait_results_apcwt.npz`` (its defaults differ).
    Subject input: ``height`` in metres.
    """
    from skdh.context import PredictGaitLumbarLgbm
    from skdh.gait import GaitLumbar
    from skdh.io import ReadNumpyFile

    pipeline = skdh.Pipeline()
    pipeline.add(ReadNumpyFile())
    pipeline.add(Resample(goal_fs=50.0, aa_filter=True))
    pipeline.add(PredictGaitLumbarLgbm())
    pipeline.add(GaitLumbar(ic_prom_factor=0.1, ic_dist_factor=0.0, fc_prom_factor=0.1, fc_dist_factor=0.0))
    return spec_from_pipeline(pipeline)


#: SKDH saved-pipeline spec for a lumbar accelerometer ``.npz`` (``time``, ``accel``).
GAIT_PIPELINE_SPEC: dict = _gait_pipeline_spec()
