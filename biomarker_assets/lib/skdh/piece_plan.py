"""Whether a pipeline spec can run in day pieces (memory flat in recording length), or why it runs whole.

Day-piece processing (``piecewise.run_pipeline_in_pieces``) reproduces a fixed set of steps whose
whole-recording state is small: wear detection (per-window statistics), day windows (a few
timestamps per day), and the per-day steps Sleep and ActivityLevelClassification, which SKDH
itself runs one day window at a time. Anything else (resampling, gait, other wear detections, a
step saving files) keeps the whole-file path, and this module says why in a sentence that goes
into provenance. Plain dict inspection: no SKDH import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["PiecePlan", "piece_plan"]

READERS = {("skdh", "ReadCwa"), ("skdh", "ReadBin")}
WEAR = {("skdh", "AccelThresholdWearDetection"), ("biomarker_assets", "AccelThresholdWearDetectionFast")}
DAYS = {("skdh", "GetDayWindowIndices")}
SLEEP = {("skdh", "Sleep"), ("biomarker_assets", "SleepCorrected")}
ACTIVITY = {("skdh", "ActivityLevelClassification"), ("biomarker_assets", "ActivityLevelClassificationFast")}
CALIBRATION = {("skdh", "CalibrateAccelerometer")}
DAY_STEPS = SLEEP | ACTIVITY
# SKDH's default day windows when a step's parameters leave day_window out
DEFAULT_DAY_WINDOW = {"Sleep": (12, 24), "SleepCorrected": (12, 24)}


@dataclass(frozen=True)
class PiecePlan:
    """The spec's steps by role (indices into ``Steps``); ``day_steps`` in pipeline order."""

    reader: int
    calibration: int | None
    wear: int | None
    days: int | None
    day_steps: tuple[int, ...]


def _key(step: Mapping[str, Any]) -> tuple[Any, Any]:
    return step.get("package"), step.get("process")


def _as_list(value: Any) -> list[int]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [int(v) for v in value]
    return [int(value)]


def _day_window(step: Mapping[str, Any]) -> tuple[int, int] | None:
    params = step.get("parameters") or {}
    value = params.get("day_window", DEFAULT_DAY_WINDOW.get(str(step.get("process")), (0, 24)))
    if value is None:
        return None
    base, period = _as_list(value)
    return base, period


def piece_plan(spec: Mapping[str, Any]) -> PiecePlan | str:
    """A :class:`PiecePlan` when every step of ``spec`` can run in day pieces, else the reason it runs whole."""
    steps = spec.get("Steps") if isinstance(spec, Mapping) else None
    if not isinstance(steps, list) or not steps:
        return "the spec has no steps"
    for i, step in enumerate(steps):
        if not isinstance(step, Mapping):
            return f"step {i} is not a mapping"
        if step.get("save_file") is not None or step.get("plot_file") is not None:
            return f"step {i} ({step.get('process')!r}) saves or plots files"
    if _key(steps[0]) not in READERS:
        return f"step 0 ({steps[0].get('process')!r}) is not a block-structured file reader (ReadCwa, ReadBin)"
    calibration = wear = days = None
    day_steps: list[int] = []
    windows: set[tuple[int, int]] = set()
    for i, step in enumerate(steps[1:], start=1):
        key, name = _key(step), step.get("process")
        if key in CALIBRATION:
            if i != 1:
                return f"step {i} ({name!r}): calibration runs in pieces only directly after the reader"
            calibration = i
        elif key in WEAR:
            if wear is not None or days is not None or day_steps:
                return f"step {i} ({name!r}): wear detection must come once, before day windows and per-day steps"
            wear = i
        elif key in DAYS:
            if days is not None or day_steps:
                return f"step {i} ({name!r}): day windows must come once, before the per-day steps"
            params = step.get("parameters") or {}
            if params.get("bases") is None or params.get("periods") is None:
                return f"step {i} ({name!r}): without bases and periods SKDH does not window days"
            bases, periods = _as_list(params["bases"]), _as_list(params["periods"])
            if len(bases) != len(periods):
                return f"step {i} ({name!r}): bases and periods differ in length"
            windows = set(zip(bases, periods, strict=True))
            days = i
        elif key in DAY_STEPS:
            if days is None:
                return f"step {i} ({name!r}) without GetDayWindowIndices before it sees the whole recording as one day"
            if _day_window(step) not in windows:
                return (
                    f"step {i} ({name!r}): its day_window {_day_window(step)} is not one GetDayWindowIndices makes "
                    f"({sorted(windows)}), so SKDH treats the whole recording as one day"
                )
            if [j for j in day_steps if _key(steps[j]) == key]:
                return f"step {i} ({name!r}) appears twice"
            day_steps.append(i)
        else:
            return f"step {i} ({name!r}) is not one day-piece processing reproduces (it needs the whole recording)"
    return PiecePlan(reader=0, calibration=calibration, wear=wear, days=days, day_steps=tuple(day_steps))
