"""SKDH sleep with Webster's rescoring rule (d) applied as published.

scikit-digital-health 0.17.18 (``skdh/sleep/sleep_classification.py``) builds the
rule-(d) mask as ``(changes >= 10) & ... & (dt <= 6) & vals``. ``vals`` is an
integer array, so the mask becomes an integer 0/1 array and ``changes[mask]``
indexes *by position*: every day window gets its first run (and, as soon as one
run qualifies, its second run too) rescored to wake, while the short sleep runs
rule (d) names are left as sleep. A night that starts the window asleep, or the
whole sleep opportunity, can come out as 0 minutes of sleep.

The mask also never looked at the neighbouring wake runs (it only required the
run to start >= 10 epochs from either end of the window). Webster et al. (1982),
as quoted by Cole et al. (1992), define rule (d) as "6 minutes or less of sleep
surrounded by at least 10 minutes of wake (before and after) are rescored wake",
and that is what :func:`compute_sleep_predictions_corrected` applies. Rules
(a)-(c) and the Cole-Kripke scoring are SKDH's, unchanged; rule (e) is not
applied, as in SKDH.

How the fix gets into :class:`SleepCorrected`: ``Sleep.predict`` is a ~200 line
method that calls the module-level name ``compute_sleep_predictions``.
Copying that method would fork SKDH; patching the module attribute (even in a
context manager) changes every ``Sleep`` in the process while it runs, which is
not safe when several assets run in threads. Instead the class builds a copy of
SKDH's own ``predict`` function object whose globals resolve
``compute_sleep_predictions`` to the corrected function. Nothing in ``skdh`` is
mutated; the code object is SKDH's, so any SKDH change to ``predict`` in the
pinned version is picked up, and an import-time check fails loudly if SKDH
stops calling the function by that name.
"""

from __future__ import annotations

import types

import skdh.sleep.sleep as _skdh_sleep_module
from numpy import array, asarray, convolve, int_
from skdh.base import handle_process_returns
from skdh.sleep import Sleep
from skdh.utility.internal import rle

__all__ = ["SLEEP_FIX_NOTE", "SleepCorrected", "compute_sleep_predictions_corrected"]

SLEEP_FIX_NOTE = (
    "skdh 0.17.18 sleep_classification.compute_sleep_predictions rescoring rule (d) "
    "indexes runs with an integer 0/1 mask (bool & int array), so each day's first "
    "(and second) run is rescored to wake instead of the <=6 min sleep runs flanked by "
    ">=10 min wake; SleepCorrected (biomarker_assets.skdh_processes.sleep) applies "
    "rule (d) with a boolean mask on the flanking wake-run lengths."
)


def compute_sleep_predictions_corrected(act_index, sf=0.243, rescore=True):
    """Cole-Kripke sleep/wake (1 = sleep) with Webster rules (a)-(d); drop-in for SKDH's.

    Same signature and rules (a)-(c) as
    ``skdh.sleep.sleep_classification.compute_sleep_predictions``; only rule (d)
    differs (see module docstring).
    """
    kernel = array([0.0, 0.0, 4.024, 5.84, 16.19, 5.07, 3.75, 6.87, 4.64]) * sf

    scores = convolve(asarray(act_index, dtype=float), kernel, "same")
    predictions = (scores < 0.5).astype(int_)

    if not rescore:
        return predictions

    # rules (a)-(c), verbatim from SKDH so only rule (d) differs
    wake_bin = 0
    for t in range(predictions.size):
        if not predictions[t]:
            wake_bin += 1
        else:
            if wake_bin >= 15:  # (c) >= 15 min wake -> next 4 min sleep rescored
                predictions[t : t + 4] = 0
            elif 10 <= wake_bin < 15:  # (b) >= 10 min wake -> next 3 min rescored
                predictions[t : t + 3] = 0
            elif 4 <= wake_bin < 10:  # (a) >= 4 min wake -> next 1 min rescored
                predictions[t] = 0
            wake_bin = 0

    # (d) sleep runs of <= 6 min with >= 10 min of wake on both sides -> wake.
    # Decided on the runs after (a)-(c), all at once, so one rescoring cannot
    # lengthen the wake flanking the next candidate.
    lengths, starts, values = rle(predictions)
    if lengths.size >= 3:
        before = lengths[:-2]
        middle = lengths[1:-1]
        after = lengths[2:]
        is_sleep = values[1:-1].astype(bool)
        # runs alternate, so a sleep middle run has wake runs on both sides
        hit = is_sleep & (middle <= 6) & (before >= 10) & (after >= 10)
        for start, dur in zip(starts[1:-1][hit], middle[hit], strict=True):
            predictions[start : start + dur] = 0

    return predictions


def _rebind_predict():
    """SKDH's ``Sleep.predict`` body, resolving the classifier to the corrected one."""
    wrapped = Sleep.predict.__wrapped__  # undecorated; functools.wraps keeps it
    code = wrapped.__code__
    if "compute_sleep_predictions" not in code.co_names:
        raise ImportError(
            "skdh.sleep.Sleep.predict no longer calls compute_sleep_predictions by "
            "name; SleepCorrected cannot substitute the corrected classifier. "
            "Re-check the upstream fix and update biomarker_assets.skdh_processes.sleep."
        )
    fn_globals = dict(vars(_skdh_sleep_module))
    fn_globals["compute_sleep_predictions"] = compute_sleep_predictions_corrected
    # the closure carries SKDH's __class__ cell, so super() inside still means
    # super(Sleep, self), exactly as in the original method
    fn = types.FunctionType(code, fn_globals, wrapped.__name__, wrapped.__defaults__, wrapped.__closure__)
    fn.__kwdefaults__ = dict(wrapped.__kwdefaults__ or {})
    fn.__doc__ = wrapped.__doc__
    fn.__qualname__ = "SleepCorrected.predict"
    fn.__module__ = __name__
    return fn


class SleepCorrected(Sleep):
    """``skdh.sleep.Sleep`` with rescoring rule (d) fixed; everything else is SKDH's.

    Parameters and results are those of ``skdh.sleep.Sleep`` (same day window,
    result keys and ``sleep`` indices for ActivityLevelClassification).
    """

    #: what provenance records beside the class name (lib/biomarkers/processing.corrections reads it)
    PROVENANCE_NOTE = SLEEP_FIX_NOTE

    predict = handle_process_returns(results_to_kwargs=True)(_rebind_predict())
