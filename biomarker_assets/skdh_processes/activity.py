"""SKDH's activity endpoints with detrended fluctuation analysis (DFA) computed in closed form: same numbers, faster.

scikit-digital-health 0.17.18's ``skdh.utility.math.DFA`` (used by the ``ActivityDFA``
endpoint of ``ActivityLevelClassification``) fits a straight line to every box of the
integrated signal with ``scipy.stats.linregress``, one call per box: 21,748 calls for
one 24 h recording. Each call pays scipy's argument handling (``_axis_nan_policy``,
``inspect.signature``), so DFA was about half of all SKDH CPU time of the wrist
pipeline. :func:`dfa_fast` fits all boxes of a size at once with the same least-squares
formulas ``linregress`` uses (population covariance of x and y over the variance of
x; intercept = mean y - slope * mean x) and the same windows, residuals, RMS and the
final log-log ``linregress``. The results equal SKDH's to rounding (relative
difference below 1e-12, tested in ``test_fast_processes.py``).

:class:`ActivityLevelClassificationFast` is SKDH's ``ActivityLevelClassification`` with
its ``ActivityDFA`` endpoints replaced by :class:`ActivityDFAFast`: same parameters,
same endpoints, same results keys. ``ActivityDFAFast.predict`` is a copy of SKDH's
function object whose globals resolve ``DFA`` to :func:`dfa_fast` (as ``SleepCorrected``
does for sleep; see ``_rebind``), so nothing in ``skdh`` is mutated and SKDH's own code runs.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import linregress
from skdh.activity import ActivityLevelClassification
from skdh.activity.endpoints import ActivityDFA
from skdh.utility.math import DFA as _skdh_dfa
from skdh.utility.windowing import get_windowed_view

from biomarker_assets.skdh_processes._rebind import rebind

__all__ = ["FAST_NOTE", "ActivityDFAFast", "ActivityLevelClassificationFast", "dfa_fast"]

FAST_NOTE = (
    "speed-only re-implementation of skdh 0.17.18 {skdh}: {what}; results equal SKDH's within 1e-12 "
    "(relative), tested against SKDH's own implementation."
)


def dfa_fast(
    a: ArrayLike, scale: float | None = 2 ** (1 / 8), box_sizes: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``skdh.utility.math.DFA`` with each box size's line fits done at once; same arguments and returns.

    Box sizes below 2 samples (only possible with explicit ``box_sizes``) go to
    SKDH's own function: a one-point fit is scipy's business, not a formula's.
    """
    a = np.asarray(a)
    if box_sizes is None:  # SKDH's box sizes, verbatim
        if scale is None:
            raise ValueError("One of `scale` or `box_sizes` must be provided.")
        sizes = [4]
        while sizes[-1] < round(a.size / 4):
            sizes += [int(np.ceil(sizes[-1] * scale))]
        box_sizes = sizes
    box_sizes = np.asarray(box_sizes)
    if box_sizes.size and box_sizes.min() < 2:
        return _skdh_dfa(a, scale=scale, box_sizes=box_sizes)

    y = np.cumsum(a - np.mean(a))
    dfa = np.zeros(box_sizes.size, dtype=np.float64)
    for i, wlen in enumerate(box_sizes):
        yw = get_windowed_view(y, wlen, wlen)  # (boxes, wlen), SKDH's windows
        x = np.arange(wlen)
        # linregress: np.cov(x, y, bias=1) -> centred sums over n; slope = ssxym / ssxm
        xc = x - np.mean(x)
        ssxm = np.dot(xc, xc) / wlen
        ymean = np.mean(yw, axis=1)
        ssxym = ((yw - ymean[:, None]) @ xc) / wlen
        slope = ssxym / ssxm
        intercept = ymean - slope * np.mean(x)
        f1 = yw - (slope[:, None] * x + intercept[:, None])
        dfa[i] = np.sqrt(np.mean(f1.ravel() ** 2))

    alpha = linregress(np.log(box_sizes), np.log(dfa)).slope  # one call: SKDH's own fit
    abi = np.exp((-abs(alpha - 1)) / np.exp(-2))
    return box_sizes, dfa, alpha, abi


class ActivityDFAFast(ActivityDFA):
    """``skdh.activity.endpoints.ActivityDFA`` computing DFA with :func:`dfa_fast`; same results."""

    predict = rebind(ActivityDFA.predict, {"DFA": dfa_fast}, "ActivityDFAFast.predict")


class ActivityLevelClassificationFast(ActivityLevelClassification):
    """``skdh.activity.ActivityLevelClassification`` whose DFA endpoints use :func:`dfa_fast`.

    Same parameters (the signature is SKDH's), endpoints and results; only the
    ``ActivityDFA`` endpoints (one in SKDH's defaults, plus any added with ``add``
    before a run) are swapped for :class:`ActivityDFAFast`.
    """

    PROVENANCE_NOTE = FAST_NOTE.format(
        skdh="activity.ActivityLevelClassification",
        what="DFA (activity alpha and balance index) fits every box's line in closed form with NumPy "
        "instead of one scipy linregress call per box",
    )

    wake_endpoints: list[Any]  # SKDH's, set in its __init__
    sleep_endpoints: list[Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wake_endpoints = [_fast_endpoint(e) for e in self.wake_endpoints]
        self.sleep_endpoints = [_fast_endpoint(e) for e in self.sleep_endpoints]

    # SKDH's signature (inspect follows __wrapped__), so spec validation knows the parameters
    functools.update_wrapper(__init__, ActivityLevelClassification.__init__)

    def add(self, endpoint: Any) -> None:
        """SKDH's ``add``, with an added ``ActivityDFA`` computed by :func:`dfa_fast`."""
        if isinstance(endpoint, list | tuple):
            endpoint = [_fast_endpoint(e) for e in endpoint]
        else:
            endpoint = _fast_endpoint(endpoint)
        super().add(endpoint)


def _fast_endpoint(endpoint: Any) -> Any:
    """``ActivityDFAFast`` with the same settings for an ``ActivityDFA``; any other endpoint as it is."""
    if type(endpoint) is not ActivityDFA:
        return endpoint
    return ActivityDFAFast(scale=endpoint.scale, box_sizes=endpoint.box_sizes, state=endpoint.state)
