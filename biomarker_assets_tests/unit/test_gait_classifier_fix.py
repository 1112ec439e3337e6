"""SKDH 0.17.18's gait classifier filters at the input rate after resampling to 50 Hz; the corrected class does not.

The crafted case: SKDH's lumbar walk resampled to 50 Hz (as SKDH's own test fixture does), then
interpolated onto a 100 Hz grid. Same movement, two rates: a classifier whose answer depends on
the file's rate rather than on the movement is wrong. SKDH's class finds 3 bouts at 50 Hz and 2
at 100 Hz; the corrected class finds the same 3 at both.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from skdh.context import PredictGaitLumbarLgbm
from skdh.utility.internal import apply_resample

from biomarker_assets.lib.biomarkers.processing import project_processes
from biomarker_assets.lib.skdh.errors import PipelineRunError
from biomarker_assets.lib.skdh.execution import run_pipeline
from biomarker_assets.lib.skdh.pipeline import load_pipeline
from biomarker_assets.lib.skdh.version import SKDH_VERSION
from biomarker_assets.skdh_processes.gait import GAIT_CLASSIFIER_FIX_NOTE, PredictGaitLumbarLgbmCorrected


def predict(cls: type, time: np.ndarray, accel: np.ndarray, fs: float) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls().predict(time=time, accel=accel, fs=fs)


@pytest.fixture(scope="module")
def walk(samples):
    """(t50, a50, t100, a100): SKDH's lumbar walk at 50 Hz and the same signal on a 100 Hz grid."""
    data = np.load(samples / "gait_input.npz")
    t50, (a50,), *_ = apply_resample(goal_fs=50.0, time=data["time"], data=(data["accel"],), indices=(), aa_filter=True)
    t100 = np.arange(t50[0], t50[-1], 0.01)
    a100 = np.stack([np.interp(t100, t50, a50[:, k]) for k in range(3)], axis=1)
    return t50, a50, t100, a100


def bouts_s(result: dict, t0: float) -> list[tuple[float, float]]:
    """Bouts as (start, stop) seconds from the recording's start, to 0.1 s."""
    starts, stops = result["Gait Bout Start"] - t0, result["Gait Bout Stop"] - t0
    return [(round(float(a), 1), round(float(b), 1)) for a, b in zip(starts, stops, strict=True)]


def test_skdh_classifier_depends_on_the_file_rate(walk):
    t50, a50, t100, a100 = walk
    at_50 = bouts_s(predict(PredictGaitLumbarLgbm, t50, a50, 50.0), t50[0])
    at_100 = bouts_s(predict(PredictGaitLumbarLgbm, t100, a100, 100.0), t50[0])
    assert at_50 == [(12.0, 15.0), (18.0, 48.0), (51.0, 69.0)]
    assert at_100 == [(18.0, 48.0), (54.0, 69.0)]  # the 0.125-2.5 Hz band cuts the step frequency


def test_corrected_classifier_finds_the_same_bouts_at_both_rates(walk):
    t50, a50, t100, a100 = walk
    skdh_50 = predict(PredictGaitLumbarLgbm, t50, a50, 50.0)
    fixed_50 = predict(PredictGaitLumbarLgbmCorrected, t50, a50, 50.0)
    fixed_100 = predict(PredictGaitLumbarLgbmCorrected, t100, a100, 100.0)
    for key in ("Gait Bout Start Index", "Gait Bout Stop Index", "Gait Bout Start", "Gait Bout Stop"):
        assert np.array_equal(fixed_50[key], skdh_50[key]), key  # at 50 Hz it is SKDH's class
    assert bouts_s(fixed_100, t50[0]) == bouts_s(skdh_50, t50[0])
    # indices point into the 100 Hz input
    assert np.allclose(t100[fixed_100["Gait Bout Start Index"]], skdh_50["Gait Bout Start"], atol=0.01)


def test_corrected_classifier_on_the_native_rate_recording(samples):
    """SKDH's walk at its native ~197 Hz: the corrected class finds the bouts SKDH finds at 50 Hz."""
    data = np.load(samples / "gait_input.npz")
    t = data["time"]
    fixed = predict(PredictGaitLumbarLgbmCorrected, t, data["accel"], 1 / np.mean(np.diff(t)))
    skdh_native = predict(PredictGaitLumbarLgbm, t, data["accel"], 1 / np.mean(np.diff(t)))
    assert bouts_s(fixed, t[0]) == [(12.0, 15.0), (18.0, 48.0), (51.0, 69.0)]
    assert bouts_s(skdh_native, t[0]) == [(18.0, 39.0), (42.0, 48.0), (54.0, 69.0)]


def _spec(classifier: tuple[str, str, str]) -> dict:
    process, package, module = classifier
    steps = [("ReadNumpyFile", "skdh", "io.numpy_compressed"), classifier, ("GaitLumbar", "skdh", "gait.core")]
    return {
        "Steps": [{"name": p, "process": p, "package": pk, "module": m, "parameters": {}} for p, pk, m in steps],
        "Version": SKDH_VERSION,
    }


SKDH_CLASSIFIER = ("PredictGaitLumbarLgbm", "skdh", "context.gait_classification")
FIXED_CLASSIFIER = ("PredictGaitLumbarLgbmCorrected", "biomarker_assets", "skdh_processes.gait")


def test_skdh_classifier_off_its_rate_is_refused_in_a_pipeline(samples):
    with pytest.raises(PipelineRunError, match=r"197\.10 Hz; SKDH 0\.17\.18's PredictGaitLumbarLgbm would design"):
        run_pipeline(load_pipeline(_spec(SKDH_CLASSIFIER)), samples / "gait_input.npz", height=1.88)
    results = run_pipeline(load_pipeline(_spec(FIXED_CLASSIFIER)), samples / "gait_input.npz", height=1.88)
    assert len(results["PredictGaitLumbarLgbmCorrected"]["Gait Bout Start"]) == 3
    assert len(results["GaitLumbar"]["Bout N"]) > 0


def test_fix_is_named_in_provenance_with_its_note():
    assert PredictGaitLumbarLgbmCorrected.PROVENANCE_NOTE == GAIT_CLASSIFIER_FIX_NOTE
    assert "\n" not in GAIT_CLASSIFIER_FIX_NOTE and "0.17.18" in GAIT_CLASSIFIER_FIX_NOTE
    assert project_processes(_spec(FIXED_CLASSIFIER)) == [
        f"skdh_processes.gait.PredictGaitLumbarLgbmCorrected: {GAIT_CLASSIFIER_FIX_NOTE}"
    ]
