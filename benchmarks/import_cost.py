"""What loading the code location costs on top of Dagster itself.

Every code server, run worker and step process imports ``biomarker_assets.definitions``;
SKDH (SciPy, LightGBM, Matplotlib) belongs only in the processes that run a pipeline.
In one run: fresh interpreters (median of ``--repeat``, default 5) timing

- ``import dagster, dagster_aws.ecs`` (the floor: what any such process imports), and
- ``import biomarker_assets.definitions`` plus building its ``Definitions``,

and prints both, their ratio (target <= 1.3) and any heavy module the code location loaded.

    python benchmarks/import_cost.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

HEAVY = ("skdh", "scipy", "matplotlib", "lightgbm")

_BASELINE = """
import time
t = time.perf_counter()
import dagster, dagster_aws.ecs
print(time.perf_counter() - t)
"""

_PROJECT = f"""
import json, sys, time
HEAVY = {HEAVY!r}
t = time.perf_counter()
import biomarker_assets.definitions as d
defs = d.defs
defs.get_repository_def()  # resolves every asset, check, job, sensor and resource
elapsed = time.perf_counter() - t
print(json.dumps([elapsed, [m for m in HEAVY if m in sys.modules]]))
"""


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def measure(repeat: int) -> dict:
    """Median seconds of each import, alternating the two so machine load affects both alike."""
    base, project, heavy = [], [], set()
    for _ in range(repeat):
        base.append(float(_run(_BASELINE)))
        seconds, loaded = json.loads(_run(_PROJECT))
        project.append(seconds)
        heavy.update(loaded)
    b, p = statistics.median(base), statistics.median(project)
    return {"dagster_s": b, "definitions_s": p, "ratio": p / b, "heavy_modules": sorted(heavy)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    result = measure(args.repeat)
    print(f"import dagster, dagster_aws.ecs:                    {result['dagster_s']:.2f} s (median of {args.repeat})")
    print(f"import biomarker_assets.definitions + Definitions:  {result['definitions_s']:.2f} s")
    print(f"ratio: {result['ratio']:.2f} (target <= 1.3)")
    print(f"heavy modules loaded by the code location: {result['heavy_modules'] or 'none'}")


if __name__ == "__main__":
    main()
