"""Run a study pipeline on one file in day pieces when it can (memory flat in recording length), else whole.

Day pieces need a pipeline ``piece_plan`` accepts, a block-structured file (``.cwa``, ``.bin``)
and the piece reader (``piece_files.open_pieces``). Anything else, or a recording the piece run
refuses while running (:class:`~biomarker_assets.lib.skdh.piece_source.NotPiecewise`), runs
whole-file through ``execution.run_pipeline``. Either way the caller gets the same results and a
record of how the file ran, for provenance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import skdh

from biomarker_assets.lib.skdh.execution import run_pipeline
from biomarker_assets.lib.skdh.piece_plan import piece_plan
from biomarker_assets.lib.skdh.piece_source import NotPiecewise
from biomarker_assets.lib.skdh.piecewise import PIECE_SECONDS, run_pipeline_in_pieces

__all__ = ["PIECE_SUFFIXES", "run_file"]

PIECE_SUFFIXES = frozenset({".cwa", ".bin"})


def _piece_reason(spec: dict, path: Path) -> str | None:
    """None when the file can run in day pieces, else why it runs whole-file."""
    plan = piece_plan(spec)
    if isinstance(plan, str):
        return plan
    if path.suffix.lower() not in PIECE_SUFFIXES:
        return (
            f"{path.suffix or 'extensionless'} files are read whole (day pieces: {', '.join(sorted(PIECE_SUFFIXES))})"
        )
    return None


def run_file(
    pipeline: skdh.Pipeline,
    spec: dict,
    path: Path,
    *,
    captured_warnings: list[str] | None = None,
    final_inputs: dict | None = None,
    **inputs: Any,
) -> tuple[dict[str, dict], dict[str, Any]]:
    """(``run_pipeline``'s results, how the file ran: ``{"mode": "day_pieces" | "whole_file", ...}``)."""
    reason = _piece_reason(spec, path)
    if reason is None:
        try:
            from biomarker_assets.lib.skdh.piece_files import open_pieces
        except ImportError:
            reason = "the piece reader (lib/skdh/piece_files) is not installed"
    if reason is None:
        n_warnings = len(captured_warnings) if captured_warnings is not None else 0
        try:
            pieces = open_pieces(spec["Steps"][0], path, **inputs)
        except MemoryError:
            raise
        except Exception as exc:  # the whole-file reader names what is wrong with the file, as it always has
            reason = f"the piece reader could not open the file ({type(exc).__name__}: {exc})"
    if reason is None:
        try:
            results = run_pipeline_in_pieces(
                pipeline, pieces, captured_warnings=captured_warnings, final_inputs=final_inputs, **inputs
            )
            how: dict[str, Any] = {"mode": "day_pieces", "piece_seconds": PIECE_SECONDS}
            if final_inputs is not None and final_inputs.get("calibration_seen"):
                how["calibration_saw"] = final_inputs["calibration_seen"]
            return results, how
        except NotPiecewise as exc:
            reason = f"day pieces refused this recording: {exc}"
            if captured_warnings is not None:
                del captured_warnings[n_warnings:]
            if final_inputs is not None:
                final_inputs.clear()
    results = run_pipeline(pipeline, path, captured_warnings=captured_warnings, final_inputs=final_inputs, **inputs)
    return results, {"mode": "whole_file", "reason": reason}
