"""Synthetic day-long wrist recording for the demo study, written as a GENEActiv ``.bin``.

The real device files in ``../shared/data/skdh-samples/`` are minutes long, and
sleep, wear and activity endpoints need at least a full day with a night in it.
This module makes one: a seeded, reproducible wrist accelerometer recording that
follows a fixed daily plan (:data:`DAY_PLAN`), written in the format of a real
GENEActiv so the demo goes through SKDH's own reader (``skdh.io.ReadBin``).

Signal model (g, device frame) per activity kind, tuned against SKDH 0.17.18:

* ``sleep``: the forearm rests in one generic posture (gravity not along an
  axis) for 8-50 min, then turns over in a few seconds; plus a sub-degree drift
  and ~8 twitches/h. Postures never last 60 min, so ``AccelThresholdWearDetection``
  (60-min windows; non-wear if std < 13 mg and range < 67 mg on 2 of 3 axes)
  sees the night as worn, while 5-s arm-angle changes stay below the 0.1 degree
  floor of Sleep's sleep-opportunity (HDCZA) threshold.
* ``bed_awake`` / ``bed_restless`` / ``night_wake``: lying with hand movements
  (Cole-Kripke scores wake); a short walk to the bathroom. Awakenings sit in
  the second half of the night, including ~25 min awake around a 7-min doze:
  rule (d) of Webster's rescoring applies there, so SKDH's defective rule (d)
  (see ``biomarker_assets.skdh_processes.sleep``) and the corrected one give
  different total sleep time on this file (by ~5 min; the defect's large
  effect, wiping the night, needs the night to be the first or second
  Cole-Kripke run of the noon-to-noon window, which a day with sedentary
  stretches does not give).
* ``sedentary``: desk/sofa; the arm angle wanders and fidgets continuously, so
  the day is never taken for rest; ENMO < 50 mg.
* ``light``: household/standing movement, ENMO ~50-110 mg.
* ``walk`` / ``run``: arm swing at stride frequency with swing and heel-strike
  accelerations; ENMO ~160 mg (moderate) and ~630 mg (vigorous) for SKDH's
  ``migueles_wrist_adult`` cut-points (110 / 440 mg).
* ``nonwear``: on a shelf, perfectly still (sensor noise only); temperature
  falls to room temperature. The still period (07:00-09:15) lies on SKDH's
  15-min window grid of a recording that starts on the hour, so the detected
  non-wear is predictable: still time minus 45 min (a 60-min window minus one
  15-min skip) = 90 min, i.e. 22.5 h of wear in 24 h.

Randomness (postures, twitches, fidgets, movement noise, cadence) comes only
from ``numpy.random.default_rng(seed)``; the plan's clock times are fixed so
tests can predict results.

GENEActiv ``.bin`` layout, checked against the real ``gnactv_sample.bin`` and
SKDH's C reader (``read_geneactiv.c``): a 59-line text header (the reader takes
the frequency from line 20 with ``strtol``, then, after ``Calibration Data``,
x/y/z gain and offset, ``Volts``, ``Lux``, and ``Number of Pages`` from line
58), then pages of 300 samples. A page is 9 text lines (``Recorded Data``,
serial, ``Sequence Number``, ``Page Time:YYYY-MM-DD hh:mm:ss:mmm``,
``Unassigned``, ``Temperature``, ``Battery voltage``, ``Device Status``,
``Measurement Frequency``) and one line of 3600 hex digits: per sample 12-bit
two's-complement x, y, z (``g = (raw * 100 - offset) / gain``) and 12 bits of
10-bit light (``lux = floor(raw * Lux / Volts)``), button and a reserved bit.
The reader stamps sample j of a page with page time + j / fs and the page
temperature, so time round-trips exactly (page times are whole milliseconds at
the usual rates) and temperature as the 0.1 C page mean.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import butter, lfilter, sosfilt

from biomarker_assets.lib.skdh.version import SKDH_VERSION as _SKDH_VERSION

__all__ = [
    "DAY_PLAN",
    "GN_PAGE_SAMPLES",
    "WRIST_PIPELINE_SPEC",
    "day_seed",
    "generate_wrist_day",
    "generate_wrist_days",
    "make_demo_wrist_file",
    "write_geneactiv_bin",
]

GN_PAGE_SAMPLES = 300

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


# ---------------------------------------------------------------------------
# signal building blocks
# ---------------------------------------------------------------------------
def _ou(rng, n: int, fs: float, tau: float, sigma: float) -> np.ndarray:
    """Ornstein-Uhlenbeck path sampled at ``fs`` (stationary start)."""
    a = math.exp(-1.0 / (fs * tau))
    e = rng.standard_normal(n) * sigma * math.sqrt(1 - a * a)
    zi = np.array([a * rng.standard_normal() * sigma])
    return lfilter([1.0], [1.0, -a], e, zi=zi)[0]


def _coarse_to_fine(x: np.ndarray, n: int, factor: float) -> np.ndarray:
    """Linear interpolation of a path sampled every ``factor`` samples onto n samples."""
    return np.interp(np.arange(n) / factor, np.arange(x.size), x)


def _band_noise(rng, n: int, fs: float, lo: float, hi: float, rms: float) -> np.ndarray:
    """(n, 3) band-limited Gaussian noise with the given per-axis RMS."""
    hi = min(hi, 0.45 * fs)
    sos = butter(2, [lo, hi], btype="band", fs=fs, output="sos")
    w = sosfilt(sos, rng.standard_normal((n + int(5 * fs), 3)), axis=0)[int(5 * fs) :]
    return w * (rms / max(w.std(), 1e-12))


def _on_off(rng, n: int, fs: float, mean_on: float, mean_off: float) -> np.ndarray:
    """0/1 envelope of alternating bursts (exponential durations, seconds)."""
    env = np.zeros(n)
    i, on = 0, bool(rng.random() < mean_on / (mean_on + mean_off))
    while i < n:
        d = int(max(1, rng.exponential(mean_on if on else mean_off) * fs))
        if on:
            env[i : i + d] = 1.0
        i += d
        on = not on
    # soften edges so bursts do not add clicks
    k = max(1, int(0.3 * fs))
    return np.convolve(env, np.ones(k) / k, "same")


def _generic_posture(rng, lying: bool) -> tuple[float, float]:
    """Random pitch/roll (rad); lying postures keep gravity off every device axis.

    A posture with one axis along gravity leaves that axis flat under small
    tilts, and SKDH's Sleep treats any axis with a 30-min SD < 1 mg as non-wear.
    """
    while True:
        pitch = rng.uniform(-55, 55) if lying else rng.uniform(5, 45)
        roll = rng.uniform(-150, 150) if lying else rng.uniform(-45, 45)
        g = _gravity(np.radians([pitch]), np.radians([roll]))[0]
        if np.abs(g).min() > 0.2 or not lying:
            return math.radians(pitch), math.radians(roll)


def _gravity(pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Unit gravity vector in the device frame for forearm pitch and wrist roll."""
    cp = np.cos(pitch)
    return np.column_stack((-np.sin(pitch), cp * np.sin(roll), cp * np.cos(roll)))


# ---------------------------------------------------------------------------
# kinds: each returns (pitch, roll, dynamic) for n samples
# ---------------------------------------------------------------------------
def _sleep(rng, n, fs):
    pitch = np.empty(n)
    roll = np.empty(n)
    dyn = np.zeros((n, 3))
    i = 0
    prev = None
    while i < n:
        dur = int(np.clip(rng.exponential(28.0), 8.0, 50.0) * 60 * fs)
        post = _generic_posture(rng, lying=True)
        stop = min(n, i + dur)
        pitch[i:stop], roll[i:stop] = post
        if prev is not None:
            # turning over: a few seconds of movement from the old into the new posture
            m = min(stop - i, int(rng.uniform(3, 8) * fs))
            w = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, m))
            pitch[i : i + m] = prev[0] + (post[0] - prev[0]) * w
            roll[i : i + m] = prev[1] + (post[1] - prev[1]) * w
            env = np.sin(np.linspace(0, np.pi, m))[:, None]
            dyn[i : i + m] += _band_noise(rng, m, fs, 0.5, 6.0, 0.12) * env
        prev = post
        i = stop

    # slow drift: a few sub-degree sinusoids with 15-60 min periods per angle
    t = np.arange(n) / fs
    for ang in (pitch, roll):
        for _ in range(3):
            ang += np.radians(rng.uniform(0.4, 0.9)) * np.sin(
                2 * np.pi * t / rng.uniform(900, 3600) + rng.uniform(0, 2 * np.pi)
            )

    # twitches: brief (1-4 s) jerks, ~8 per hour
    n_tw = rng.poisson(8 * n / (3600 * fs))
    for c in rng.integers(0, n, n_tw):
        m = int(rng.uniform(1, 4) * fs)
        seg = slice(c, min(n, c + m))
        k = seg.stop - seg.start
        bump = np.sin(np.linspace(0, np.pi, k))
        pitch[seg] += np.radians(rng.uniform(-4, 4)) * bump
        roll[seg] += np.radians(rng.uniform(-4, 4)) * bump
        dyn[seg] += _band_noise(rng, k, fs, 1.0, 8.0, 0.05) * bump[:, None]
    return pitch, roll, dyn


def _bed_awake(rng, n, fs):
    p0, r0 = _generic_posture(rng, lying=True)
    step = max(1, int(fs))  # 1 Hz coarse path
    nc = n // step + 2
    pitch = p0 + _coarse_to_fine(_ou(rng, nc, 1.0, 60.0, math.radians(1.5)), n, step)
    roll = r0 + _coarse_to_fine(_ou(rng, nc, 1.0, 60.0, math.radians(1.5)), n, step)
    dyn = _band_noise(rng, n, fs, 0.5, 5.0, 0.10) * _on_off(rng, n, fs, 8.0, 6.0)[:, None]
    return pitch, roll, dyn


def _sedentary(rng, n, fs):
    step = max(1, int(fs / 10))  # 10 Hz coarse path
    nc = n // step + 2
    base_p = np.empty(nc)
    base_r = np.empty(nc)
    i = 0
    while i < nc:
        d = int(rng.uniform(60, 360) * 10)
        p, r = _generic_posture(rng, lying=False)
        base_p[i : i + d], base_r[i : i + d] = p, r
        i += d
    k = 20  # 2-s transitions between postures
    base_p = np.convolve(np.pad(base_p, k, mode="edge"), np.ones(k) / k, "same")[k:-k]
    base_r = np.convolve(np.pad(base_r, k, mode="edge"), np.ones(k) / k, "same")[k:-k]
    pitch = base_p + _ou(rng, nc, 10.0, 4.0, math.radians(6.0))
    roll = base_r + _ou(rng, nc, 10.0, 4.0, math.radians(8.0))
    pitch = _coarse_to_fine(pitch, n, step)
    roll = _coarse_to_fine(roll, n, step)
    dyn = _band_noise(rng, n, fs, 2.0, 8.0, 0.02) * _on_off(rng, n, fs, 20.0, 20.0)[:, None]
    # fidgeting: reaching for the mouse, phone or a cup every ~12 s, 1-3 s each
    n_f = rng.poisson(n / (12.0 * fs))
    for c in rng.integers(0, n, n_f):
        m = int(rng.uniform(1, 3) * fs)
        seg = slice(c, min(n, c + m))
        kk = seg.stop - seg.start
        bump = np.sin(np.linspace(0, np.pi, kk))
        pitch[seg] += np.radians(rng.choice([-1, 1]) * rng.uniform(10, 35)) * bump
        roll[seg] += np.radians(rng.choice([-1, 1]) * rng.uniform(10, 40)) * bump
        dyn[seg] += _band_noise(rng, kk, fs, 1.0, 6.0, 0.10) * bump[:, None]
    return pitch, roll, dyn


def _bed_restless(rng, n, fs):
    """A brief arousal in bed: lying, shifting and scratching for a minute or two."""
    pitch, roll, dyn = _bed_awake(rng, n, fs)
    dyn += _band_noise(rng, n, fs, 0.5, 6.0, 0.15)
    return pitch, roll, dyn


def _light(rng, n, fs):
    step = max(1, int(fs / 10))
    nc = n // step + 2
    pitch = math.radians(rng.uniform(-20, 20)) + _ou(rng, nc, 10.0, 3.0, math.radians(25.0))
    roll = math.radians(rng.uniform(-20, 20)) + _ou(rng, nc, 10.0, 3.0, math.radians(30.0))
    pitch = _coarse_to_fine(pitch, n, step)
    roll = _coarse_to_fine(roll, n, step)
    dyn = _band_noise(rng, n, fs, 0.5, 5.0, 0.11) * (0.4 + _on_off(rng, n, fs, 15.0, 10.0)[:, None])
    return pitch, roll, dyn


def _gait(rng, n, fs, stride_hz, swing_deg, a_swing, a_heel, noise, arm_pitch):
    """Arm swing at stride frequency, heel strikes at step frequency."""
    # cadence wanders a little; integrate the frequency for a continuous phase
    f = stride_hz + _coarse_to_fine(_ou(rng, n // int(fs) + 2, 1.0, 20.0, 0.03), n, fs)
    phase = 2 * np.pi * np.cumsum(f) / fs + rng.uniform(0, 2 * np.pi)
    swing = np.radians(swing_deg) * np.sin(phase)
    pitch = math.radians(arm_pitch) + swing
    roll = math.radians(rng.uniform(-15, 15)) + 0.15 * np.sin(phase + 0.6)
    dyn = np.zeros((n, 3))
    # tangential (z) and centripetal (x) swing accelerations
    dyn[:, 2] += a_swing * np.sin(phase + np.pi)
    dyn[:, 0] -= 0.5 * a_swing * (1 - np.cos(2 * phase)) / 2
    # heel strikes: short sharp pulses twice per stride, along gravity
    pulse = np.maximum(np.cos(2 * phase), 0) ** 8
    g = _gravity(pitch, roll)
    dyn += a_heel * pulse[:, None] * g
    dyn += _band_noise(rng, n, fs, 1.0, 10.0, noise)
    return pitch, roll, dyn


def _walk(rng, n, fs):
    return _gait(rng, n, fs, rng.uniform(0.9, 1.0), 22.0, 0.32, 0.55, 0.05, rng.uniform(-5, 10))


def _run(rng, n, fs):
    return _gait(rng, n, fs, rng.uniform(1.35, 1.45), 30.0, 0.9, 1.6, 0.12, rng.uniform(45, 65))


def _nonwear(rng, n, fs):
    # face up on a shelf: fixed orientation, no movement
    p, r = math.radians(rng.uniform(-3, 3)), math.radians(rng.uniform(-3, 3))
    return np.full(n, p), np.full(n, r), np.zeros((n, 3))


_KINDS = {
    "sleep": _sleep,
    "bed_awake": _bed_awake,
    "bed_restless": _bed_restless,
    "night_wake": _light,
    "sedentary": _sedentary,
    "light": _light,
    "walk": _walk,
    "run": _run,
    "nonwear": _nonwear,
}


def _temperature(segments, n, fs, rng) -> np.ndarray:
    """Skin/room temperature: a 10-min first-order response to each kind's target."""
    n_s = math.ceil(n / fs)
    target = np.empty(n_s)
    for i0, i1, kind in segments:
        target[int(i0 // fs) : math.ceil(i1 / fs)] = _SKIN_TEMP_C[kind]
    a = math.exp(-1.0 / 600.0)
    temp = lfilter([1 - a], [1, -a], target, zi=[a * target[0]])[0]
    temp += _ou(rng, n_s, 1.0, 1800.0, 0.15)
    return np.interp(np.arange(n) / fs, np.arange(n_s), temp)


def _light_lux(segments, t0: pd.Timestamp, n, fs, rng) -> np.ndarray:
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
        p, r, d = _KINDS[kind](rng, i1 - i0, fs)
        pitch[i0:i1], roll[i0:i1], dyn[i0:i1] = p, r, d

    accel = _gravity(pitch, roll)
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


_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


def _fmt_page_time(t: float) -> str:
    dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=round(t * 1000))
    return dt.strftime("%Y-%m-%d %H:%M:%S:") + f"{dt.microsecond // 1000:03d}"


def write_geneactiv_bin(
    path,
    time,
    accel,
    temperature,
    fs,
    *,
    light=None,
    gains=(25640, 25385, 25110),
    offsets=(212, -930, 154),
    volts=42,
    lux=886,
    serial="990017",
    subject_code="DEMO-001",
    location="left wrist",
    time_zone="GMT +00:00",
) -> Path:
    """Write a GENEActiv ``.bin`` that ``skdh.io.ReadBin`` reads back.

    ``time`` are naive local unix seconds (SKDH's convention) and must be
    regular at ``fs``; only each page's first time stamp is stored, as on the
    device. Accel is stored as 12-bit counts through ``gains``/``offsets``
    (resolution 100/gain, about 3.9 mg; range about +-8 g, clipped), the page
    temperature as the page mean to 0.1 C, and light to the sensor's
    ``Lux / Volts`` step. A last partial page is padded by repeating the final
    sample, as a device always writes whole pages; the reader returns the
    padded length.
    """
    path = Path(path)
    time = np.asarray(time, dtype=float)
    accel = np.asarray(accel, dtype=float)
    temperature = np.asarray(temperature, dtype=float)
    n = time.size
    if accel.shape != (n, 3) or temperature.shape != (n,):
        raise ValueError("accel must be (n, 3) and temperature (n,) for n time stamps")
    if light is not None and np.shape(light) != (n,):
        raise ValueError("light must be (n,) for n time stamps")
    if n == 0:
        raise ValueError("no samples to write")
    if not float(fs).is_integer():
        # the reader takes the header frequency with strtol and would warn on every file
        raise ValueError("GENEActiv headers hold an integer frequency; fs must be whole Hz")
    fs = float(fs)
    if n > 1 and not np.allclose(np.diff(time), 1 / fs, atol=1e-6):
        raise ValueError("time must be regular at fs; pages store one time stamp each")

    n_pages = -(-n // GN_PAGE_SAMPLES)
    pad = n_pages * GN_PAGE_SAMPLES - n
    if pad:
        accel = np.concatenate((accel, np.repeat(accel[-1:], pad, axis=0)))
        temperature = np.concatenate((temperature, np.repeat(temperature[-1:], pad)))
    light_arr = np.zeros(accel.shape[0]) if light is None else np.asarray(light, dtype=float)
    if pad and light is not None:
        light_arr = np.concatenate((light_arr, np.repeat(light_arr[-1:], pad)))

    gains_a = np.asarray(gains, dtype=float)
    offsets_a = np.asarray(offsets, dtype=float)
    raw = np.rint((accel * gains_a + offsets_a) / 100.0).astype(np.int64)
    np.clip(raw, -2048, 2047, out=raw)
    light_raw = np.clip(np.floor(light_arr * volts / lux), 0, 1023).astype(np.int64)
    words = np.empty((raw.shape[0], 4), dtype=np.int64)
    words[:, :3] = raw & 0xFFF
    words[:, 3] = light_raw << 2  # button and reserved bits 0
    nibbles = np.stack(((words >> 8) & 0xF, (words >> 4) & 0xF, words & 0xF), axis=-1)
    data = _HEX[nibbles.reshape(n_pages, GN_PAGE_SAMPLES * 12)]

    page_temp = temperature.reshape(n_pages, GN_PAGE_SAMPLES).mean(axis=1)
    battery = np.linspace(4.17, 3.98, n_pages)
    t_first = time[0]
    start_str = _fmt_page_time(t_first)
    extract_str = _fmt_page_time(t_first + n_pages * GN_PAGE_SAMPLES / fs + 3600)
    config_str = _fmt_page_time(t_first - 1800)
    cal_date = _fmt_page_time(t_first - 200 * 86400)
    period_h = math.ceil(n / fs / 3600)
    blank20 = "\x00" * 20
    blank100 = "\x00" * 100

    header = "\n".join(
        [
            "Device Identity",
            f"Device Unique Serial Code:{serial}",
            "Device Type:GENEActiv",
            "Device Model:1.1",
            "Device Firmware Version:Ver4.08a date14Jul14",
            f"Calibration Date:{cal_date}",
            "",
            "Device Capabilities",
            "Accelerometer Range:-8 to 8",
            "Accelerometer Resolution:0.0039",
            "Accelerometer Units:g",
            "Light Meter Range:0 to 5000",
            "Light Meter Resolution:5",
            "Light Meter Units:lux",
            "Temperature Sensor Range:0 to 70",
            "Temperature Sensor Resolution:0.1",
            "Temperature Sensor Units:deg. C",
            "",
            "Configuration Info",
            f"Measurement Frequency:{int(fs)} Hz",  # line 20, read by SKDH
            f"Measurement Period:{period_h} Hours",
            f"Start Time:{start_str}",
            f"Time Zone:{time_zone}",
            "",
            "Trial Info",
            "Study Centre:DEMO",
            "Study Code:DEMO",
            f"Investigator ID:{blank20}",
            f"Exercise Type:{blank20}",
            f"Config Operator ID:{blank20}",
            f"Config Time:{config_str}",
            f"Config Notes:{blank100}",
            "Extract Operator ID:",
            f"Extract Time:{extract_str}",
            "Extract Notes:(synthetic recording, biomarker_assets.local.wrist_recording)",
            "",
            "Subject Info",
            f"Device Location Code:{location}",
            f"Subject Code:{subject_code}",
            "Date of Birth:1900-1-1",
            "Sex:",
            "Height:",
            "Weight:",
            "Handedness Code:",
            f"Subject Notes:{blank100}",
            "",
            "Calibration Data",  # line 47
            f"x gain:{int(gains[0])}",
            f"x offset:{int(offsets[0])}",
            f"y gain:{int(gains[1])}",
            f"y offset:{int(offsets[1])}",
            f"z gain:{int(gains[2])}",
            f"z offset:{int(offsets[2])}",
            f"Volts:{int(volts)}",
            f"Lux:{int(lux)}",
            "",
            "Memory Status",
            f"Number of Pages:{n_pages}",  # line 58
            "",
        ]
    )
    parts = [header.encode("ascii"), b"\n"]
    page_dt = GN_PAGE_SAMPLES / fs
    for p in range(n_pages):
        page_head = (
            "Recorded Data\n"
            f"Device Unique Serial Code:{serial}\n"
            f"Sequence Number:{p}\n"
            f"Page Time:{_fmt_page_time(t_first + p * page_dt)}\n"
            "Unassigned:\n"
            f"Temperature:{page_temp[p]:.1f}\n"
            f"Battery voltage:{battery[p]:.4f}\n"
            "Device Status:Recording\n"
            f"Measurement Frequency:{fs:.1f}\n"
        )
        parts.append(page_head.encode("ascii"))
        parts.append(data[p].tobytes())
        parts.append(b"\n")
    path.write_bytes(b"".join(parts))
    return path


def make_demo_wrist_file(path, hours: float = 24.0, fs: float = 50.0, seed: int = 0) -> Path:
    """Generate the demo recording and write it as a GENEActiv ``.bin`` at ``path``."""
    rec = generate_wrist_day(hours=hours, fs=fs, seed=seed)
    return write_geneactiv_bin(path, rec["time"], rec["accel"], rec["temperature"], rec["fs"], light=rec["light"])


def _step(process: str, module: str, parameters: dict, package: str = "skdh") -> dict:
    return {
        "name": process,
        "process": process,
        "package": package,
        "module": module,
        "parameters": parameters,
        "save_file": None,
        "plot_file": None,
    }


# The wrist demo pipeline in the structure ``skdh.Pipeline.save`` writes, with
# every parameter spelled out as SKDH records it (defaults pinned for provenance;
# the cut-points are the resolved ``migueles_wrist_adult`` values). Choices:
# - no CalibrateAccelerometer: it needs 12-72 h of data;
# - AccelThresholdWearDetection must keep save_file None (a save_file crashes
#   the run); DETACH is not used (it needs a realistic temperature model);
# - Sleep and ActivityLevelClassification each look their day window up in
#   ``day_ends`` by (base, period) and fail without it. Sleep defaults to
#   (12, 24), activity to (0, 24); both use (12, 24) here, so a noon-to-noon
#   recording is one day for both and one GetDayWindowIndices window serves both;
# - SleepCorrected runs before ActivityLevelClassification: activity splits its
#   endpoints into wake and sleep only if the ``sleep`` indices that Sleep
#   returns are already in the pipeline's kwargs (otherwise it warns and
#   reports the whole day as wake).
WRIST_PIPELINE_SPEC: dict = {
    "Steps": [
        _step(
            "ReadBin",
            "io.geneactiv",
            {"trim_keys": None, "trim_start_factor": None, "ext_error": "warn"},
        ),
        _step(
            "AccelThresholdWearDetection",
            "preprocessing.wear_detection",
            {
                "sd_crit": 0.013,
                "range_crit": 0.067,
                "apply_setup_criteria": True,
                "shipping_criteria": [0, 0],
                "shipping_temperature": False,
                "window_length": 60,
                "window_skip": 15,
            },
        ),
        _step("GetDayWindowIndices", "preprocessing.window_days", {"bases": 12, "periods": 24}),
        _step(
            "SleepCorrected",
            "skdh_processes.sleep",
            {
                "start_buffer": 0,
                "stop_buffer": 0,
                "internal_wear_temp_thresh": 25.0,
                "internal_wear_move_thresh": 0.001,
                "min_rest_block": 30,
                "max_activity_break": 60,
                "tso_min_thresh": 0.1,
                "tso_max_thresh": 1.0,
                "tso_perc": 10,
                "tso_factor": 15.0,
                "min_rest_period": None,
                "nonwear_move_thresh": None,
                "min_wear_time": 0,
                "min_day_hours": 6,
                "downsample": True,
                "downsample_aa_filter": True,
                "day_window": (12, 24),
                "save_per_minute_results": False,
                "add_active_time": 0.0,
            },
            package="biomarker_assets",
        ),
        _step(
            "ActivityLevelClassification",
            "activity.core",
            {
                "short_wlen": 5,
                "max_accel_lens": [6, 15, 60],
                "bout_lens": [1, 5, 10],
                "bout_criteria": 0.8,
                "bout_metric": 4,
                "closed_bout": False,
                "wear_wake_times_round": None,
                "min_wear_time": 10,
                "cutpoints": {
                    "metric": "metric_enmo",
                    "kwargs": {"take_abs": False, "trim_zero": True},
                    "sedentary": 0.05,
                    "light": 0.11,
                    "moderate": 0.44,
                },
                "day_window": (12, 24),
                "save_epoch_data": False,
            },
        ),
    ],
    "Version": _SKDH_VERSION,
}
