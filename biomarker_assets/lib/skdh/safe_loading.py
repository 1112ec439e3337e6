"""Run-time guard: SKDH never unpickles, whatever a pipeline was built with.

Validation refuses ``allow_pickle: true`` (``parameter_policy.py``), but a pipeline can also be
built in code, or a reader made by ``MultiReader`` from its ``reader_kw`` inside ``predict``. SKDH's
``ReadNumpyFile`` calls the name ``np_load`` of its own module, so replacing that one name covers
every way a reader is made: ``np.load`` then refuses object arrays with a ``ValueError`` instead of
running a pickle's payload.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _load_without_pickles(file: Any, mmap_mode: Any = None, allow_pickle: bool = False, **kwargs: Any) -> Any:
    del allow_pickle  # whatever the reader asked for
    return np.load(file, mmap_mode=mmap_mode, allow_pickle=False, **kwargs)


def install() -> None:
    """Make SKDH's ``.npz`` reader refuse pickles; idempotent, done when the allow-list is imported."""
    from skdh.io import numpy_compressed

    numpy_compressed.np_load = _load_without_pickles


def installed() -> bool:
    from skdh.io import numpy_compressed

    return numpy_compressed.np_load is _load_without_pickles
