"""A recording shorter than a wear-detection window: wear is not computed, with the reason.

SKDH 0.17.18's ``AccelThresholdWearDetection`` (and ``CtaWearDetection``) raise ``ValueError:
Cannot have a window length larger than the computation axis`` on a recording shorter than
``window_length`` minutes, failing the whole file. The step is skipped instead: its result row says
why, and the steps after it get an empty ``wear`` (nothing is known to be worn), so sleep and
activity report "too little wear" rather than assume the whole file was worn.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from skdh.preprocessing import AccelThresholdWearDetection, CtaWearDetection

from biomarker_assets.lib.skdh.headlines import WEAR_NOT_COMPUTED


def wear_window_too_long(i: int, proc: Any, kwargs: Mapping[str, Any]) -> tuple[dict, str, dict] | None:
    """(the step's result row, a note, the inputs for the next steps) when the recording is shorter than the
    step's window; None otherwise (also when the rate or the samples are not known: SKDH decides)."""
    if not isinstance(proc, AccelThresholdWearDetection | CtaWearDetection):
        return None
    time, fs = kwargs.get("time"), kwargs.get("fs")
    if time is None or fs is None:
        return None
    n = int(np.asarray(time).size)
    window = int(proc.wlen * 60 * float(fs))
    if n >= window:
        return None
    minutes = n / float(fs) / 60.0
    reason = (
        f"the recording is {minutes:.2f} min long, shorter than the wear detection window "
        f"({proc.wlen} min, window_length)"
    )
    record = {WEAR_NOT_COMPUTED: reason, "recording_minutes": minutes, "window_minutes": float(proc.wlen)}
    note = f"step {i} ({type(proc).__name__!r}) skipped: {reason}; wear time is not computed"
    return record, note, {**kwargs, "wear": np.empty((0, 2), dtype=int)}
