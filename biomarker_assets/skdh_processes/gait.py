"""Lumbar gait processes the project adds: a corrected gait classifier and a supervised-bout declaration.

**PredictGaitLumbarLgbmCorrected.** scikit-digital-health 0.17.18
(``skdh/context/gait_classification.py``) resamples the acceleration to 50 Hz (20 Hz
below 50 Hz) and then band-pass filters it with ``butter(1, [2 * 0.25 / fs, 2 * 5.0 /
fs])``, where ``fs`` is the *input* rate. On a 100 Hz file the 0.25-5 Hz band becomes
0.125-2.5 Hz, on SKDH's own ~197 Hz lumbar recording about 0.06-1.27 Hz: the step
frequency is cut and the classifier finds other bouts (12-15, 18-48, 51-69 s at 50 Hz;
18-39, 42-48, 54-69 s at the native rate). The corrected class resamples first with
SKDH's own call and runs SKDH's unchanged ``predict`` on the resampled data (where the
filter's rate and the data's rate agree), then maps the bouts back onto the input's
samples exactly as SKDH does. Inputs already at 50 (or 20) Hz give SKDH's own result.

**SupervisedGaitBout.** A clinic walking test (2- or 6-minute walk, a gait-lab trial)
is a file in which the subject walks throughout: SKDH's gait truth with gyroscope was
made by ``GaitLumbar.predict(..., gait_pred=True)`` with no classifier. A pipeline
declares that with this step; validation then allows ``GaitLumbar`` without a
classifier, and the step refuses a file longer than ``max_minutes`` (a free-living
recording processed as one bout would give meaningless strides).
"""

from __future__ import annotations

from warnings import warn

from numpy import arange, around, asarray, diff, int_, interp, mean
from skdh.base import BaseProcess, handle_process_returns
from skdh.context import PredictGaitLumbarLgbm
from skdh.utility.internal import apply_resample

__all__ = ["GAIT_CLASSIFIER_FIX_NOTE", "SUPERVISED_BOUT_NOTE", "PredictGaitLumbarLgbmCorrected", "SupervisedGaitBout"]

GAIT_CLASSIFIER_FIX_NOTE = (
    "skdh 0.17.18 PredictGaitLumbarLgbm designs its 0.25-5 Hz band-pass for the input rate but applies it "
    "to the data it has resampled to 50 Hz (20 Hz below 50 Hz); PredictGaitLumbarLgbmCorrected "
    "(biomarker_assets.skdh_processes.gait) resamples first with SKDH's own call and runs SKDH's classifier "
    "on the resampled data, so the filter is designed for the rate it filters."
)

SUPERVISED_BOUT_NOTE = (
    "the whole file was declared one walking bout (a supervised walking test): no gait classifier ran, "
    "GaitLumbar took every sample as gait (SKDH's gait_pred=True)."
)

_SKDH_PREDICT = PredictGaitLumbarLgbm.predict.__wrapped__  # undecorated; functools.wraps keeps it


def _goal_fs(fs: float) -> float:
    """The rate SKDH's classifier works at (its models exist for 50 and 20 Hz)."""
    return 50.0 if fs >= 50.0 else 20.0


class PredictGaitLumbarLgbmCorrected(PredictGaitLumbarLgbm):
    """``skdh.context.PredictGaitLumbarLgbm`` with its band-pass designed for the rate it filters.

    Same parameters, results (``Gait Bout Start``/``Stop`` [s], their indices into the
    input samples) and ``gait_bouts`` handed to ``GaitLumbar`` as SKDH's class; see the
    module docstring for the fix. ``PROVENANCE_NOTE`` is what provenance records.
    """

    PROVENANCE_NOTE = GAIT_CLASSIFIER_FIX_NOTE

    @handle_process_returns(results_to_kwargs=False)
    def predict(self, *, time, accel, fs=None, tz_name=None, **kwargs):
        """
        predict(*, time, accel, fs=None)

        As ``skdh.context.PredictGaitLumbarLgbm.predict``, with the resample done first.
        """
        time = asarray(time)
        fs_in = float(1 / mean(diff(time)) if fs is None else fs)
        goal_fs = _goal_fs(fs_in)
        if fs_in < 20.0 or fs_in == goal_fs:  # SKDH raises (too low) or does not resample: nothing to fix
            return _SKDH_PREDICT(self, time=time, accel=accel, fs=fs, tz_name=tz_name, **kwargs)
        if fs_in < 50.0:  # SKDH's own warning, which its predict would not give at goal_fs
            warn(f"Frequency ({fs_in:.2f}Hz) is less than 50Hz. Downsampling to 20Hz.", UserWarning, stacklevel=2)
        # SKDH's own resample call, as in its predict
        time_ds, (accel_ds,), *_ = apply_resample(
            goal_fs=goal_fs, time=time, data=(accel,), indices=(), aa_filter=self.downsample_aa_filter, fs=fs_in
        )
        results, _ = _SKDH_PREDICT(self, time=time_ds, accel=accel_ds, fs=goal_fs, tz_name=tz_name, **kwargs)
        # SKDH's mapping of bouts found on the resampled data back onto the input samples
        samples = arange(time.size)
        starts = around(interp(time_ds[results["Gait Bout Start Index"]], time, samples)).astype(int_)
        stops = around(interp(time_ds[results["Gait Bout Stop Index"]], time, samples)).astype(int_)
        results.update(
            {
                "Gait Bout Start": time[starts],
                "Gait Bout Stop": time[stops],
                "Gait Bout Start Index": starts,
                "Gait Bout Stop Index": stops,
            }
        )
        bouts = asarray([starts, stops], dtype=int_).T  # (n, 2), as SKDH hands them on
        return results, {"gait_bouts": bouts}


class SupervisedGaitBout(BaseProcess):
    """Declare that each file of the pipeline is one walking bout (a supervised walking test).

    Hands ``gait_pred=True`` on to ``GaitLumbar`` (SKDH's way of saying "all of it is
    gait") and records the bout it declared. Refuses a file longer than
    ``max_minutes``: a free-living recording is not a walking test.

    Parameters
    ----------
    max_minutes : float
        Longest file accepted as one bout, in minutes. Default 20 (a 6-minute walk
        test with set-up and margin; SKDH's gyroscope truth recording is 45 s).
    """

    PROVENANCE_NOTE = SUPERVISED_BOUT_NOTE

    def __init__(self, max_minutes=20.0):
        super().__init__(max_minutes=max_minutes)
        max_minutes = float(max_minutes)
        if not max_minutes > 0:
            raise ValueError(f"max_minutes must be a positive number of minutes, got {max_minutes!r}")
        self.max_minutes = max_minutes

    @handle_process_returns(results_to_kwargs=False)
    def predict(self, *, time, **kwargs):
        """
        predict(*, time, **kwargs)

        Returns
        -------
        results : dict
            ``Supervised Bout Start``/``Stop`` (unix s), ``Supervised Bout Duration`` (s),
            ``Supervised Bout Samples``.
        """
        super().predict(expect_days=False, expect_wear=False, time=time, **kwargs)
        time = asarray(time)
        if time.ndim != 1 or time.size < 2:
            raise ValueError("SupervisedGaitBout needs a recording of at least 2 timestamps.")
        if kwargs.get("gait_bouts") is not None:
            raise ValueError("SupervisedGaitBout: gait bouts were already found by a classifier step; use one of them.")
        duration = float(time[-1] - time[0])
        if duration > self.max_minutes * 60.0:
            raise ValueError(
                f"SupervisedGaitBout: the file is {duration / 60.0:.1f} min long, longer than max_minutes="
                f"{self.max_minutes:g}; a recording this long is not one supervised walking bout (use "
                "PredictGaitLumbarLgbmCorrected to find the bouts, or raise max_minutes for a longer walk test)"
            )
        results = {
            "Supervised Bout Start": float(time[0]),
            "Supervised Bout Stop": float(time[-1]),
            "Supervised Bout Duration": duration,
            "Supervised Bout Samples": int(time.size),
        }
        return results, {"gait_pred": True}
