"""SKDH's ``CalibrateAccelerometer`` fitted from a recording read in pieces, with SKDH's numbers.

SKDH fits calibration on 10-s window means and SDs (its ``Store``) of the first ``min_hours``,
then of 12 h more at a time until the fit succeeds or the recording ends, and applies the fit to
every sample. Only the window statistics are needed, so this module streams the pieces and keeps
those (7 float64 per window: 56 B, 484 KB a day), never the signal. SKDH computes them with running
sums that start at each Store update's first sample (the recording's start, then where the last
whole window of the previous update ended), so a window's last bits depend on where its update
began; :mod:`.piece_moments` carries those sums across piece boundaries and restarts them where
SKDH's updates start, so every statistic is bit-identical. SKDH's own ``Store`` is then filled with
them and SKDH's own ``_do_iterative_closest_point_fit`` runs over the same prefixes, with SKDH's
warnings and its "too short: no calibration" case. Pieces are read only up to the prefix the fit
succeeds on.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from skdh.preprocessing import CalibrateAccelerometer
from skdh.preprocessing.calibrate import Store

from biomarker_assets.lib.skdh.piece_moments import StoreCall, WindowMoments, plan_store_calls, stream_fs
from biomarker_assets.lib.skdh.pieces import Piece, Pieces
from biomarker_assets.lib.skdh.traps import calibration_outcome

__all__ = ["CalibrationFit", "fit_calibration"]

#: piece length the fit reads with; any length gives the same numbers
PIECE_SECONDS = 6 * 3600.0


@dataclass(frozen=True)
class CalibrationFit:
    """What SKDH's ``CalibrateAccelerometer.predict`` would have returned, and how to apply it piece by piece.

    ``skdh_results`` is SKDH's results dict minus ``accel`` (``{}`` when the recording is shorter than
    ``min_hours``). ``applied`` is whether SKDH would have changed the acceleration.
    """

    min_hours: int
    recording_hours: float
    applied: bool
    apply_requested: bool
    skdh_results: dict[str, np.ndarray]
    temp_mean: float
    uses_temperature: bool
    hours_seen: float
    windows: int
    still_windows: int
    stats_nbytes: int
    _proc: CalibrateAccelerometer = field(repr=False)

    @property
    def results(self) -> dict:
        """The step's results row as the whole-file run records it (``traps.calibration_record``)."""
        return self.record(0)[0]

    def record(self, step: int) -> tuple[dict, str | None]:
        """(results row, note when not applied) for step index ``step``, as ``execution`` records them."""
        return calibration_outcome(
            step,
            self._proc,
            hours=self.recording_hours,
            result=self.skdh_results,
            applied=self.applied,
            apply_requested=self.apply_requested,
        )

    @property
    def seen(self) -> str:
        """What the fit saw, for provenance."""
        if not self.skdh_results:
            return (
                f"nothing: the recording ({self.recording_hours:.2f} h) is shorter than min_hours ({self.min_hours} h)"
            )
        span = (
            f"the whole recording ({self.hours_seen:.2f} h)"
            if self.hours_seen >= self.recording_hours
            else f"the first {self.hours_seen:g} h of {self.recording_hours:.2f} h"
        )
        return f"{span} (10-s windows: {self.windows}, still: {self.still_windows})"

    def apply(self, piece_data: Mapping[str, Any]) -> dict[str, Any]:
        """``piece_data`` with its acceleration calibrated exactly as SKDH does it (unchanged if not applied)."""
        out = dict(piece_data)
        if not self.applied:
            return out
        offset, scale = self.skdh_results["offset"], self.skdh_results["scale"]
        accel = piece_data["accel"]
        if not self.uses_temperature:
            out["accel"] = (accel + offset) * scale
            return out
        temperature = piece_data.get("temperature")
        if temperature is None:
            raise ValueError("calibration was fitted with temperature, but this piece has no 'temperature'")
        temp_scale = self.skdh_results["temperature scale"]
        out["accel"] = (accel + offset) * scale + (temperature - self.temp_mean)[:, None] * temp_scale
        return out


def _still_windows(proc: CalibrateAccelerometer, store: Store) -> int:
    """Windows SKDH's fit keeps (its own mask: every axis's SD under ``sd_criteria``, |mean| < 2 g)."""
    still = np.all(store.acc_rsd < proc.sd_crit, axis=1) & np.all(np.abs(store.acc_rm) < 2, axis=1)
    return int(still.sum())


def _fill_store(moments: WindowMoments, call: StoreCall, wlen: int) -> Store:
    """SKDH's Store holding what SKDH's updates up to and including ``call`` would have put in it."""
    store = Store(wlen)
    sd, mean, tmean = moments.rows(call)
    store._acc_rsd, store._acc_rm, store._tmp_rm = sd, mean, tmean
    store._n = store._nt = call.stop
    return store


def fit_calibration(
    pieces: Pieces,
    proc: CalibrateAccelerometer,
    *,
    fs: float | None = None,
    apply: bool = True,
    piece_seconds: float = PIECE_SECONDS,
) -> CalibrationFit:
    """Fit ``proc`` on ``pieces`` as ``proc.predict`` would on the whole arrays; read as few pieces as that needs.

    A day-piece run calls it before its pass over the pieces, then hands each piece's data through
    ``fit.apply`` and records ``fit.record(step_index)`` as the step's results (and note).

    ``fs`` as SKDH takes it: given, else the pieces' ``fs``, else ``1 / mean(diff(time))`` over the
    whole recording (one extra pass over ``time``). Raises what SKDH raises (e.g. its ``ValueError``
    when a temperature recording ends within 10 s of a 12-h step SKDH then tries).
    """
    n = int(pieces.n_samples)
    stream: Iterator[Piece] = pieces.iter_pieces(piece_seconds)
    first = next(stream, None)
    if first is None:
        raise ValueError("the recording has no samples")
    if fs is None:
        fs = first.data.get("fs")
    fs = float(fs) if fs is not None else stream_fs(pieces, piece_seconds)
    uses_temperature = first.data.get("temperature") is not None
    wlen, nh, n12h = int(10 * fs), int(proc.min_hours * 3600 * fs), int(12 * 3600 * fs)
    recording_hours = n / fs / 3600.0
    common = {
        "min_hours": int(proc.min_hours),
        "recording_hours": recording_hours,
        "apply_requested": apply,
        "uses_temperature": uses_temperature,
        "_proc": proc,
    }
    if n < nh:  # SKDH's message, word for word
        warnings.warn(
            f"Less than {proc.min_hours} hours of data ({n / (fs * 3600)} hours). No Calibration performed",
            UserWarning,
            stacklevel=2,
        )
        _close(stream)
        return CalibrationFit(
            applied=False,
            skdh_results={},
            temp_mean=0.0,
            hours_seen=0.0,
            windows=0,
            still_windows=0,
            stats_nbytes=0,
            **common,
        )

    calls = plan_store_calls(n, nh, n12h, wlen)
    moments = WindowMoments(n, wlen, [c.start for c in calls], uses_temperature)
    pending: Iterator[Piece] = _chain(first, stream)
    for i_h, call in enumerate(calls):
        while moments.position < call.prefix:
            moments.feed(next(pending).data)
        store = _fill_store(moments, call, wlen)
        finished, offset, scale, temp_scale, temp_mean = proc._do_iterative_closest_point_fit(store)
        if finished or i_h == len(calls) - 1:
            break
    _close(stream)
    valid = bool(finished)
    if not finished:  # SKDH's message, word for word (its loop ran out of recording)
        warnings.warn(
            f"Recalibration not done with {proc.min_hours + (i_h - 1) * 12} - "
            f"{proc.min_hours + i_h * 12} hours due to insufficient non-movement "
            f"data available",
            UserWarning,
            stacklevel=2,
        )
    applied = apply and valid
    if applied:
        proc.logger.info(f"Applying calibration: {offset=}, {scale=}, {temp_mean=}, {temp_scale=}")
    return CalibrationFit(
        applied=applied,
        skdh_results={"offset": offset, "scale": scale, "temperature scale": temp_scale},
        temp_mean=float(temp_mean),
        hours_seen=call.prefix / fs / 3600.0,
        windows=int(store.acc_rm.shape[0]),
        still_windows=_still_windows(proc, store),
        stats_nbytes=moments.nbytes,
        **common,
    )


def _close(stream: Iterator[Piece]) -> None:
    """Let a file-backed generator release its file now (the fit may stop long before the recording ends)."""
    close = getattr(stream, "close", None)
    if close is not None:
        close()


def _chain(first: Piece, rest: Iterator[Piece]) -> Iterator[Piece]:
    yield first
    yield from rest
