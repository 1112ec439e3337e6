"""The project's fast SKDH processes give SKDH's own results (relative difference <= 1e-12; wear: identical).

Truth is always SKDH 0.17.18 itself, run in the same test on the same input:
``skdh.utility.math.DFA``/``moving_max``/``moving_min`` for the helpers, and
``ActivityLevelClassification``/``AccelThresholdWearDetection`` for the processes,
on random signals, edge cases, SKDH's sample recording and a generated 24 h wrist day.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pytest
import skdh
from skdh.activity import ActivityLevelClassification
from skdh.preprocessing import AccelThresholdWearDetection
from skdh.utility.math import DFA, moving_max, moving_min

from biomarker_assets.lib.biomarkers.processing import project_processes
from biomarker_assets.lib.skdh.allowlist import resolve_process
from biomarker_assets.lib.skdh.pipeline import load_pipeline
from biomarker_assets.lib.skdh.validation import validate_pipeline_spec
from biomarker_assets.local.pipeline_specs import WRIST_PIPELINE_SPEC, bare_skdh_spec
from biomarker_assets.local.wrist_recording import generate_wrist_day
from biomarker_assets.skdh_processes import (
    PROJECT_PROCESSES,
    AccelThresholdWearDetectionFast,
    ActivityLevelClassificationFast,
)
from biomarker_assets.skdh_processes.activity import ActivityDFAFast, dfa_fast
from biomarker_assets.skdh_processes.wear import moving_max_fast, moving_min_fast

RTOL = 1e-12  # relative; NaN must be NaN in both


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty means, one-point fits: SKDH warns, so do we
        return fn(*args, **kwargs)


def _results(process, **kwargs) -> dict:
    """A process's results dict (``predict`` returns it alone or with the updated inputs)."""
    out = _quiet(process.predict, **kwargs)
    return out[0] if isinstance(out, tuple) else out


def _same(actual, expected, where: str = "") -> None:
    """Equal to ``RTOL`` (relative), recursively through dicts; NaN where SKDH has NaN."""
    if isinstance(expected, Mapping):
        assert set(actual) == set(expected), where
        for key in expected:
            _same(actual[key], expected[key], f"{where}/{key}")
        return
    exp, act = np.asarray(expected), np.asarray(actual)
    assert act.shape == exp.shape, where
    if exp.dtype.kind in "fc":
        np.testing.assert_allclose(act, exp, rtol=RTOL, atol=0, equal_nan=True, err_msg=where)
    else:
        np.testing.assert_array_equal(act, exp, err_msg=where)


# ------------------------------------------------------------------ DFA


def _signals():
    rng = np.random.default_rng(12)
    yield "empty", np.array([])
    for n in (1, 3, 4, 5, 7, 8, 15, 16, 17, 33, 100, 1001, 17280):  # 17280 = one day of 5 s epochs
        yield f"abs-normal-{n}", np.abs(rng.normal(size=n)) * rng.uniform(0.01, 3) + rng.uniform(0, 2)
    yield "constant", np.full(500, 0.2)
    yield "zeros", np.zeros(500)
    yield "ramp", np.linspace(0, 5, 2000)
    yield "heavy-tailed", rng.pareto(1.5, 5000)
    yield "large-offset", 1e6 + rng.normal(size=3000)
    yield "nan-window", np.where(np.arange(800) == 400, np.nan, rng.random(800))
    yield "inf", np.where(np.arange(800) == 10, np.inf, rng.random(800))
    # what ActivityDFA gets: 5 s ENMO epochs of the generated wrist day
    day = generate_wrist_day(hours=6.0, fs=20.0, seed=3)
    enmo = np.maximum(np.linalg.norm(day["accel"], axis=1) - 1, 0)
    yield "wrist-enmo", enmo[: enmo.size // 100 * 100].reshape(-1, 100).mean(axis=1)


@pytest.mark.parametrize(("name", "signal"), list(_signals()), ids=[n for n, _ in _signals()])
def test_dfa_fast_equals_skdh_dfa(name, signal):
    expected = _quiet(DFA, signal)
    actual = _quiet(dfa_fast, signal)
    for act, exp in zip(actual, expected, strict=True):
        _same(act, exp, name)


@pytest.mark.parametrize("box_sizes", [[4, 8, 16, 32], [2, 3, 50], [1, 4, 9], [600]])
def test_dfa_fast_equals_skdh_dfa_with_box_sizes(box_sizes):
    signal = np.random.default_rng(5).random(2400)
    expected = _quiet(DFA, signal, box_sizes=box_sizes)
    for act, exp in zip(_quiet(dfa_fast, signal, box_sizes=box_sizes), expected, strict=True):
        _same(act, exp, str(box_sizes))
    with pytest.raises(ValueError, match="One of `scale` or `box_sizes`"):
        dfa_fast(signal, scale=None)


# ------------------------------------------------------------------ moving max/min


def _windowed_cases():
    rng = np.random.default_rng(7)
    acc = rng.normal(0, 0.01, (180_123, 3)) + [0.0, 0.0, 1.0]
    yield "wear-windows", acc, 3600, 900  # SKDH's 60/15 min at 1 Hz-scaled size: window = 4 steps
    yield "exact-fit", acc[: 3600 * 10], 3600, 900
    yield "not-a-multiple", acc, 3000, 900  # SKDH's own function answers
    yield "one-window", acc[:3600], 3600, 900
    yield "1-D", acc[:, 2].copy(), 3600, 900
    acc_nan = acc.copy()
    acc_nan[5000, 1] = np.nan
    yield "nan", acc_nan, 3600, 900


@pytest.mark.parametrize("trim", [True, False])
@pytest.mark.parametrize(("name", "a", "w_len", "skip"), list(_windowed_cases()), ids=[c[0] for c in _windowed_cases()])
def test_moving_max_min_fast_are_identical_to_skdh(name, a, w_len, skip, trim):
    for fast, skdh_fn in ((moving_max_fast, moving_max), (moving_min_fast, moving_min)):
        np.testing.assert_array_equal(
            fast(a, w_len, skip, trim=trim, axis=0), skdh_fn(a, w_len, skip, trim=trim, axis=0)
        )


def test_moving_max_fast_raises_as_skdh_does():
    with pytest.raises(ValueError, match="larger than the computation axis"):
        moving_max_fast(np.zeros((10, 3)), 20, 5, axis=0)


# ------------------------------------------------------------------ processes


def test_activity_fast_swaps_only_dfa_endpoints():
    fast, bare = ActivityLevelClassificationFast(day_window=(12, 24)), ActivityLevelClassification(day_window=(12, 24))
    kinds = [type(e).__name__ for e in fast.wake_endpoints + fast.sleep_endpoints]
    assert kinds == [
        ("ActivityDFAFast" if k == "ActivityDFA" else k) for k in (type(e).__name__ for e in bare.wake_endpoints)
    ] + [type(e).__name__ for e in bare.sleep_endpoints]
    dfa = [e for e in fast.wake_endpoints if isinstance(e, ActivityDFAFast)]
    assert [e.name for e in dfa] == [["wake dfa alpha", "wake dfa activity balance index"]]
    assert fast._kw == bare._kw  # same parameters recorded (Pipeline.save writes these)


def _ax3_sample(samples):
    data = np.load(samples / "ax3_data.npz")
    return {
        "time": data["time"],
        "accel": data["accel"],
        "fs": float(data["fs"][0]) if data["fs"].size else None,
        "day_ends": {(8, 12): data["day_ends_8_12"]},
    }


@pytest.mark.parametrize("min_wear_time", [0, 10])
def test_activity_fast_equals_skdh_on_skdh_sample(samples, min_wear_time):
    kwargs = _ax3_sample(samples)
    params = {"day_window": (8, 12), "min_wear_time": min_wear_time}
    expected = _results(ActivityLevelClassification(**params), **kwargs)
    actual = _results(ActivityLevelClassificationFast(**params), **kwargs)
    _same(actual, expected)
    if min_wear_time == 0:
        assert np.isfinite(actual["wake dfa alpha"]).all()  # the DFA endpoint really ran


@pytest.fixture(scope="module")
def wrist_day_runs():
    """The demo wrist pipeline (minus its reader) on a generated 24 h day: fast spec vs SKDH's classes."""
    day = generate_wrist_day(hours=24.0, fs=20.0, seed=11)
    inputs = {"time": day["time"], "accel": day["accel"], "temperature": day["temperature"], "fs": day["fs"]}
    spec = {**WRIST_PIPELINE_SPEC, "Steps": WRIST_PIPELINE_SPEC["Steps"][1:]}
    runs = {}
    for label, s in (("fast", spec), ("skdh", bare_skdh_spec(spec))):
        runs[label] = _quiet(load_pipeline(s).run, **inputs)
    return runs


def test_wrist_pipeline_fast_equals_skdh_on_generated_day(wrist_day_runs):
    fast, bare = wrist_day_runs["fast"], wrist_day_runs["skdh"]
    assert set(fast) == set(bare) == {"AccelThresholdWearDetection", "GetDayWindowIndices", "SleepCorrected",
                                      "ActivityLevelClassification"}  # fmt: skip
    _same(fast, bare)
    act = fast["ActivityLevelClassification"]
    assert act["N wear hours"][0] > 20  # a worn day, so every endpoint was computed
    assert 0 < act["wake dfa alpha"][0] < 2


def test_wear_fast_equals_skdh_with_shipping_and_setup_rules():
    day = generate_wrist_day(hours=30.0, fs=10.0, seed=4)
    params = {"apply_setup_criteria": False, "shipping_criteria": [1, 1], "window_length": 30, "window_skip": 10}
    kwargs = {"time": day["time"], "accel": day["accel"], "fs": day["fs"]}
    expected = _results(AccelThresholdWearDetection(**params), **kwargs)
    actual = _results(AccelThresholdWearDetectionFast(**params), **kwargs)
    _same(actual, expected)
    assert expected["wear"].size  # some wear found: the comparison is not of two empty arrays


# ------------------------------------------------------------------ specs and provenance


@pytest.mark.parametrize(
    ("process", "module"),
    [
        ("ActivityLevelClassificationFast", "skdh_processes.activity"),
        ("AccelThresholdWearDetectionFast", "skdh_processes.wear"),
    ],
)
def test_fast_processes_are_allow_listed_and_noted_in_provenance(process, module):
    assert resolve_process("biomarker_assets", module, process) is PROJECT_PROCESSES[process]
    spec = {
        "Version": skdh.__version__,
        "Steps": [
            {
                "name": process.removesuffix("Fast"),
                "process": process,
                "package": "biomarker_assets",
                "module": module,
                "parameters": {"day_window": [0, 24]} if process.startswith("Activity") else {},
                "save_file": None,
                "plot_file": None,
            }
        ],
    }
    [note] = project_processes(spec)
    assert note.startswith(f"{module}.{process}: speed-only re-implementation of skdh 0.17.18")
    assert "within 1e-12" in note
    assert validate_pipeline_spec(spec) == []
    typo = {**spec, "Steps": [{**spec["Steps"][0], "parameters": {"no_such_parameter": 1}}]}
    assert any("unknown parameter 'no_such_parameter'" in p for p in validate_pipeline_spec(typo))  # SKDH's signature


def test_demo_wrist_pipeline_uses_the_fast_processes():
    processes = [s["process"] for s in WRIST_PIPELINE_SPEC["Steps"]]
    assert "AccelThresholdWearDetectionFast" in processes and "ActivityLevelClassificationFast" in processes
    assert validate_pipeline_spec(WRIST_PIPELINE_SPEC) == []
