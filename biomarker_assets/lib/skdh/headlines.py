"""Reading single numbers out of SKDH results (dicts of arrays), for headline biomarkers.

Which numbers, from which SKDH result keys, is per biomarker kind: see
``biomarker_assets.lib.biomarkers.kinds``. No SKDH import: results are plain data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np

#: the result key of a wear step skipped on a recording shorter than its window (lib/skdh/short_recording.py)
WEAR_NOT_COMPUTED = "wear_not_computed"


def floats(values: Any) -> np.ndarray:
    """``values`` as a flat float array; empty when they are not numbers."""
    import numpy as np  # imported on use: the code location loads without it

    try:
        return np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return np.array([], dtype=float)


def nan_stat(values: Any, how: Literal["mean", "sum"]) -> float | None:
    """Mean or sum of the finite values; None when there are none."""
    import numpy as np  # imported on use: the code location loads without it

    arr = floats(values)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return None
    return float(arr.mean() if how == "mean" else arr.sum())


def first_step_with(results: Mapping[str, Any], key: str | re.Pattern) -> tuple[Mapping, str] | None:
    """(results of the first step having ``key``, the matching key): steps are found by what they return,
    not by their (study-chosen) names."""
    for res in results.values():
        if not isinstance(res, Mapping):
            continue
        for k in res:
            if (k == key) if isinstance(key, str) else (isinstance(k, str) and key.match(k)):
                return res, k
    return None
