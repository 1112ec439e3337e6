"""The installed SKDH version and the numeric stack's versions, read from package metadata without importing them.

``import skdh`` pulls in SciPy, Matplotlib and LightGBM (seconds); code versions and
provenance need only the strings.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

SKDH_VERSION: str = version("scikit-digital-health")

#: every installed distribution that can change a number in a result: SKDH and what it computes with
#: (its own requirements), the readers' libraries, and what writes the result files.
NUMERIC_PACKAGES: tuple[str, ...] = (
    "scikit-digital-health",
    "numpy",
    "scipy",
    "pandas",
    "lightgbm",
    "PyWavelets",
    "scikit-learn",
    "h5py",
    "avro",
    "pyarrow",
    "matplotlib",
    "pyyaml",
    "pydantic",
)


def package_versions(names: tuple[str, ...] = NUMERIC_PACKAGES) -> dict[str, str | None]:
    """Distribution name -> installed version (None when not installed), in ``names`` order."""
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found
