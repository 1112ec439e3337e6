"""SKDH traps: step orders and inputs that crash deep inside SKDH or give meaningless results silently.

Each was found by running SKDH 0.17.18. The static ones (decided from step order and
parameters) are rejected when a spec is validated; the ones that depend on the file are
checked just before the step runs, or recorded when SKDH skips a step.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import numpy as np
from skdh.base import BaseProcess
from skdh.preprocessing import DETACH, CalibrateAccelerometer, CtaWearDetection, GetDayWindowIndices
from skdh.sleep import Sleep

from biomarker_assets.lib.skdh import gait_traps
from biomarker_assets.lib.skdh.errors import PipelineRunError
from biomarker_assets.lib.skdh.readers import reader_for_class

#: (index, class, parameters) of a step that is valid on its own.
Step = tuple[int, type, Mapping]
Window = tuple[int, int]


def _param(cls: type, params: Mapping, name: str, missing: Any = inspect.Parameter.empty) -> Any:
    """A step's parameter value: from the spec, else the class's default; ``missing`` if it has none."""
    if name in params:
        return params[name]
    try:
        parameter = inspect.signature(cls.__init__).parameters.get(name)  # type: ignore[misc]  # the class's own
    except (TypeError, ValueError):
        return missing
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return missing
    return parameter.default


def _window_key(value: Any) -> Window | None:
    """``day_window`` as SKDH looks it up in ``day_ends`` (``(base, period)``); None if not a pair of ints."""
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return int(value[0]), int(value[1])
    return None


def _day_windows(params: Mapping) -> list[Window]:
    """(base, period) keys a GetDayWindowIndices step puts in ``day_ends`` (SKDH pairs bases and periods with zip)."""
    bases, periods = params.get("bases"), params.get("periods")
    if bases is None or periods is None:
        return []
    bases = bases if isinstance(bases, (list, tuple)) else [bases]
    periods = periods if isinstance(periods, (list, tuple)) else [periods]
    try:
        return [(int(b), int(p)) for b, p in zip(bases, periods, strict=False)]  # SKDH zips them: extras ignored
    except (TypeError, ValueError):
        return []


def _where(i: int, cls: type) -> str:
    return f"step {i} ({cls.__name__!r})"


def _day_window_problem(
    step: Step, windows: dict[Window, int], window_steps: list[int], later_windows: dict[Window, int]
) -> str | None:
    """``Sleep`` needs the window a *preceding* ``GetDayWindowIndices`` made ("Day indices for (12, 24)
    (base, period) not found" otherwise); other steps with a ``day_window`` (activity, gait) silently take
    the whole recording as one day, flagged only when the pipeline does window days.
    """
    i, cls, params = step
    day_window = _param(cls, params, "day_window")
    if day_window is inspect.Parameter.empty:
        return None
    where = _where(i, cls)
    strict = issubclass(cls, Sleep)
    key = _window_key(day_window)
    if day_window is None and strict:
        return (
            f"{where}: day_window is null, but {cls.__name__} needs a day window; set it to a window "
            "that a preceding GetDayWindowIndices step makes (e.g. [12, 24] with bases=12, periods=24)"
        )
    if key is None or key in windows or not (strict or window_steps):
        return None
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
    return message


def _temperature_problem(step: Step, reader: Step | None) -> str | None:
    """``DETACH``/``CtaWearDetection`` need temperature; a reader that statically gives none cannot provide it
    (readers whose files decide are checked when the pipeline runs, see :func:`check_step_inputs`)."""
    i, cls, _params = step
    if not issubclass(cls, (DETACH, CtaWearDetection)) or reader is None:
        return None
    r_i, r_cls, r_params = reader
    entry = reader_for_class(r_cls)
    if entry is None or entry.reads_temperature(r_params) is not False:
        return None
    return (
        f"{_where(i, cls)}: needs temperature, but the reader (step {r_i}, {r_cls.__name__!r}) reads no "
        "temperature column; add 'temperature' to its column_names, or use a wear detection "
        "without temperature (AccelThresholdWearDetection)"
    )


def order_problems(steps: list[Step]) -> list[str]:
    """SKDH traps decided from step order and parameters alone, in step order."""
    problems: list[str] = []
    windows: dict[Window, int] = {}  # window -> first step making it, so far
    later_windows: dict[Window, int] = {}
    for i, cls, params in steps:
        if issubclass(cls, GetDayWindowIndices):
            for key in _day_windows(params):
                later_windows.setdefault(key, i)
    window_steps: list[int] = []
    classifier: int | None = None  # last gait classifier step so far
    supervised: int | None = None  # last SupervisedGaitBout declaration so far
    reader: Step | None = None
    for step in steps:
        i, cls, params = step
        if reader_for_class(cls) is not None:
            reader = step
        found = (
            _day_window_problem(step, windows, window_steps, later_windows),
            gait_traps.bouts_problem(step, classifier, supervised),
            gait_traps.units_problem(step, reader),
            _temperature_problem(step, reader),
        )
        problems += [p for p in found if p is not None]
        if issubclass(cls, GetDayWindowIndices):
            window_steps.append(i)
            for key in _day_windows(params):
                windows.setdefault(key, i)
        classifier, supervised = gait_traps.order_state(cls, i, classifier, supervised)
    return problems


# ---------------------------------------------------------------- traps that depend on the file


def n_samples(kwargs: Mapping) -> int | None:
    time = kwargs.get("time")
    return int(time.shape[0]) if isinstance(time, np.ndarray) and time.ndim == 1 else None


def _fs(kwargs: Mapping) -> float:
    """Sampling rate as SKDH's steps take it: ``fs`` if given, else from the timestamps (APDM gives no fs)."""
    fs = kwargs.get("fs")
    if fs is not None:
        return float(fs)
    return float(1.0 / np.mean(np.diff(kwargs["time"])))


def check_step_inputs(i: int, proc: BaseProcess, kwargs: Mapping) -> None:
    """Traps that depend on the file, checked just before the step; raises :class:`PipelineRunError`."""
    gait_traps.check_gait_inputs(i, proc, kwargs)
    where = _where(i, type(proc))
    if isinstance(proc, (DETACH, CtaWearDetection)):
        n = n_samples(kwargs)
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


def calibration_record(
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
    applied = bool(result) and after.get("accel") is not accel
    return calibration_outcome(
        i, proc, hours=hours, result=result, applied=applied, apply_requested=before.get("apply", True) is not False
    )


def calibration_outcome(
    i: int, proc: CalibrateAccelerometer, *, hours: float, result: Mapping | None, applied: bool, apply_requested: bool
) -> tuple[dict, str | None]:
    """The row and note of :func:`calibration_record` from the facts alone (the day-piece fit has no whole arrays)."""
    result = dict(result or {})
    reason = None
    if not result:
        reason = f"the recording is {hours:.2f} h long and calibration needs at least {proc.min_hours} h (min_hours)"
    elif not applied:
        reason = (
            "it was run with apply=False"
            if not apply_requested
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
            f"step {i} ({type(proc).__name__!r}) skipped: {reason}; the steps after it used uncalibrated "
            "acceleration (recorded in its results: applied = false)"
        )
    return record, note
