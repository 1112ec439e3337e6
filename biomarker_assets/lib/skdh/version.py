"""The installed SKDH version, read from package metadata so that asking for it does not import SKDH.

``import skdh`` pulls in SciPy, Matplotlib and LightGBM (seconds); code versions and
provenance need only the string.
"""

from __future__ import annotations

from importlib.metadata import version

SKDH_VERSION: str = version("scikit-digital-health")
