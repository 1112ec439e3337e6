"""Synthetic day-long wrist recording for the demo study: the daily plan and the day it makes.

The real device files in ``../shared/data/skdh-samples/`` are minutes long, and
sleep, wear and activity endpoints need at least a full day with a night in it.
This module makes one: a seeded, reproducible wrist accelerometer recording that
follows a fixed daily plan (:data:`DAY_PLAN`), with skin temperature and ambient
light. What each kind of the plan looks like to the sensor (and why, in SKDH's
terms) is in :mod:`biomarker_assets.local.wrist_signals`; the demo writes the
day as a GENEActiv ``.bin`` (:mod:`biomarker_assets.local.geneactiv_bin`) so it
goes through SKDH's own reader (``skdh.io.ReadBin``).

Randomness (postures, twitches, fidgets, movement noise, cadence) comes only
from ``numpy.random.default_rng(seed)``; the plan's clock times are fixed so
tests can predict results.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from biomarker_assets.local.wrist_signals import KIND_MODELS, gravity, ou_path

__all__ = [
    "DAY_PLAN",
    "day_seed",
    "generate_wrist_day",
    "generate_wrist_days",
]

# (clock time, kind): each kind lasts until the next entry; the plan repeats daily.
DAY_PLAN: tuple[tuple[str, str], ...] = (
    ("00:00", "sleep"),
    # awakenings cluster in the second half of the night: a bathroom trip, then
    # lying awake with a short doze in the middle, then a brief restless spell
    ("04:50", "night_wake"),
    ("04:56", "bed_awake"),
    ("05:08", "sleep"),
    ("05:15", "bed_awake"),
    ("05:27", "sleep"),
    ("06:05", "bed_restless"),
    ("06:07", "sleep"),
    ("06:40", "light"),
    ("07:00", "nonwear"),  # off for the shower, left on the shelf until 09:15
    ("09:15", "sedentary"),
    ("10:30", "walk"),
    ("10:40", "light"),
    ("11:00", "sedentary"),
    ("12:00", "light"),
    ("12:30", "walk"),
    ("12:45", "sedentary"),
    ("15:30", "light"),
    ("16:00", "sedentary"),
    ("17:30", "walk"),
    ("17:35", "run"),
    ("17:55", "light"),
    ("18:30", "sedentary"),
    ("22:40", "light"),
    ("23:00", "bed_awake"),
    ("23:20", "sleep"),
)

_SENSOR_NOISE_G = 0.0025
_ROOM_TEMP_C = 22.5
_SKIN_TEMP_C = {
    "sleep": 33.8,
    "bed_awake": 33.4,
    "bed_restless": 33.6,
    "night_wake": 32.8,
    "sedentary": 32.0,
    "light": 31.6,
    "walk": 30.8,
    "run": 31.2,
    "nonwear": _ROOM_TEMP_C,
}


# ---------------------------------------------------------------------------
# plan -> segments
# ---------------------------------------------------------------------------
def _plan_segments(t0: pd.Timestamp, hours: float, fs: float) -> list[tuple[int, int, str]]:
    """Sample-index segments of the daily plan over [t0, t0 + hours)."""
    n = round(hours * 3600 * fs)
    t_end = t0 + pd.Timedelta(hours=hours)
    day0 = t0.normalize() - pd.Timedelta(days=1)
    n_days = math.ceil(hours / 24) + 2
    marks: list[tuple[pd.Timestamp, str]] = []
    for d in range(n_days + 1):
        for clock, kind in DAY_PLAN:
            hh, mm = (int(x) for x in clock.split(":"))
            marks.append((day0 + pd.Timedelta(days=d, hours=hh, minutes=mm), kind))

    segments: list[tuple[int, int, str]] = []
    for (start, kind), (stop, _) in itertools.pairwise(marks):
        start, stop = max(start, t0), min(stop, t_end)
        if stop <= start:
            continue
        i0 = round((start - t0).total_seconds() * fs)
        i1 = min(round((stop - t0).total_seconds() * fs), n)
        if segments and segments[-1][2] == kind and segments[-1][1] == i0:
            segments[-1] = (segments[-1][0], i1, kind)
        elif i1 > i0:
            segments.append((i0, i1, kind))
    return segments


def _temperature(segments: list[tuple[int, int, str]], n: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    """Skin/room temperature: a 10-min first-order response to each kind's target."""
    n_s = math.ceil(n / fs)
    target = np.empty(n_s)
    for i0, i1, kind in segments:
        target[int(i0 // fs) : math.ceil(i1 / fs)] = _SKIN_TEMP_C[kind]
    a = math.exp(-1.0 / 600.0)
    temp = lfilter([1 - a], [1, -a], target, zi=[a * target[0]])[0]
    temp += ou_path(rng, n_s, 1.0, 1800.0, 0.15)
    return np.interp(np.arange(n) / fs, np.arange(n_s), temp)


def _light_lux(
    segments: list[tuple[int, int, str]], t0: pd.Timestamp, n: int, fs: float, rng: np.random.Generator
) -> np.ndarray:
    """Rough ambient light: dark nights, indoor days, daylight when walking or running."""
    lux = np.empty(n)
    for i0, i1, kind in segments:
        hour = (t0 + pd.Timedelta(seconds=i0 / fs)).hour
        if kind == "sleep":
            level = 0.0
        elif kind in ("bed_awake", "bed_restless", "night_wake"):
            level = 25.0
        elif kind in ("walk", "run"):
            level = 6000.0 if 9 <= hour < 16 else 1500.0
        elif kind == "nonwear":
            level = 120.0
        else:
            level = 400.0 if 7 <= hour < 18 else 150.0
        lux[i0:i1] = level
    return np.maximum(lux * np.exp(rng.normal(0, 0.1, n)), 0.0)


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------
def generate_wrist_day(
    hours: float = 24.0,
    fs: float = 50.0,
    seed: int = 0,
    start: str = "2024-03-04 12:00:00",
) -> dict:
    """Seeded synthetic wrist recording following :data:`DAY_PLAN`.

    Starting at noon puts a whole night inside a 24 h recording and lines the
    recording up with SKDH's default sleep day window (12:00 + 24 h).

    Returns ``time`` (naive local unix seconds, as SKDH's readers return them),
    ``accel`` ((n, 3) g), ``temperature`` (C), ``fs``, plus ``light`` (lux) and
    ``segments`` (list of ``(start_index, stop_index, kind)``) so tests can
    predict what SKDH should find.
    """
    if hours <= 0 or fs <= 0:
        raise ValueError("hours and fs must be positive")
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start)
    n = round(hours * 3600 * fs)
    segments = _plan_segments(t0, hours, fs)

    pitch = np.empty(n)
    roll = np.empty(n)
    dyn = np.empty((n, 3))
    for i0, i1, kind in segments:
        p, r, d = KIND_MODELS[kind](rng, i1 - i0, fs)
        pitch[i0:i1], roll[i0:i1], dyn[i0:i1] = p, r, d

    accel = gravity(pitch, roll)
    accel += dyn
    accel += rng.normal(0.0, _SENSOR_NOISE_G, (n, 3))

    time = t0.timestamp() + np.arange(n) / fs
    return {
        "time": time,
        "accel": accel,
        "temperature": _temperature(segments, n, fs, rng),
        "fs": float(fs),
        "light": _light_lux(segments, t0, n, fs, rng),
        "segments": segments,
    }


def day_seed(seed: int, day: int) -> int:
    """Seed of day ``day`` of a multi-day recording: day 0 is ``seed`` itself."""
    if day == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(day)]).generate_state(1)[0])


def generate_wrist_days(
    days: float = 7.0,
    fs: float = 50.0,
    seed: int = 0,
    start: str = "2024-03-04 12:00:00",
) -> Iterator[dict]:
    """A multi-day recording as consecutive 24 h chunks, one generated at a time.

    Each chunk is :func:`generate_wrist_day` for 24 h (the last one shorter when
    ``days`` is not whole) starting 24 h after the previous, seeded with
    :func:`day_seed`; so day 0 equals ``generate_wrist_day(24, fs, seed)``, every
    day follows :data:`DAY_PLAN`, and days differ in postures, twitches,
    fidgets and noise. Only one day is in memory at a time (about 0.6 GB at
    100 Hz), which is what lets a week be written in chunks. With the default
    noon start a chunk boundary is a plan boundary (12:00, ``light``), so
    joining chunks is no different from the kind changes within a day (the
    temperature restarts at the new kind's level: a step of < 0.5 C).
    ``segments`` and ``time`` are those of the chunk (indices from its start).
    """
    if days <= 0 or fs <= 0:
        raise ValueError("days and fs must be positive")
    t0 = pd.Timestamp(start)
    n_total = round(days * 86400 * fs)
    per_day = round(86400 * fs)
    for d in range(math.ceil(n_total / per_day)):
        n = min(per_day, n_total - d * per_day)
        chunk = generate_wrist_day(
            hours=n / fs / 3600,
            fs=fs,
            seed=day_seed(seed, d),
            start=str(t0 + pd.Timedelta(days=d)),
        )
        chunk["day"] = d
        yield chunk
