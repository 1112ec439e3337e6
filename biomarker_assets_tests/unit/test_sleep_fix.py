"""Webster rule (d): the corrected classifier versus SKDH 0.17.18's.

The SKDH assertion pins the *defective* output on purpose: when SKDH fixes the
mask upstream that assertion fails, which is the signal to re-check whether
SleepCorrected is still needed.
"""

import itertools

import numpy as np
import pytest
import skdh.sleep.sleep as skdh_sleep_module
from skdh.sleep import Sleep
from skdh.sleep.sleep_classification import compute_sleep_predictions

from biomarker_assets.lib.skdh.pipeline import step_parameters
from biomarker_assets.skdh_processes.sleep import (
    SLEEP_FIX_NOTE,
    SleepCorrected,
    compute_sleep_predictions_corrected,
)

# Activity index: 1 = an active minute, 0 = still. With SKDH's kernel and
# "same" convolution, minute n's score is 0.243 * (4.024 a[n+2] + 5.84 a[n+1]
# + 16.19 a[n] + 5.07 a[n-1] + 3.75 a[n-2] + 6.87 a[n-3] + 4.64 a[n-4]);
# every weight times 0.243 is >= 0.91 > 0.5, so an active minute j makes minutes
# j-2 .. j+4 wake and everything else sleep. Active minutes:
#   12-15 -> wake 10-19   27-30 -> wake 25-34   46 -> wake 44-50
ACTIVE = [12, 13, 14, 15, 27, 28, 29, 30, 46]
N = 60

# Cole-Kripke before rescoring (1 = sleep):
#   sleep 0-9 | wake 10-19 (10) | sleep 20-24 (5) | wake 25-34 (10)
#   | sleep 35-43 (9) | wake 44-50 (7) | sleep 51-59 (9)
RAW = np.array([1] * 10 + [0] * 10 + [1] * 5 + [0] * 10 + [1] * 9 + [0] * 7 + [1] * 9)

# Rules (a)-(c), scanning forward:
#   20: 10 wake before -> (b) 20-22 -> wake; 23-24 stay sleep (wake count 3 < 4)
#   35: 10 wake before -> (b) 35-37 -> wake; 38-43 stay sleep
#   51: 7 wake before -> (a) 51 -> wake; 52-59 stay sleep
# Runs after (a)-(c): S 0-9 (10) | W 10-22 (13) | S 23-24 (2) | W 25-37 (13)
#                     | S 38-43 (6) | W 44-51 (8) | S 52-59 (8)
# Rule (d), <= 6 min sleep with >= 10 min wake before AND after:
#   S 23-24: 2 min, 13 wake before, 13 after -> wake
#   S 38-43: 6 min, 13 wake before, only 8 after -> stays sleep
#   S 0-9 and S 52-59: not flanked on both sides -> stay sleep
EXPECTED_CORRECT = np.array([1] * 10 + [0] * 28 + [1] * 6 + [0] * 8 + [1] * 8)

# SKDH 0.17.18: mask = (changes >= 10) & (changes < 50) & (dt <= 6) & vals is the
# int array [0, 0, 1, 0, 1, 0, 0]; changes[mask] = [0, 0, 10, 0, 10, 0, 0] and
# dt[mask] = [10, 10, 13, 10, 13, 10, 10], so it rescores runs 0 and 1 (0-9 and
# 10-22) and leaves 23-24 as sleep.
EXPECTED_SKDH_0_17_18 = np.array([0] * 23 + [1] * 2 + [0] * 13 + [1] * 6 + [0] * 8 + [1] * 8)


@pytest.fixture
def activity_index():
    a = np.zeros(N)
    a[ACTIVE] = 1.0
    return a


def test_hand_derived_raw_scoring(activity_index):
    np.testing.assert_array_equal(compute_sleep_predictions(activity_index, rescore=False), RAW)
    np.testing.assert_array_equal(compute_sleep_predictions_corrected(activity_index, rescore=False), RAW)


def test_corrected_applies_rule_d(activity_index):
    np.testing.assert_array_equal(compute_sleep_predictions_corrected(activity_index), EXPECTED_CORRECT)


def test_skdh_still_has_the_defect(activity_index):
    got = compute_sleep_predictions(activity_index)
    assert np.array_equal(got, EXPECTED_SKDH_0_17_18), (
        "SKDH's rule (d) output changed: it may be fixed upstream; re-check whether "
        f"SleepCorrected is still needed. Got {got.tolist()}"
    )
    assert not np.array_equal(got, EXPECTED_CORRECT)


def test_agrees_with_skdh_when_rule_d_has_nothing_to_do():
    # 20-min blocks that start active: no sleep run is <= 6 min, and SKDH's defect
    # then only rescores the first run, which is wake, so both must agree exactly
    rng = np.random.default_rng(3)
    blocks = rng.choice([0.0, 0.01, 1.0], size=40, p=[0.5, 0.2, 0.3])
    blocks[0] = 1.0
    ai = np.repeat(blocks, 20)
    corrected = compute_sleep_predictions_corrected(ai)
    edges = np.flatnonzero(np.diff(np.r_[-1, corrected, -1]))
    sleep_runs = [b - a for a, b in itertools.pairwise(edges) if corrected[a] == 1]
    assert sleep_runs and min(sleep_runs) > 6
    np.testing.assert_array_equal(corrected, compute_sleep_predictions(ai))


def test_sleep_corrected_uses_the_corrected_function_without_patching_skdh():
    assert issubclass(SleepCorrected, Sleep)
    inner = SleepCorrected.predict.__wrapped__
    assert inner.__globals__["compute_sleep_predictions"] is compute_sleep_predictions_corrected
    assert inner.__code__ is Sleep.predict.__wrapped__.__code__  # SKDH's own body
    assert skdh_sleep_module.compute_sleep_predictions is compute_sleep_predictions
    assert Sleep.predict.__wrapped__.__globals__["compute_sleep_predictions"] is (compute_sleep_predictions)
    assert step_parameters(SleepCorrected()) == step_parameters(Sleep())  # same parameters, same provenance shape


def test_fix_note_is_one_line():
    assert isinstance(SLEEP_FIX_NOTE, str) and SLEEP_FIX_NOTE
    assert "\n" not in SLEEP_FIX_NOTE
    assert "0.17.18" in SLEEP_FIX_NOTE and "rule (d)" in SLEEP_FIX_NOTE
