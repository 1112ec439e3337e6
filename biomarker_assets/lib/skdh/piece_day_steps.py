"""Per-day steps of a day-piece run: SKDH's Sleep and ActivityLevelClassification on one day at a time.

Each day window is read alone (Sleep: plus a filter margin, and downsampled to 20 Hz exactly as the
whole recording would be, ``piece_days.downsample_window``), the step runs with ``day_ends`` holding
that day and ``wear``/``sleep`` in the day's indices (SKDH's interval code only compares and clips,
so shifting indices changes nothing), and the days are put together as the whole run numbers them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from skdh.activity import ActivityLevelClassification
from skdh.sleep import Sleep

from biomarker_assets.lib.skdh.piece_days import GOAL_FS, downsample_window, margin_samples
from biomarker_assets.lib.skdh.piece_source import PieceRun

__all__ = ["run_activity", "run_sleep"]


def _merge_days(parts: list[tuple[int, dict]]) -> dict:
    """Per-day results (one day each) -> one result as the whole run builds it; ``Day N`` is the global day."""
    merged: dict[str, Any] = {}
    for iday, res in parts:
        if "Day N" in res:
            res["Day N"] = [iday + 1 for _ in res["Day N"]] if isinstance(res["Day N"], list) else res["Day N"]
            if isinstance(res["Day N"], np.ndarray):
                res["Day N"] = np.full_like(res["Day N"], iday + 1)
        for k, v in res.items():
            merged.setdefault(k, []).append(v)
    out: dict[str, Any] = {}
    for k, values in merged.items():
        if isinstance(values[0], np.ndarray):
            out[k] = np.concatenate(values)
        elif isinstance(values[0], list):
            out[k] = [x for v in values for x in v]
        else:
            out[k] = values[-1]
    return out


def _step_kwargs(run: PieceRun, data: Mapping[str, Any], shift: int, **extra: Any) -> dict[str, Any]:
    """What the step would get in the whole run: the signal, the state (indices shifted into ``data``) and inputs."""
    kwargs = {**run.scalars, **run.state, **run.inputs, **data, **extra}
    for key in ("wear", "sleep"):
        if isinstance(kwargs.get(key), np.ndarray) and key not in extra:
            kwargs[key] = kwargs[key] - shift
    return kwargs


def run_sleep(run: PieceRun, proc: Sleep) -> dict:
    days = run.state["day_ends"][proc.day_key]
    wear = run.state.get("wear")
    if wear is None:  # SKDH warns once and assumes the whole recording worn
        warnings.warn(f"[{proc!s}] External wear detection not provided. Assuming 100% wear time.", stacklevel=2)
        wear = np.array([[0, run.n - 1]])
    downsample = run.fs != GOAL_FS and proc.downsample
    ratio = run.fs / GOAL_FS
    step = int(ratio) if int(ratio) == ratio and ratio > 1 else 1
    margin = margin_samples(run.fs) if downsample else 0
    sleep_idx = np.full((days.shape[0], 2), -1, dtype=np.int_)
    parts = []
    for iday, (a, b) in enumerate(days.tolist()):
        lo = max(0, a - margin)
        lo -= lo % step if downsample else 0
        hi = min(run.n, b + 1 + margin)
        data = run.read(lo, hi, ("time", "accel", "temperature"))
        day_wear = _day_wear(wear, a, b)
        if downsample:
            first, time, accel, temp, mapped = downsample_window(
                lo, data, fs=run.fs, time0=run.t_first, time_last=run.t_last, n_total=run.n,
                aa_filter=proc.aa_filter, indices={"day": np.array([a, b]), "wear": day_wear.ravel()},
            )  # fmt: skip
            signal = {"time": time, "accel": accel, "temperature": temp}
            day_local, wear_local, fs_call = mapped["day"] - first, mapped["wear"].reshape(-1, 2) - first, GOAL_FS
        else:
            first, signal, fs_call = lo, data, run.fs
            day_local, wear_local = np.array([a, b]) - lo, day_wear - lo
        kwargs = _step_kwargs(
            run, signal, first, fs=fs_call, wear=wear_local, day_ends={proc.day_key: day_local[None, :]}
        )
        kwargs, res = proc.predict(**kwargs)
        row = np.asarray(kwargs["sleep"])[0]
        if row[0] != -1:
            sleep_idx[iday] = [int((int(r) + first) * run.fs / fs_call) for r in row] if downsample else row + lo
            inside = [int(i) for i in sleep_idx[iday] if lo <= i < hi]  # the plot shades sleep from these times
            run.known.update((i, float(data["time"][i - lo])) for i in inside)
        parts.append((iday, dict(res)))
        del data, signal, kwargs
    if not parts:
        parts.append((0, _empty_day_result(run, proc, days)))
    result = _merge_days(parts)
    run.state.update(result)
    run.state["sleep"] = sleep_idx
    return result


def _day_wear(wear: np.ndarray, a: int, b: int) -> np.ndarray:
    """Wear bouts touching day [a, b], clipped to it: what ``get_day_index_intersection`` makes of all bouts.

    Bouts wholly outside the day clip to zero-length bouts at its edges, which only add zero-length
    exclusions; keeping one (when none touch the day) keeps "no wear this day" as it is.
    """
    touching = wear[(wear[:, 1] >= a) & (wear[:, 0] <= b)] if wear.size else wear
    if wear.size and not touching.size:
        return np.array([[a, a]])
    return np.clip(touching, a, b)


def run_activity(run: PieceRun, proc: ActivityLevelClassification) -> dict:
    days = run.state["day_ends"][proc.day_key]
    parts = []
    for iday, (a, b) in enumerate(days.tolist()):
        data = run.read(a, b + 1, ("time", "accel"))  # what SKDH's activity reads
        kwargs = _step_kwargs(run, data, a, fs=run.fs, day_ends={proc.day_key: np.array([[0, b - a]])})
        _, res = proc.predict(**kwargs)
        parts.append((iday, dict(res)))
        del data, kwargs
    if not parts:
        parts.append((0, _empty_day_result(run, proc, days)))
    return _merge_days(parts)


def _empty_day_result(run: PieceRun, proc: Any, days: np.ndarray) -> dict:
    """The step's result for a recording with no day window: run it on two samples with SKDH's (empty) days."""
    data = run.read(0, min(run.n, 2))
    fs = GOAL_FS if isinstance(proc, Sleep) else run.fs  # Sleep: nothing to downsample
    kwargs = _step_kwargs(run, data, 0, fs=fs, day_ends={proc.day_key: days})
    _, res = proc.predict(**kwargs)
    return dict(res)
