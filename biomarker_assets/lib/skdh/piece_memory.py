"""How many samples a day-piece run holds at once: what its memory follows instead of the file's length.

A file that runs in day pieces (``piece_plan`` accepts its pipeline; a ``.cwa`` or ``.bin``) holds
at most one day window of samples (the longest period of its ``GetDayWindowIndices``, 24 h in the
documented pipelines) plus a few blocks either side, however long the recording: its peak follows
``sampling rate x window``, bounded by the file's own samples. The rate is in the file's header,
so run sizing reads the first ``HEAD_BYTES`` of the file (a ranged GET in the launcher) rather than
guessing it; an unreadable header falls back to the whole-file model (None). Plain Python, no SKDH.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from biomarker_assets.lib.skdh.piece_plan import PiecePlan, piece_plan

__all__ = ["HEAD_BYTES", "header_rate", "window_samples"]

HEAD_BYTES = 4096  # a .cwa header is 1,024 bytes; a .bin header states its rate in its first ~2 KB
_BIN_RATE = re.compile(rb"Measurement Frequency:\s*([0-9]+(?:\.[0-9]+)?)")
_CWA_RATE_OFFSET = 36
WINDOW_MARGIN = 1.01  # the piece reader's margin blocks and a day of 25 h (clocks going back)


def header_rate(head: bytes, suffix: str) -> float | None:
    """The sampling rate (Hz) a ``.cwa``/``.bin`` header states; None when it states none this can read."""
    suffix = suffix.lower()
    if suffix == ".cwa" and len(head) > _CWA_RATE_OFFSET and head[:2] == b"MD":
        code = head[_CWA_RATE_OFFSET] & 0x0F
        return 3200.0 / (1 << (15 - code))
    if suffix == ".bin":
        found = _BIN_RATE.search(head)
        if found:
            rate = float(found.group(1))
            return rate if 0 < rate <= 10_000 else None
    return None


def _window_hours(spec: Mapping[str, Any], plan: PiecePlan) -> float:
    if plan.days is None:
        return 24.0
    params = spec["Steps"][plan.days].get("parameters") or {}
    periods = params.get("periods")
    values = periods if isinstance(periods, list | tuple) else [periods]
    return float(max([int(v) for v in values if v is not None] or [24]))


def window_samples(spec: Mapping[str, Any], file_name: str, head: bytes) -> int | None:
    """Samples a day-piece run of ``spec`` on this file holds at most; None when it runs whole-file."""
    plan = piece_plan(spec)
    if isinstance(plan, str):
        return None
    fs = header_rate(head, PurePosixPath(file_name).suffix)
    if fs is None:
        return None
    return int(fs * _window_hours(spec, plan) * 3600 * WINDOW_MARGIN)
