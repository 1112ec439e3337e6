"""Per-file cost of containment: ``process_file_contained`` (forkserver child) vs ``process_local_file`` in-process.

Both run in this one process, alternating, on the same files and pipelines of the demo study,
after one warm-up of each (SKDH imported here; the forkserver started with SKDH preloaded), so
the difference is what every further file pays: a fork, the limits, the integrity checks and
the result sent back over a pipe. The first file of a run also starts the forkserver, which
imports SKDH once (instead of the run process doing so); that start is printed separately.

Usage (repository root, the project's venv; ~1 min)::

    python benchmarks/containment_overhead.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from biomarker_assets.lib.biomarkers.processing import process_local_file
from biomarker_assets.lib.skdh.isolation import process_file_contained
from biomarker_assets.lib.study_config.loading import load_config_file
from biomarker_assets.local.demo import STUDY_FILES, find_samples

CASES = [("ax3_sample.cwa", "wrist-activity", {}), ("gait_input.npz", "gait", {"height": 1.88})]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    loaded = load_config_file(STUDY_FILES / "demo.yaml")
    samples = find_samples()
    with tempfile.TemporaryDirectory() as tmp:

        def once(fn, name: str, pipeline: str, inputs: dict) -> float:
            out = Path(tmp) / f"{fn.__name__}-{time.monotonic_ns()}"
            start = time.perf_counter()
            fn(samples / name, loaded=loaded, pipeline_name=pipeline, inputs=inputs, out_dir=out)
            return time.perf_counter() - start

        first = once(process_file_contained, *CASES[0])
        print(f"first contained file (starts the forkserver, imports SKDH there): {first:.2f} s")
        once(process_local_file, *CASES[0])  # imports SKDH in this process
        print(f"{'file':<16} {'in-process':>11} {'contained':>10} {'overhead':>9}   (medians of {args.repeat})")
        for case in CASES:
            inproc, contained = [], []
            for _ in range(args.repeat):
                inproc.append(once(process_local_file, *case))
                contained.append(once(process_file_contained, *case))
            a, b = statistics.median(inproc), statistics.median(contained)
            print(f"{case[0]:<16} {a:>10.3f}s {b:>9.3f}s {b - a:>+8.3f}s")


if __name__ == "__main__":
    main()
