"""The time column a reader returned, checked before any step uses it: a broken file says what is wrong.

Without these checks SKDH fails deep in a later step with messages that name no file problem:
reversed timestamps give SciPy's ``padlen`` error, constant ones ``OverflowError: cannot convert
float infinity to integer``, text ones a NumPy ``UFuncTypeError``, and times that are not Unix
seconds a ``MemoryError`` for petabytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from biomarker_assets.lib.skdh.errors import PipelineRunError

# Unix seconds a wearable recording can have: 1990-01-01 to 2100-01-01 UTC.
EARLIEST_S, LATEST_S = 631_152_000.0, 4_102_444_800.0


def _when(value: float) -> str:
    return str(np.datetime64(int(value), "s")) if EARLIEST_S <= value <= LATEST_S else f"{value:.6g}"


def time_problem(time: Any) -> str | None:
    """What is wrong with a reader's ``time`` (Unix seconds, one per sample), in a person's words; None if fine."""
    if time is None:
        return "the reader returned no timestamps ('time')"
    values = np.asarray(time)
    if values.ndim != 1:
        return f"the timestamps have shape {values.shape}, not one value per sample"
    if values.size < 2:
        return f"the file holds {values.size} sample(s): too short to process"
    if not (np.issubdtype(values.dtype, np.number) and not np.issubdtype(values.dtype, np.complexfloating)):
        return f"the timestamps are not numbers (type {values.dtype}, first value {str(values[0])[:40]!r})"
    values = values.astype(np.float64, copy=False)
    bad = ~np.isfinite(values)
    if bad.any():
        return (
            f"{int(bad.sum()):,} of {values.size:,} timestamps are missing or not finite "
            f"(first at sample {int(np.argmax(bad)):,})"
        )
    low, high = float(values.min()), float(values.max())
    if low < EARLIEST_S or high > LATEST_S:
        return (
            f"the timestamps run from {low:.6g} to {high:.6g}: not Unix seconds between 1990 and 2100 "
            "(wrong unit or a corrupt time column)"
        )
    steps = np.diff(values)
    if not (steps != 0).any():
        return f"every timestamp is the same ({_when(low)}): the sampling rate cannot be known"
    backwards = steps < 0
    if backwards.all() or (backwards.sum() > 0.5 * (steps != 0).sum()):
        return f"the timestamps run backwards ({_when(values[0])} first, {_when(values[-1])} last): reversed rows?"
    if backwards.any():
        first = int(np.argmax(backwards))
        return (
            f"the timestamps go back in time at {int(backwards.sum()):,} place(s) (first after sample {first:,}: "
            f"{_when(values[first])} then {_when(values[first + 1])})"
        )
    return None


def check_time(step: int, process: str, time: Any) -> None:
    """Raise :class:`PipelineRunError` naming the file problem when the reader's timestamps cannot be processed."""
    problem = time_problem(time)
    if problem is not None:
        raise PipelineRunError(f"step {step} ({process!r}) read this file, but {problem}")
