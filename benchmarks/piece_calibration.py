"""What fitting SKDH's calibration from pieces costs: time and peak memory against recording length.

Issue 12 part 2. The recording is generated piece by piece (1-h pieces at 100 Hz, never whole in
memory): moving data with no still period, so SKDH's loop never succeeds and the fit reads the
whole recording (its worst case: min_hours, +12 h, ... to the end). Each length runs in a fresh
interpreter; it prints seconds, samples per second, the 10-s statistics held and the peak RSS
above the interpreter's RSS before the fit (ru_maxrss).

    python benchmarks/piece_calibration.py [--days 7 28] [--fs 100]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

_CHILD = """
import json, resource, sys, time, warnings
import numpy as np
from skdh.preprocessing import CalibrateAccelerometer
from biomarker_assets.lib.skdh.pieces import Piece
from biomarker_assets.lib.skdh.piece_calibration import fit_calibration

days, fs = float(sys.argv[1]), float(sys.argv[2])
n = int(days * 86400 * fs)


class Generated:
    n_samples = n
    time_span = (0.0, (n - 1) / fs)

    def iter_pieces(self, seconds):
        k = int(seconds * fs)
        for a in range(0, n, k):
            b = min(n, a + k)
            rng = np.random.default_rng(a)
            accel = rng.normal(0, 0.2, (b - a, 3))
            accel[:, 2] += 1
            yield Piece(a, {"time": np.arange(a, b) / fs, "accel": accel,
                            "temperature": 25 + rng.normal(0, 0.1, b - a), "fs": fs})

    def window(self, t0, t1):
        raise NotImplementedError


before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    fit = fit_calibration(Generated(), CalibrateAccelerometer(), piece_seconds=3600)
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"days": days, "seconds": seconds, "samples": n, "stats_bytes": fit.stats_nbytes,
                  "peak_above_start_mib": (peak - before) / 1024, "seen": fit.seen}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, nargs="+", default=[7.0, 28.0])
    parser.add_argument("--fs", type=float, default=100.0)
    args = parser.parse_args()
    print(f"{'days':>5} {'s':>7} {'M samples/s':>12} {'stats MB':>9} {'KB/day':>7} {'peak MiB':>9}  seen")
    for days in args.days:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(days), str(args.fs)], check=True, capture_output=True, text=True
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(
            f"{r['days']:>5g} {r['seconds']:>7.1f} {r['samples'] / r['seconds'] / 1e6:>12.1f} "
            f"{r['stats_bytes'] / 1e6:>9.2f} {r['stats_bytes'] / days / 1e3:>7.0f} {r['peak_above_start_mib']:>9.0f}  "
            f"{r['seen']}"
        )


if __name__ == "__main__":
    main()
