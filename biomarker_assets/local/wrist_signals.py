"""What each activity kind of the synthetic wrist day looks like to a wrist accelerometer.

Kept apart from the day planning in :mod:`biomarker_assets.local.wrist_recording`
because this is where the tuning lives: each model is shaped so a known SKDH
algorithm reads it a known way. Signal model (g, device frame) per kind, tuned
against SKDH 0.17.18:

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

Every model draws from the ``rng`` it is given, in a fixed order: changing a
model, or the order of its draws, changes every generated file after it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.signal import butter, lfilter, sosfilt

__all__ = ["KIND_MODELS", "KindSignal", "gravity", "ou_path"]

# (pitch, roll, dynamic): forearm pitch and wrist roll (rad, n) and non-gravity acceleration ((n, 3) g)
KindSignal = tuple[np.ndarray, np.ndarray, np.ndarray]


# ---------------------------------------------------------------------------
# signal building blocks
# ---------------------------------------------------------------------------
def ou_path(rng: np.random.Generator, n: int, fs: float, tau: float, sigma: float) -> np.ndarray:
    """Ornstein-Uhlenbeck path sampled at ``fs`` (stationary start)."""
    a = math.exp(-1.0 / (fs * tau))
    e = rng.standard_normal(n) * sigma * math.sqrt(1 - a * a)
    zi = np.array([a * rng.standard_normal() * sigma])
    return lfilter([1.0], [1.0, -a], e, zi=zi)[0]


def _coarse_to_fine(x: np.ndarray, n: int, factor: float) -> np.ndarray:
    """Linear interpolation of a path sampled every ``factor`` samples onto n samples."""
    return np.interp(np.arange(n) / factor, np.arange(x.size), x)


def _band_noise(rng: np.random.Generator, n: int, fs: float, lo: float, hi: float, rms: float) -> np.ndarray:
    """(n, 3) band-limited Gaussian noise with the given per-axis RMS."""
    hi = min(hi, 0.45 * fs)
    sos = butter(2, [lo, hi], btype="band", fs=fs, output="sos")
    w = sosfilt(sos, rng.standard_normal((n + int(5 * fs), 3)), axis=0)[int(5 * fs) :]
    return w * (rms / max(w.std(), 1e-12))


def _on_off(rng: np.random.Generator, n: int, fs: float, mean_on: float, mean_off: float) -> np.ndarray:
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


def _generic_posture(rng: np.random.Generator, lying: bool) -> tuple[float, float]:
    """Random pitch/roll (rad); lying postures keep gravity off every device axis.

    A posture with one axis along gravity leaves that axis flat under small
    tilts, and SKDH's Sleep treats any axis with a 30-min SD < 1 mg as non-wear.
    """
    while True:
        pitch = rng.uniform(-55, 55) if lying else rng.uniform(5, 45)
        roll = rng.uniform(-150, 150) if lying else rng.uniform(-45, 45)
        g = gravity(np.radians([pitch]), np.radians([roll]))[0]
        if np.abs(g).min() > 0.2 or not lying:
            return math.radians(pitch), math.radians(roll)


def gravity(pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Unit gravity vector in the device frame for forearm pitch and wrist roll."""
    cp = np.cos(pitch)
    return np.column_stack((-np.sin(pitch), cp * np.sin(roll), cp * np.cos(roll)))


# ---------------------------------------------------------------------------
# kinds: each returns (pitch, roll, dynamic) for n samples
# ---------------------------------------------------------------------------
def _sleep(rng: np.random.Generator, n: int, fs: float) -> KindSignal:
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


def _bed_awake(rng: np.random.Generator, n: int, fs: float) -> KindSignal:
    p0, r0 = _generic_posture(rng, lying=True)
    step = max(1, int(fs))  # 1 Hz coarse path
    nc = n // step + 2
    pitch = p0 + _coarse_to_fine(ou_path(rng, nc, 1.0, 60.0, math.radians(1.5)), n, step)
    roll = r0 + _coarse_to_fine(ou_path(rng, nc, 1.0, 60.0, math.radians(1.5)), n, step)
    dyn = _band_noise(rng, n, fs, 0.5, 5.0, 0.10) * _on_off(rng, n, fs, 8.0, 6.0)[:, None]
    return pitch, roll, dyn


def _sedentary(rng: np.random.Generator, n: int, fs: float) -> KindSignal:
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
    pitch = base_p + ou_path(rng, nc, 10.0, 4.0, math.radians(6.0))
    roll = base_r + ou_path(rng, nc, 10.0, 4.0, math.radians(8.0))
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


def _bed_restless(rng: np.random.Generator, n: int, fs: float) -> KindSignal:
    """A brief arousal in bed: lying, shifting and scratching for a minute or two."""
    pitch, roll, dyn = _bed_awake(rng, n, fs)
    dyn += _band_noise(rng, n, fs, 0.5, 6.0, 0.15)
    return pitch, roll, dyn


def _light(rng: np.random.Generator, n: int, fs: float) -> KindSignal:
    step = max(1, int(fs / 10))
    nc = n // step + 2
    pitch = math.radians(rng.uniform(-20, 20)) + ou_path(rng, nc, 10.0, 3.0, math.radians(25.0))
    roll = math.radians(rng.uniform(-20, 20)) + ou_path(rng, nc, 10.0, 3.0, math.radians(30.0))
    pitch = _coarse_to_fine(pitch, n, step)
    roll = _coarse_to_fine(roll, n, step)
    dyn = _band_noise(rng, n, fs, 0.5, 5.0, 0.11) * (0.4 + _on_off(rng, n, fs, 15.0, 10.0)[:, None])
    return pitch, roll, dyn


def _gait(
    rng: np.random.Generator,
    n: int,
    fs: float,
    stride_hz: float,
    swing_deg: float,
    a_swing: float,
    a_heel: float,
    noise: float,
    arm_pitch: float,
) -> KindSignal:
    """Arm swing at stride frequency, heel strikes at step frequency."""
    # cadence wanders a little; integrate the frequency for a continuous phase
    f = stride_hz + _coarse_to_fine(ou_path(rng, n // int(fs) + 2, 1.0, 20.0, 0.03), n, fs)
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
    g = gravity(pitch, roll)
    dyn += a_heel * pulse[:, None] * g
    dyn += _band_noise(rng, n, fs, 1.0, 10.0, noise)
    return pitch, roll, dyn


def _walk(rng: np.random.Generator, n: int, fs: float) -> KindSignal:
    return _gait(rng, n, fs, rng.uniform(0.9, 1.0), 22.0, 0.32, 0.55, 0.05, rng.uniform(-5, 10))


def _run(rng: np.random.Generator, n: int, fs: float) -> KindSignal:
    return _gait(rng, n, fs, rng.uniform(1.35, 1.45), 30.0, 0.9, 1.6, 0.12, rng.uniform(45, 65))


def _nonwear(rng: np.random.Generator, n: int, fs: float) -> KindSignal:
    # face up on a shelf: fixed orientation, no movement
    p, r = math.radians(rng.uniform(-3, 3)), math.radians(rng.uniform(-3, 3))
    return np.full(n, p), np.full(n, r), np.zeros((n, 3))


# kind -> model(rng, n_samples, fs); the plan's kinds are exactly these keys
KIND_MODELS: dict[str, Callable[[np.random.Generator, int, float], KindSignal]] = {
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
