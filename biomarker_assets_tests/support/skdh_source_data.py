"""SKDH's own gyroscope gait truth, fetched from the pinned SKDH source release on PyPI.

The shared samples hold only the accelerometer-only gait case. SKDH's gyroscope case
(``tests/gait/data/gait_input2.npz`` and its two truth files) ships in the source
distribution of the SKDH version this project pins, so the tests take it from there:
the archive is checked against its sha256 before anything is read, and the three files
are kept in a user cache so later runs need no network.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
import urllib.request
from pathlib import Path

SKDH_SDIST = "scikit_digital_health-0.17.18.tar.gz"
SKDH_SDIST_URL = (
    "https://files.pythonhosted.org/packages/fa/57/44078ea300d0d5b808152f280291f7a3f4c4eb42eb0fb70a6e1b49e82bdb/"
    + SKDH_SDIST
)
SKDH_SDIST_SHA256 = "fd591a452f0e94cbda7e47d68827c9f3a7aa34c1268ad1b2dd187c8366db4c25"
GYRO_GAIT_FILES = {
    "gait_input2.npz": "68430d7dfc407f103d2829acbffb7aa2a750f02b0f0f3e5bc049108122be9a7d",
    "gait_results2_apcwt.npz": "0e83c7bd45ce0c40d638adaa442e62b6f9553c96b591d51bfa08cdbdf401fd3d",
    "gait_results2_vcwt.npz": "d65c46b46ba8724e16d42aa9272a1b0dba60e0c2040f1f480b8275c43d17522a",
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cache_dir() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "biomarker-assets" / "skdh-0.17.18-gait-data"


def gyro_gait_truth() -> Path:
    """The folder holding SKDH's gyroscope gait input and truth, each file hash-checked."""
    folder = _cache_dir()
    if all((folder / name).is_file() and _sha256(folder / name) == digest for name, digest in GYRO_GAIT_FILES.items()):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / SKDH_SDIST
        with urllib.request.urlopen(SKDH_SDIST_URL, timeout=120) as response:
            archive.write_bytes(response.read())
        if _sha256(archive) != SKDH_SDIST_SHA256:
            raise RuntimeError(f"{SKDH_SDIST_URL} does not match its pinned sha256")
        with tarfile.open(archive) as tar:
            for name, digest in GYRO_GAIT_FILES.items():
                member = tar.extractfile(f"scikit_digital_health-0.17.18/tests/gait/data/{name}")
                if member is None:
                    raise RuntimeError(f"{name} missing from {SKDH_SDIST}")
                body = member.read()
                if hashlib.sha256(body).hexdigest() != digest:
                    raise RuntimeError(f"{name} in {SKDH_SDIST} does not match its pinned sha256")
                (folder / name).write_bytes(body)
    return folder
