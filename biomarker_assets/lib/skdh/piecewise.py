"""Run a wrist pipeline on a recording read in pieces: ``run_pipeline``'s results, memory set by one day.

Two passes over :class:`~biomarker_assets.lib.skdh.pieces.Pieces`:

1. stream consecutive pieces once: wear detection's window statistics (``piece_wear``), the
   timestamps the day-window search and the plot need, the overview envelope and the file's
   rates; then wear bouts (SKDH's decision code) and day windows (SKDH's ``window_days`` on the
   collected timestamps, ``piece_days``), all in whole-recording sample indices;
2. per-day steps (Sleep, ActivityLevelClassification), each over its own day windows: read one
   day (plus a filter margin for Sleep), run SKDH's step on it with ``day_ends`` holding that day
   and ``wear``/``sleep`` in the day's indices, map indices back, and assemble the days as the
   whole run does (``Day N`` numbering, dtypes).

Which pipelines qualify: ``piece_plan.piece_plan``. Why it is equal: the modules named above.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import skdh
from skdh.activity import ActivityLevelClassification
from skdh.preprocessing import AccelThresholdWearDetection, CalibrateAccelerometer, GetDayWindowIndices
from skdh.sleep import Sleep

from biomarker_assets.lib.biomarkers.overview_plot import PieceEnvelope
from biomarker_assets.lib.biomarkers.quality import MAX_SAMPLE_INTERVAL_S
from biomarker_assets.lib.skdh import execution
from biomarker_assets.lib.skdh.errors import PipelineSpecError
from biomarker_assets.lib.skdh.execution import WarningCapture
from biomarker_assets.lib.skdh.piece_day_steps import run_activity, run_sleep
from biomarker_assets.lib.skdh.piece_days import MissingTimes, SparseTime, guess_indices, neighbourhood
from biomarker_assets.lib.skdh.piece_source import NotPiecewise, PieceRun
from biomarker_assets.lib.skdh.piece_wear import WearWindowStats, decide_wear, wear_window_samples
from biomarker_assets.lib.skdh.pieces import Pieces
from biomarker_assets.lib.skdh.pipeline import pipeline_steps, step_name
from biomarker_assets.lib.skdh.readers import reader_for_class
from biomarker_assets.lib.skdh.short_recording import wear_window_too_long

__all__ = ["NotPiecewise", "PIECE_SECONDS", "run_pipeline_in_pieces"]

PIECE_SECONDS = 6 * 3600.0  # pass 1's piece: small against a day, large enough to keep Python overhead low
MAX_EXTRA_PASSES = 20


def _notify(i: int, name: str) -> None:
    if execution.step_listener is not None:
        execution.step_listener(i, name)


def _pass_one(run: PieceRun, wear_proc: Any, days_proc: Any) -> tuple[np.ndarray | None, PieceEnvelope, dict]:
    """Stream the recording once: wear statistics, timestamps wanted later, envelope, rates."""
    stats = skip = None
    if wear_proc is not None:
        w_len, skip = wear_window_samples(wear_proc, run.fs)
        stats = WearWindowStats(w_len, skip)
    envelope = PieceEnvelope(run.n)
    wanted = {0, run.n - 1, *envelope.starts.tolist()}
    if skip:
        wanted.update(range(0, run.n, skip))
    if days_proc is not None:
        asked = guess_indices(days_proc.window_days, run.n, run.known, run.fs)
        wanted |= neighbourhood(asked, int(10 * run.fs) + 2, run.n)
    wanted_arr = np.array(sorted(wanted), dtype=np.int64)
    n_steps, total, last_t = 0, 0.0, None
    with run.reading():  # the pieces' reader warnings, once each
        for piece in run.pieces.iter_pieces(run.piece_seconds):
            data = run.transform(dict(piece.data))
            time = np.asarray(data["time"], dtype=np.float64)
            run.keep_times(piece.start, time, wanted_arr)
            steps = np.diff(time) if last_t is None else np.diff(np.concatenate(([last_t], time)))
            steps = steps[(steps > 0) & (steps <= MAX_SAMPLE_INTERVAL_S)]
            n_steps, total, last_t = n_steps + steps.size, total + float(steps.sum()), float(time[-1])
            accel = np.asarray(data["accel"])
            envelope.add(piece.start, accel)
            if stats is not None:
                stats.add(accel)
            del piece, data, time, accel
    rates = {
        "file_fs_nominal": run.fs,
        "file_fs_measured": (n_steps / total) if n_steps else None,
        "file_n_samples": run.n,
    }
    wear = None
    if stats is not None and skip:
        sd, rng = stats.result()
        wear = decide_wear(wear_proc, sd, rng, run.n, skip)
    return wear, envelope, rates


def _day_windows(run: PieceRun, proc: GetDayWindowIndices) -> dict:
    """SKDH's ``window_days`` on the collected timestamps; one more pass per round of missing ones."""
    proc.tz_name = run.inputs.get("tz_name")  # what BaseProcess.predict sets before window_days
    for _ in range(MAX_EXTRA_PASSES):
        try:
            return proc.window_days(SparseTime(run.n, run.known), run.fs)
        except MissingTimes as missing:
            more = neighbourhood(missing.indices, int(10 * run.fs) + 2, run.n) - run.known.keys()
            run.collect(np.array(sorted(more), dtype=np.int64))
    raise NotPiecewise("the day-window search did not settle on the recording's timestamps")


def _calibrate(run: PieceRun, i: int, proc: CalibrateAccelerometer, capture: WarningCapture) -> dict:
    """Fit calibration on the pieces (``piece_calibration``: the still periods SKDH would use); later reads apply it."""
    try:
        from biomarker_assets.lib.skdh.piece_calibration import fit_calibration
    except ImportError as exc:
        raise NotPiecewise("calibration in pieces needs lib/skdh/piece_calibration, which is not installed") from exc
    with run.reading():
        fit = fit_calibration(run.pieces, proc, fs=run.fs, apply=run.inputs.get("apply", True))
    run.transform = fit.apply
    record, note = fit.record(i)
    if note:
        capture.note(note)
    run.state["calibration_seen"] = fit.seen  # provenance: what the fit saw
    return dict(record)


def run_pipeline_in_pieces(
    pipeline: skdh.Pipeline,
    pieces: Pieces,
    *,
    captured_warnings: list[str] | None = None,
    final_inputs: dict | None = None,
    piece_seconds: float = PIECE_SECONDS,
    **inputs: Any,
) -> dict[str, dict]:
    """``execution.run_pipeline``'s results for ``pipeline`` on the recording ``pieces`` serves.

    ``final_inputs`` receives what QC and the plot use (``fs``, ``wear``, ``sleep``, ``day_ends``,
    the file's rates, ``overview_envelope`` and ``overview_times``), never the signal. Raises
    :class:`NotPiecewise` for a pipeline ``piece_plan`` would refuse.
    """
    steps = pipeline_steps(pipeline)
    if not steps or reader_for_class(type(steps[0])) is None:
        raise NotPiecewise("the pipeline does not start with a reader")
    for i, proc in enumerate(steps):
        if proc.pipe_save_file is not None or proc.pipe_plot_file is not None:
            raise PipelineSpecError([f"step {i} ({type(proc).__name__!r}): save_file/plot_file must be None"])
    supported = (CalibrateAccelerometer, AccelThresholdWearDetection, GetDayWindowIndices, Sleep)
    for i, proc in enumerate(steps[1:], start=1):
        if not isinstance(proc, supported + (ActivityLevelClassification,)):
            raise NotPiecewise(f"step {i} ({type(proc).__name__!r}) is not one day-piece processing reproduces")
    results: dict[str, dict] = {}
    with WarningCapture(captured_warnings) as capture:
        run = PieceRun(pieces, piece_seconds, dict(inputs))
        by_kind = {kind: next(((i, p) for i, p in enumerate(steps) if isinstance(p, kind)), None) for kind in supported}
        calibration = by_kind[CalibrateAccelerometer]
        if calibration is not None:
            _notify(calibration[0], type(calibration[1]).__name__)
            results[step_name(calibration[1])] = _calibrate(run, *calibration, capture)
        wear_at, days_at = by_kind[AccelThresholdWearDetection], by_kind[GetDayWindowIndices]
        wear_proc = wear_at[1] if wear_at else None
        if wear_at is not None:
            _notify(wear_at[0], type(wear_proc).__name__)
            probe = {"time": np.broadcast_to(0.0, (run.n,)), "fs": run.fs}
            if skipped := wear_window_too_long(wear_at[0], wear_proc, probe):
                results[step_name(wear_proc)], note, _ = skipped
                capture.note(note)
                run.state["wear"] = np.empty((0, 2), dtype=int)
                wear_proc = None
        if days_at is not None:
            days_at[1].tz_name = run.inputs.get("tz_name")  # what BaseProcess.predict sets before window_days
        wear, envelope, rates = _pass_one(run, wear_proc, days_at[1] if days_at else None)
        if wear is not None and wear_at is not None:
            run.state["wear"] = wear
            results[step_name(wear_at[1])] = {"wear": wear}
        if days_at is not None:
            _notify(days_at[0], type(days_at[1]).__name__)
            run.state["day_ends"] = _day_windows(run, days_at[1])
            results[step_name(days_at[1])] = {"day_ends": run.state["day_ends"]}
        for i, proc in enumerate(steps):
            if isinstance(proc, Sleep | ActivityLevelClassification):
                _notify(i, type(proc).__name__)
                runner = run_sleep if isinstance(proc, Sleep) else run_activity
                results[step_name(proc)] = runner(run, proc)
        order = [step_name(p) for p in steps]
        results = {name: results[name] for name in order if name in results}
    if final_inputs is not None:
        final_inputs.update(rates)
        final_inputs.update({**run.scalars, **run.inputs, **run.state})
        final_inputs["overview_envelope"] = envelope.result()
        final_inputs["overview_times"] = run.known
    _notify(-1, "")
    return results
