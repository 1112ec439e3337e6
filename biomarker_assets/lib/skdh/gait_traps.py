"""Gait traps: where SKDH's lumbar gait gives wrong numbers without an error, and how the project refuses them.

- ``GaitLumbar`` with no bouts takes the whole file as one bout: right for a supervised
  walking test, meaningless for a free-living recording. A pipeline needs either a gait
  classifier or a :class:`SupervisedGaitBout` declaration before it (not both).
- SKDH's turn detection needs the gyroscope in rad/s; readers return deg/s (Axivity),
  rad/s (APDM) or what the file holds (CSV, ``.npz``). ``GaitLumbar`` on data with a
  gyroscope runs only once a :class:`GyroscopeUnits` step declared the units; a
  declaration that contradicts the reader's known units is refused.
- SKDH's ``PredictGaitLumbarLgbm`` filters at the input rate after resampling to 50 Hz:
  it runs only on data already at its working rate (after ``Resample``); otherwise
  :class:`PredictGaitLumbarLgbmCorrected` is the fix.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from skdh.base import BaseProcess
from skdh.context import PredictGaitLumbarLgbm
from skdh.gait import GaitLumbar

from biomarker_assets.lib.skdh.errors import PipelineRunError
from biomarker_assets.lib.skdh.readers import reader_for_class, reader_named
from biomarker_assets.skdh_processes.gait import PredictGaitLumbarLgbmCorrected, SupervisedGaitBout
from biomarker_assets.skdh_processes.units import GYRO_UNITS_KEY, GyroscopeUnits

#: (index, class, parameters) of a step that is valid on its own.
Step = tuple[int, type, Mapping]

_CLASSIFIER = "a PredictGaitLumbarLgbmCorrected step (package biomarker_assets, module skdh_processes.gait)"
_SUPERVISED = "a SupervisedGaitBout step (package biomarker_assets, module skdh_processes.gait)"
_UNITS_STEP = "a GyroscopeUnits step (package biomarker_assets, module skdh_processes.units)"
# relative difference between the input rate and the classifier's working rate that is refused
_RATE_TOLERANCE = 0.01


def _where(i: int, cls: type) -> str:
    return f"step {i} ({cls.__name__!r})"


def reader_gyro_units(reader: Step | None) -> str | None:
    """Units of the gyroscope the reader step returns, when the registry knows them (else None)."""
    if reader is None:
        return None
    _i, cls, params = reader
    entry = reader_for_class(cls)
    if entry is not None and entry.process == "MultiReader":  # reads with the reader its parameters name
        entry = reader_named("skdh", params.get("reader"))
    units = None if entry is None else entry.units.get("gyro")
    return units if units in ("deg/s", "rad/s") else None


def bouts_problem(step: Step, classifier: int | None, supervised: int | None) -> str | None:
    """``GaitLumbar`` needs bouts from a classifier or a supervised-bout declaration before it, not both."""
    i, cls, _params = step
    if not issubclass(cls, GaitLumbar):
        return None
    if classifier is not None and supervised is not None:
        return (
            f"{_where(i, cls)}: both a gait classifier (step {classifier}) and a SupervisedGaitBout declaration "
            f"(step {supervised}) come before it; a file is either one supervised walking bout or searched for "
            "bouts: keep one"
        )
    if classifier is None and supervised is None:
        return (
            f"{_where(i, cls)}: no PredictGaitLumbarLgbm step before it, so SKDH would take the whole recording as "
            "one gait bout (on wrist or free-living data, meaningless strides); add "
            f"{_CLASSIFIER} before it, or, if every file of this pipeline is one supervised walking test, "
            f"declare it with {_SUPERVISED}"
        )
    return None


def units_problem(step: Step, reader: Step | None) -> str | None:
    """A ``GyroscopeUnits`` declaration must agree with the reader's units where the registry knows them."""
    i, cls, params = step
    if not issubclass(cls, GyroscopeUnits):
        return None
    known = reader_gyro_units(reader)
    declared = params.get("units", "deg/s")
    if known is None or declared == known:
        return None
    assert reader is not None  # known units come from a reader
    return (
        f"{_where(i, cls)}: units {declared!r} contradict the reader (step {reader[0]}, {reader[1].__name__!r}), "
        f"which returns the gyroscope in {known}; set units to {known!r}"
    )


def order_state(cls: type, i: int, classifier: int | None, supervised: int | None) -> tuple[int | None, int | None]:
    """(classifier step, supervised step) after step ``i``, for :func:`bouts_problem` on later steps."""
    if issubclass(cls, PredictGaitLumbarLgbm):
        classifier = i
    if issubclass(cls, SupervisedGaitBout):
        supervised = i
    return classifier, supervised


def _fs(kwargs: Mapping) -> float | None:
    fs = kwargs.get("fs")
    if fs is not None:
        return float(fs)
    time = kwargs.get("time")
    if isinstance(time, np.ndarray) and time.ndim == 1 and time.size > 1:
        return float(1.0 / np.mean(np.diff(time)))
    return None


def check_gait_inputs(i: int, proc: BaseProcess, kwargs: Mapping) -> None:
    """Gait traps that depend on the file, checked just before the step; raises :class:`PipelineRunError`."""
    where = _where(i, type(proc))
    if isinstance(proc, GaitLumbar):
        gyro = kwargs.get("gyro")
        if isinstance(gyro, np.ndarray) and gyro.size and kwargs.get(GYRO_UNITS_KEY) != "rad/s":
            raise PipelineRunError(
                f"{where}: the recording has a gyroscope but its units were not declared; SKDH's turn detection "
                "needs rad/s and readers differ (Axivity ReadCwa: deg/s, APDM: rad/s, CSV/npz: as in the file): "
                f"add {_UNITS_STEP} with the file's units after the reader"
            )
    if type(proc) is PredictGaitLumbarLgbm:  # the corrected subclass filters at the right rate
        fs = _fs(kwargs)
        goal = 50.0 if fs is not None and fs >= 50.0 else 20.0
        if fs is not None and fs >= 20.0 and abs(fs / goal - 1.0) > _RATE_TOLERANCE:
            raise PipelineRunError(
                f"{where}: the data are at {fs:.2f} Hz; SKDH 0.17.18's PredictGaitLumbarLgbm would design its "
                f"band-pass for {fs:.2f} Hz and apply it to data it resampled to {goal:g} Hz (wrong bouts); use "
                f"{PredictGaitLumbarLgbmCorrected.__name__} (package biomarker_assets, module skdh_processes.gait) "
                f"or put a Resample step (goal_fs {goal:g}) before it"
            )
