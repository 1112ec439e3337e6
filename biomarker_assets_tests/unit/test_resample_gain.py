"""Resample keeps the signal's level: unit gain in the pass band (issue #11, point 7).

SKDH's anti-alias filter has a DC gain of 0.9886, so 1 g became 0.9886 g and ENMO after a
resample was biased by ~-11 mg. The default filter must keep 1 g at 1 g and a pass-band
sine at its amplitude, still attenuate what lies above the target Nyquist, and the SKDH
filter stays available only when asked for.
"""

from __future__ import annotations

import numpy as np
import pytest
from skdh.utility.internal import apply_resample

from biomarker_assets.skdh_processes import Resample
from biomarker_assets.skdh_processes.resample import RESAMPLE_FIX_NOTE

T0 = 1.7e9


def _recording(fs: float, seconds: float = 60.0) -> np.ndarray:
    return T0 + np.arange(int(seconds * fs)) / fs


def _amplitude(t: np.ndarray, x: np.ndarray, f: float) -> float:
    """Amplitude of the ``f`` Hz component (least squares on sin/cos), away from the edges."""
    keep = slice(t.size // 10, -t.size // 10)
    basis = np.column_stack([np.sin(2 * np.pi * f * (t - T0)), np.cos(2 * np.pi * f * (t - T0))])[keep]
    coef, *_ = np.linalg.lstsq(basis, x[keep], rcond=None)
    return float(np.hypot(*coef))


@pytest.mark.parametrize("fs_in", [100.0, 98.4, 197.0])  # integer factor, an AX6's real clock, SKDH's gait file
def test_stationary_one_g_stays_one_g(fs_in):
    t = _recording(fs_in)
    accel = np.tile([0.0, 0.0, 1.0], (t.size, 1))
    n = t.size
    out = Resample(goal_fs=50.0).predict(time=t, accel=accel, wear=np.array([[0, n]]))
    t50, (a50,) = apply_resample(goal_fs=50.0, time=t, data=(accel,), indices=(), aa_filter=True)
    assert out["fs"] == 50.0 and np.array_equal(out["time"], t50)  # SKDH's time grid
    assert out["wear"].tolist() == [[0, t50.size]]
    assert np.abs(a50[:, 2] - 1.0).max() > 0.011  # SKDH's filter: 0.9886 g, the bug
    assert np.abs(out["accel"][:, 2] - 1.0).max() < 1e-3
    assert np.abs(out["accel"][:, :2]).max() < 1e-3


def test_skdh_filter_option_keeps_skdh_numbers_and_its_dc_loss():
    """The explicit option is SKDH's apply_resample bit for bit, shrinkage included (what its gait truth needs)."""
    t = _recording(98.4)
    accel = np.tile([0.0, 0.0, 1.0], (t.size, 1))
    out = Resample(goal_fs=50.0, skdh_filter=True).predict(time=t, accel=accel)
    t50, (a50,) = apply_resample(goal_fs=50.0, time=t, data=(accel,), indices=(), aa_filter=True)
    assert np.array_equal(out["time"], t50) and np.array_equal(out["accel"], a50)
    assert np.median(out["accel"][:, 2]) == pytest.approx(0.9886, abs=5e-4)


@pytest.mark.parametrize("fs_in", [100.0, 98.4])
@pytest.mark.parametrize("f", [0.5, 2.0, 8.0, 12.0])  # walking is 1-3 Hz; 12 Hz = 0.6 x the 20 Hz cut-off
def test_pass_band_sine_keeps_its_amplitude(fs_in, f):
    t = _recording(fs_in)
    accel = np.column_stack([0.5 * np.sin(2 * np.pi * f * (t - T0)), np.zeros(t.size), np.ones(t.size)])
    out = Resample(goal_fs=50.0).predict(time=t, accel=accel)
    assert _amplitude(out["time"], out["accel"][:, 0], f) == pytest.approx(0.5, rel=1e-2)


@pytest.mark.parametrize("fs_in", [100.0, 98.4])
def test_sine_above_target_nyquist_is_attenuated(fs_in):
    f = 30.0  # above 25 Hz, the Nyquist frequency of 50 Hz: it would alias to 20 Hz
    t = _recording(fs_in)
    accel = np.column_stack([0.5 * np.sin(2 * np.pi * f * (t - T0)), np.zeros(t.size), np.ones(t.size)])
    out = Resample(goal_fs=50.0).predict(time=t, accel=accel)
    assert _amplitude(out["time"], out["accel"][:, 0], 50.0 - f) < 0.5 * 0.02  # its alias, at 20 Hz
    assert np.std(out["accel"][len(out["accel"]) // 10 : -len(out["accel"]) // 10, 0]) < 0.5 * 0.02


def test_enmo_after_resample_is_not_biased():
    """A resting wrist (1 g plus sensor noise) has ENMO ~0 after resampling, as before it."""
    t = _recording(100.0, seconds=300.0)
    rng = np.random.default_rng(0)
    accel = np.tile([0.0, 0.6, 0.8], (t.size, 1)) + rng.normal(0.0, 0.004, (t.size, 3))
    out = Resample(goal_fs=50.0).predict(time=t, accel=accel)
    mean_norm = np.linalg.norm(out["accel"], axis=1).mean()
    assert abs(mean_norm - 1.0) < 1e-3  # SKDH's filter: 0.9886, i.e. -11 mg


def test_fix_is_recorded_for_provenance():
    assert Resample.PROVENANCE_NOTE == RESAMPLE_FIX_NOTE and "0.9886" in RESAMPLE_FIX_NOTE
    assert Resample()._kw["skdh_filter"] is False  # the parameter recorded in a saved pipeline


def test_piecewise_spline_equals_one_spline(monkeypatch):
    """Long recordings are splined in pieces (memory); the pieces must give the same numbers."""
    from scipy.interpolate import make_interp_spline

    from biomarker_assets.skdh_processes import resample

    t = _recording(98.4, seconds=30.0)
    x = np.random.default_rng(1).standard_normal((t.size, 3))
    t_new = T0 + np.arange(0, 29.9, 1 / 50.0)
    whole = make_interp_spline(t - T0, x, k=3, axis=0)(t_new - T0)
    monkeypatch.setattr(resample, "_SPLINE_CHUNK", 100)
    np.testing.assert_allclose(resample._spline(t - T0, x, t_new - T0), whole, rtol=0, atol=1e-12)
