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

import warnings
from collections.abc import Callable, Mapping
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
from biomarker_assets.lib.skdh.piece_days import (
    GOAL_FS,
    MissingTimes,
    SparseTime,
    downsample_window,
    guess_indices,
    margin_samples,
    neighbourhood,
)
from biomarker_assets.lib.skdh.piece_wear import WearWindowStats, decide_wear, wear_window_samples
from biomarker_assets.lib.skdh.pieces import Pieces
from biomarker_assets.lib.skdh.pipeline import pipeline_steps, step_name
from biomarker_assets.lib.skdh.readers import reader_for_class
from biomarker_assets.lib.skdh.short_recording import wear_window_too_long

__all__ = ["NotPiecewise", "PIECE_SECONDS", "run_pipeline_in_pieces"]

PIECE_SECONDS = 6 * 3600.0  # pass 1's piece: small against a day, large enough to keep Python overhead low
MAX_EXTRA_PASSES = 20


class NotPiecewise(RuntimeError):
    """This pipeline or recording cannot run in pieces (the message says why); run it whole-file."""


def _per_sample(data: Mapping[str, Any], n: int) -> set[str]:
    return {k for k, v in data.items() if isinstance(v, np.ndarray) and v.ndim and v.shape[0] == n}


def _notify(i: int, name: str) -> None:
    if execution.step_listener is not None:
        execution.step_listener(i, name)


class _Run:
    """One day-piece run: the recording's pieces, what pass 1 learned, and the state handed between steps."""

    def __init__(self, pieces: Pieces, piece_seconds: float, inputs: dict[str, Any]):
        self.pieces = pieces
        self.piece_seconds = piece_seconds
        self.inputs = inputs
        self.n = int(pieces.n_samples)
        self.t_first, self.t_last = (float(t) for t in pieces.time_span)
        head = pieces.window(self.t_first, np.nextafter(self.t_first, np.inf))
        self.scalars = {k: v for k, v in head.data.items() if k not in _per_sample(head.data, head.n)}
        fs = self.scalars.get("fs")
        if fs is None:
            raise NotPiecewise("the reader gives no sampling rate (fs)")
        self.fs = float(fs)
        self.known: dict[int, float] = {0: self.t_first, self.n - 1: self.t_last}
        self.transform: Callable[[dict], dict] = lambda data: data
        self.state: dict[str, Any] = {}  # what steps hand on (wear, day_ends, sleep, sleep's results)

    def read(self, lo: int, hi: int) -> dict[str, Any]:
        """Samples ``lo .. hi - 1`` (global indices) through ``pieces.window``, calibrated if the pipeline is."""
        slack = 5.0 + (hi - lo) / self.fs * 0.01
        while True:
            t0 = self.known.get(lo, self.t_first + lo / self.fs) - slack
            t1 = self.known.get(hi - 1, self.t_first + (hi - 1) / self.fs) + slack
            piece = self.pieces.window(t0, t1)
            if (piece.start <= lo or t0 < self.t_first) and (piece.stop >= hi or t1 > self.t_last):
                break
            slack *= 4
        if piece.start > lo or piece.stop < hi:
            raise NotPiecewise(f"samples {lo}..{hi} are not served in time order by the reader")
        keys = _per_sample(piece.data, piece.n)
        a, b = lo - piece.start, hi - piece.start
        data = {k: (v[a:b] if k in keys else v) for k, v in piece.data.items()}
        return self.transform(data)

    def collect(self, wanted: np.ndarray) -> None:
        """One streaming pass keeping the timestamps at ``wanted`` (sorted global indices)."""
        for piece in self.pieces.iter_pieces(self.piece_seconds):
            self._keep_times(piece.start, np.asarray(piece.data["time"]), wanted)

    def _keep_times(self, start: int, time: np.ndarray, wanted: np.ndarray) -> None:
        lo, hi = np.searchsorted(wanted, [start, start + time.size])
        sel = wanted[lo:hi]
        self.known.update(zip(sel.tolist(), time[sel - start].tolist(), strict=True))


def _pass_one(run: _Run, wear_proc: Any, days_proc: Any) -> tuple[np.ndarray | None, PieceEnvelope, dict]:
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
    for piece in run.pieces.iter_pieces(run.piece_seconds):
        data = run.transform(dict(piece.data))
        time = np.asarray(data["time"], dtype=np.float64)
        run._keep_times(piece.start, time, wanted_arr)
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


def _day_windows(run: _Run, proc: GetDayWindowIndices) -> dict:
    """SKDH's ``window_days`` on the collected timestamps; one more pass per round of missing ones."""
    proc.tz_name = run.inputs.get("tz_name")  # what BaseProcess.predict sets before window_days
    for _ in range(MAX_EXTRA_PASSES):
        try:
            return proc.window_days(SparseTime(run.n, run.known), run.fs)
        except MissingTimes as missing:
            more = neighbourhood(missing.indices, int(10 * run.fs) + 2, run.n) - run.known.keys()
            run.collect(np.array(sorted(more), dtype=np.int64))
    raise NotPiecewise("the day-window search did not settle on the recording's timestamps")


def _merge_days(parts: list[tuple[int, dict]]) -> dict:
    """Per-day results (one day each) -> one result as the whole run builds it; ``Day N`` is the global day."""
    merged: dict[str, Any] = {}
    for iday, res in parts:
        if "Day N" in res:
            res["Day N"] = [iday + 1 for _ in res["Day N"]] if isinstance(res["Day N"], list) else res["Day N"]
            if isinstance(res["Day N"], np.ndarray):
                res["Day N"] = np.full_like(res["Day N"], iday + 1)
        for k, v in res.items():
            merged.setdefault(k, []).append(v)
    out: dict[str, Any] = {}
    for k, values in merged.items():
        if isinstance(values[0], np.ndarray):
            out[k] = np.concatenate(values)
        elif isinstance(values[0], list):
            out[k] = [x for v in values for x in v]
        else:
            out[k] = values[-1]
    return out


def _step_kwargs(run: _Run, data: Mapping[str, Any], shift: int, **extra: Any) -> dict[str, Any]:
    """What the step would get in the whole run: the signal, the state (indices shifted into ``data``) and inputs."""
    kwargs = {**run.scalars, **run.state, **run.inputs, **data, **extra}
    for key in ("wear", "sleep"):
        if isinstance(kwargs.get(key), np.ndarray) and key not in extra:
            kwargs[key] = kwargs[key] - shift
    return kwargs


def _run_sleep(run: _Run, proc: Sleep) -> dict:
    days = run.state["day_ends"][proc.day_key]
    wear = run.state.get("wear")
    if wear is None:  # SKDH warns once and assumes the whole recording worn
        warnings.warn(f"[{proc!s}] External wear detection not provided. Assuming 100% wear time.", stacklevel=2)
        wear = np.array([[0, run.n - 1]])
    downsample = run.fs != GOAL_FS and proc.downsample
    ratio = run.fs / GOAL_FS
    step = int(ratio) if int(ratio) == ratio and ratio > 1 else 1
    margin = margin_samples(run.fs) if downsample else 0
    sleep_idx = np.full((days.shape[0], 2), -1, dtype=np.int_)
    parts = []
    for iday, (a, b) in enumerate(days.tolist()):
        lo = max(0, a - margin)
        lo -= lo % step if downsample else 0
        hi = min(run.n, b + 1 + margin)
        data = run.read(lo, hi)
        day_wear = _day_wear(wear, a, b)
        if downsample:
            first, time, accel, temp, mapped = downsample_window(
                lo, data, fs=run.fs, time0=run.t_first, time_last=run.t_last, n_total=run.n,
                aa_filter=proc.aa_filter, indices={"day": np.array([a, b]), "wear": day_wear.ravel()},
            )  # fmt: skip
            signal = {"time": time, "accel": accel, "temperature": temp}
            day_local, wear_local, fs_call = mapped["day"] - first, mapped["wear"].reshape(-1, 2) - first, GOAL_FS
        else:
            first, signal, fs_call = lo, data, run.fs
            day_local, wear_local = np.array([a, b]) - lo, day_wear - lo
        kwargs = _step_kwargs(
            run, signal, first, fs=fs_call, wear=wear_local, day_ends={proc.day_key: day_local[None, :]}
        )
        kwargs, res = proc.predict(**kwargs)
        row = np.asarray(kwargs["sleep"])[0]
        if row[0] != -1:
            sleep_idx[iday] = [int((int(r) + first) * run.fs / fs_call) for r in row] if downsample else row + lo
        parts.append((iday, dict(res)))
        del data, signal, kwargs
    if not parts:
        parts.append((0, _empty_day_result(run, proc)))
    result = _merge_days(parts)
    run.state.update(result)
    run.state["sleep"] = sleep_idx
    return result


def _day_wear(wear: np.ndarray, a: int, b: int) -> np.ndarray:
    """Wear bouts touching day [a, b], clipped to it: what ``get_day_index_intersection`` makes of all bouts.

    Bouts wholly outside the day clip to zero-length bouts at its edges, which only add zero-length
    exclusions; keeping one (when none touch the day) keeps "no wear this day" as it is.
    """
    touching = wear[(wear[:, 1] >= a) & (wear[:, 0] <= b)] if wear.size else wear
    if wear.size and not touching.size:
        return np.array([[a, a]])
    return np.clip(touching, a, b)


def _run_activity(run: _Run, proc: ActivityLevelClassification) -> dict:
    days = run.state["day_ends"][proc.day_key]
    parts = []
    for iday, (a, b) in enumerate(days.tolist()):
        data = run.read(a, b + 1)
        kwargs = _step_kwargs(run, data, a, fs=run.fs, day_ends={proc.day_key: np.array([[0, b - a]])})
        _, res = proc.predict(**kwargs)
        parts.append((iday, dict(res)))
        del data, kwargs
    if not parts:
        parts.append((0, _empty_day_result(run, proc)))
    return _merge_days(parts)


def _empty_day_result(run: _Run, proc: Any) -> dict:
    """The step's result for a recording with no day window: run it on two samples with no days."""
    data = run.read(0, min(run.n, 2))
    fs = GOAL_FS if isinstance(proc, Sleep) else run.fs  # Sleep: nothing to downsample
    kwargs = _step_kwargs(run, data, 0, fs=fs, day_ends={proc.day_key: np.empty((0, 2), dtype=np.int_)})
    _, res = proc.predict(**kwargs)
    return dict(res)


def _calibrate(run: _Run, proc: CalibrateAccelerometer) -> dict:
    try:
        from biomarker_assets.lib.skdh.piece_calibration import fit_calibration  # type: ignore[import-not-found]  # lands separately
    except ImportError as exc:
        raise NotPiecewise("calibration in pieces needs lib/skdh/piece_calibration, which is not installed") from exc
    fit = fit_calibration(run.pieces, proc)
    run.transform = fit.apply
    return dict(fit.results)


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
        run = _Run(pieces, piece_seconds, dict(inputs))
        by_kind = {kind: next(((i, p) for i, p in enumerate(steps) if isinstance(p, kind)), None) for kind in supported}
        if by_kind[CalibrateAccelerometer] is not None:
            i, proc = by_kind[CalibrateAccelerometer]
            _notify(i, type(proc).__name__)
            results[step_name(proc)] = _calibrate(run, proc)
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
                runner = _run_sleep if isinstance(proc, Sleep) else _run_activity
                results[step_name(proc)] = runner(run, proc)  # type: ignore[operator]  # both take (run, proc)
        order = [step_name(p) for p in steps]
        results = {name: results[name] for name in order if name in results}
    if final_inputs is not None:
        final_inputs.update(rates)
        final_inputs.update({**run.scalars, **run.inputs, **run.state})
        final_inputs["overview_envelope"] = envelope.result()
        final_inputs["overview_times"] = run.known
    _notify(-1, "")
    return results
