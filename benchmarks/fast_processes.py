"""Speed of the wrist pipeline with the project's fast SKDH processes vs the same pipeline in bare SKDH.

The pipeline is the documented wrist pipeline (``WRIST_PIPELINE_SPEC`` with SKDH's
Axivity reader): read, wear, day windows, sleep, activity. The *fast* run is that
spec as shipped (``AccelThresholdWearDetectionFast``, ``ActivityLevelClassificationFast``);
the *SKDH* run is the same spec with SKDH's own ``AccelThresholdWearDetection`` and
``ActivityLevelClassification`` in their place (same parameters). Both run in this one
process on the same file, alternating (skdh, fast, skdh, ...) so machine noise hits
both; each run is timed around ``pipeline.run`` only (wall and CPU seconds). The
results of every step of every run are compared with SKDH's (relative difference
<= 1e-12, NaN where SKDH has NaN) and the script fails if they differ.

The recording is the synthetic wrist recording of ``benchmarks/skdh_processing.py``
(:func:`biomarker_assets_tests.support.cwa_writer.write_wrist_cwa`, seeded), generated
once into ``--workdir`` and reused.

Usage (repository root, project venv)::

    python benchmarks/fast_processes.py                        # 24 h at 50 Hz, 1 repeat: ~1 min
    python benchmarks/fast_processes.py --days 7 --fs 100      # a week at 100 Hz: several GB, ~10 min

Target (issue 12): 7 days, fast / SKDH time <= 0.5.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

TARGET = 0.5


def differences(actual, expected, where: str = "", rtol: float = 1e-12) -> list[str]:
    """Where ``actual`` differs from ``expected`` by more than ``rtol`` (relative), recursively."""
    if isinstance(expected, Mapping):
        if set(actual) != set(expected):
            return [f"{where}: keys differ"]
        return [d for k in expected for d in differences(actual[k], expected[k], f"{where}/{k}", rtol)]
    exp, act = np.asarray(expected), np.asarray(actual)
    if exp.shape != act.shape:
        return [f"{where}: shape {act.shape} != {exp.shape}"]
    if exp.dtype.kind in "fc":
        same = np.isclose(act, exp, rtol=rtol, atol=0, equal_nan=True) | (act == exp)
    else:
        same = act == exp
    return [] if np.all(same) else [f"{where}: differs"]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_once(spec: dict, path: Path) -> tuple[float, float, dict]:
    from biomarker_assets.lib.skdh.pipeline import load_pipeline

    pipeline = load_pipeline(spec)
    cpu, started = _cpu(), time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = pipeline.run(file=str(path))
    return time.perf_counter() - started, _cpu() - cpu, results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--fs", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each pipeline; medians are reported")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "biomarker-assets-bench")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)

    from biomarker_assets.local.pipeline_specs import WRIST_PIPELINE_SPEC, bare_skdh_spec
    from biomarker_assets_tests.support.cwa_writer import write_wrist_cwa

    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / f"wrist_{args.days:g}d_{args.fs:g}hz_seed{args.seed}.cwa"  # as skdh_processing.py
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        tmp = path.with_suffix(".partial.cwa")
        write_wrist_cwa(tmp, days=args.days, fs=args.fs, seed=args.seed)
        tmp.replace(path)
    fast_spec = json.loads(json.dumps(WRIST_PIPELINE_SPEC))
    fast_spec["Steps"][0].update(name="ReadCwa", process="ReadCwa", module="io.axivity")
    specs = {"skdh": bare_skdh_spec(fast_spec), "fast": fast_spec}
    label = f"{args.days * 24:g} h" if args.days < 2 else f"{args.days:g} d"
    print(f"{label} @ {args.fs:g} Hz: {path} ({path.stat().st_size / 1e6:,.1f} MB)", flush=True)

    runs: dict[str, list[tuple[float, float]]] = {"skdh": [], "fast": []}
    truth = None
    for i in range(args.repeat):
        for phase in ("skdh", "fast"):
            wall, cpu, results = run_once(specs[phase], path)
            runs[phase].append((wall, cpu))
            if truth is None:
                truth = results
            diffs = differences(results, truth)
            print(f"  repeat {i + 1} {phase:>4}: {wall:7.2f} s wall, {cpu:7.2f} s CPU; results equal SKDH's: "
                  f"{'yes' if not diffs else 'NO ' + ', '.join(diffs[:5])}", flush=True)  # fmt: skip
            if diffs:
                return 1
            del results
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # GiB (KiB on Linux)
    med = {p: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r)) for p, r in runs.items()}
    ratio, cpu_ratio = med["fast"][0] / med["skdh"][0], med["fast"][1] / med["skdh"][1]
    verdict = ("met" if ratio <= TARGET else "NOT met") if args.days >= 7 else "target is for 7 days"
    print(
        f"\n| recording | SKDH s | fast s | time ratio (target <= {TARGET}) | SKDH CPU s | fast CPU s | CPU ratio |"
        f"\n|---|---|---|---|---|---|---|"
        f"\n| {label} @ {args.fs:g} Hz | {med['skdh'][0]:.1f} | {med['fast'][0]:.1f} | {ratio:.3f} ({verdict}) | "
        f"{med['skdh'][1]:.1f} | {med['fast'][1]:.1f} | {cpu_ratio:.3f} |"
        f"\n\nmedians of {args.repeat} run(s) each, same process, alternating; results of every step equal "
        f"(rtol 1e-12); process peak RSS {peak:.1f} GiB"
    )
    if args.json:
        args.json.write_text(json.dumps({"label": label, "fs": args.fs, "runs": runs, "ratio": ratio}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
