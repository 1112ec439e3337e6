"""Running a built pipeline on one file: SKDH's step loop with the project's checks between steps.

SKDH's many warnings are recorded (never turned into errors) and reported once each.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np
import skdh
from skdh.preprocessing import CalibrateAccelerometer

from biomarker_assets.lib.biomarkers.quality import file_rates
from biomarker_assets.lib.skdh.errors import PipelineRunError, PipelineSpecError
from biomarker_assets.lib.skdh.pipeline import load_pipeline, pipeline_steps, step_name
from biomarker_assets.lib.skdh.readers import READERS, is_signal_step, reader_for_class, reader_named
from biomarker_assets.lib.skdh.short_recording import wear_window_too_long
from biomarker_assets.lib.skdh.time_checks import check_time
from biomarker_assets.lib.skdh.traps import calibration_record, check_step_inputs, n_samples
from biomarker_assets.lib.skdh.version import SKDH_VERSION

__all__ = ["PipelineRunError", "read_file", "run_pipeline"]

logger = logging.getLogger("biomarker_assets.skdh")

# per-sample signals some non-reader steps hand back as "results" (CalibrateAccelerometer
# returns the whole calibrated accel): they are input to later steps, not biomarkers.
_SIGNAL_KEYS = frozenset({"time", "accel", "gyro", "magnet", "temperature", "light"})

#: called with (step index, process name) as each step starts, and (-1, "") once the steps are done:
#: a contained run (lib/skdh/isolation.py) records where a crash happened. None outside such a run.
step_listener: Callable[[int, str], None] | None = None


class ReaderFailed(PipelineRunError):
    """A reader step raised on this file: the message names the reader, so a person knows the file is at fault."""


def _predict(i: int, proc: Any, kwargs: dict) -> tuple[dict, Any]:
    """One step; a reader's exception becomes :class:`ReaderFailed` and its output's time column is checked."""
    reader = reader_for_class(type(proc))
    if reader is None:
        return proc.predict(**kwargs)
    try:
        kwargs, result = proc.predict(**kwargs)
    except MemoryError:
        raise  # a memory limit, not a file problem: the contained run names the limit
    except Exception as exc:
        if type(exc).__name__ in _TIME_PARSE_ERRORS:  # a bad time column says so, not pandas' error
            _check_stored_time(i, reader.process, kwargs.get("file"))
        device = f"the {reader.device} reader" if reader.device else "the reader"
        raise ReaderFailed(
            f"step {i} ({reader.process!r}): {device} could not read this file: {type(exc).__name__}: {exc}"
        ) from exc
    check_time(i, reader.process, kwargs.get("time"))
    return kwargs, result


# what pandas raises converting bad timestamps to a study's zone (DateParseError is a ValueError)
_TIME_PARSE_ERRORS = {"DateParseError", "OutOfBoundsDatetime", "OverflowError", "ParserError", "TypeError"}


def _check_stored_time(step: int, process: str, file: Any) -> None:
    """After a ``.npz`` reader raised: name what is wrong with the file's own ``time`` array, if anything.

    With a study time zone, SKDH's reader converts the timestamps with pandas first, so text or
    out-of-range times raise pandas' ``DateParseError``/``OutOfBoundsDatetime`` before the
    project's check of the read output runs.
    """
    if process != "ReadNumpyFile" or not isinstance(file, str | Path):
        return
    try:
        with np.load(file, allow_pickle=False) as data:
            time = data["time"] if "time" in data.files else None
    except Exception:  # the file is unreadable as a whole: the reader's own error says so
        return
    check_time(step, process, time)


class WarningCapture:
    """Record warnings (so SKDH's many warnings never turn into errors) and log each once.

    ``warnings.catch_warnings`` is process-global: runs in threads of one process
    share it (Dagster's default executor runs each step in its own process).
    :meth:`note` adds the project's own findings (a skipped step), reported after
    SKDH's warnings and never merged with them.
    """

    def __init__(self, sink: list[str] | None):
        self.sink = sink
        self._cm = warnings.catch_warnings(record=True)
        self._notes: list[str] = []

    def __enter__(self) -> WarningCapture:
        self._records = self._cm.__enter__()
        warnings.simplefilter("always")
        return self

    def note(self, text: str) -> None:
        self._notes.append(text)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        self._cm.__exit__(exc_type, exc, tb)
        seen: Counter[str] = Counter()
        for w in self._records or []:
            seen[f"{w.category.__name__}: {w.message}"] += 1
        messages = [text + (f" (x{count})" if count > 1 else "") for text, count in seen.items()]
        messages += [f"biomarker_assets: {text}" for text in self._notes]
        for message in messages:
            if self.sink is None:
                logger.warning("SKDH %s", message)
            else:  # the caller reports them (e.g. to the Dagster run log)
                self.sink.append(message)
        return False


def _without_signals(step_result: Mapping, before: Mapping) -> dict:
    """A step's results without the per-sample signals it handed back (they are the recording, not results)."""
    n = n_samples(before)
    return {
        k: v
        for k, v in step_result.items()
        if not (k in _SIGNAL_KEYS and isinstance(v, np.ndarray) and v.ndim and v.shape[0] == n)
    }


def _run_steps(
    pipeline: skdh.Pipeline, capture: WarningCapture, final_inputs: dict | None, **kwargs: Any
) -> dict[str, dict]:
    """``skdh.Pipeline.run`` (steps in order, kwargs handed on, results by step name) with checks between steps."""
    results: dict[str, dict] = {}
    for i, proc in enumerate(pipeline_steps(pipeline)):
        if proc.pipe_save_file is not None or proc.pipe_plot_file is not None:
            raise PipelineSpecError([f"step {i} ({type(proc).__name__!r}): save_file/plot_file must be None"])
        if step_listener is not None:
            step_listener(i, type(proc).__name__)
        check_step_inputs(i, proc, kwargs)
        if skipped := wear_window_too_long(i, proc, kwargs):  # SKDH would raise: wear is not computed, with why
            results[step_name(proc)], skip_note, kwargs = skipped
            capture.note(skip_note)
            continue
        before = kwargs
        kwargs, step_result = _predict(i, proc, kwargs)
        if final_inputs is not None and "file_fs_measured" not in final_inputs and kwargs.get("time") is not None:
            final_inputs.update(file_rates(kwargs))  # as read, before any step resamples it
        if isinstance(proc, CalibrateAccelerometer):
            step_result, note = calibration_record(i, proc, before, kwargs, step_result)
            if note:
                capture.note(note)
        elif isinstance(step_result, Mapping) and not is_signal_step(proc):
            step_result = _without_signals(step_result, before)
        if step_result is not None:
            results[step_name(proc)] = step_result
    if final_inputs is not None:
        final_inputs.update(kwargs)
    if step_listener is not None:
        step_listener(-1, "")
    return results


def run_pipeline(
    pipeline: skdh.Pipeline,
    path: Path,
    *,
    captured_warnings: list[str] | None = None,
    final_inputs: dict | None = None,
    **inputs: Any,
) -> dict[str, dict]:
    """Run ``pipeline`` on the file at ``path``; return SKDH's results per step name.

    ``inputs`` are extra SKDH inputs (``height`` in m, ``tz_name``, ...).
    Results of signal steps (readers, ``Resample``: see ``readers.is_signal_step``) are
    left out: SKDH returns the whole recording as their "results", which would otherwise
    become a results table; use :func:`read_file` to look at a reader's output. For the
    same reason per-sample signals (``accel``, ...) other steps hand back are
    dropped from their results. Warnings are logged on ``biomarker_assets.skdh``
    (each distinct message once) or, if ``captured_warnings`` is a list,
    appended to it instead. ``final_inputs``, if a dict, receives what the last
    step handed on (the signal, ``fs``, ``wear``/``sleep`` indices), for QC and plots,
    and the file's rates as read (``file_fs_nominal``, ``file_fs_measured``, ``file_n_samples``).

    File-dependent SKDH traps are handled here (the static ones are rejected by
    validation):

    - ``DETACH``/``CtaWearDetection`` on data without temperature raise
      :class:`PipelineRunError` naming the step (the file cannot give a wear
      result; SKDH itself fails with a NumPy ``AxisError``);
    - ``CalibrateAccelerometer`` on a recording shorter than its ``min_hours``
      (or without enough still data) does not stop the file: SKDH leaves the
      acceleration uncalibrated, and the step's results record ``applied =
      False`` with the reason, plus a warning. A study team then keeps every
      other biomarker of a short (e.g. in-clinic) recording and can filter on
      the flag; failing would block such files for good, as re-running cannot
      make a recording longer.
    """
    with WarningCapture(captured_warnings) as capture:
        results = _run_steps(pipeline, capture, final_inputs, file=str(path), **inputs)
    signal = {step_name(proc) for proc in pipeline_steps(pipeline) if is_signal_step(proc)}
    return {name: res for name, res in results.items() if name not in signal}


def read_file(
    reader_step: dict, path: Path, *, captured_warnings: list[str] | None = None, **inputs: Any
) -> dict[str, Any]:
    """Validate and run only a reader step (one in ``readers.READERS``) on ``path``; return what it read.

    ``reader_step`` is one entry of a spec's ``Steps``. Useful to check a reader
    against truth data and to inspect a file, since :func:`run_pipeline` drops
    reader output.
    """
    if not (isinstance(reader_step, Mapping) and reader_named(reader_step.get("package"), reader_step.get("process"))):
        got = reader_step.get("process") if isinstance(reader_step, Mapping) else reader_step
        readers = ", ".join(r.process for r in READERS)
        raise PipelineSpecError([f"step 0 ({got!r}): not a reader (package skdh, one of {readers})"])
    spec = {"Steps": [reader_step], "Version": SKDH_VERSION}
    pipeline = load_pipeline(spec)
    with WarningCapture(captured_warnings):
        results = pipeline.run(file=str(path), **inputs)
    return dict(next(iter(results.values()), {}))
