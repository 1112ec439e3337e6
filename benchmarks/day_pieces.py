"""Peak memory and time of the wrist pipeline in day pieces, against the same pipeline on the whole file.

Three ways to run the documented wrist pipeline (``WRIST_PIPELINE_SPEC`` with SKDH's Axivity
reader: read, wear, day windows, sleep, activity) on the same synthetic recording:

- ``skdh``: bare SKDH, the whole file (SKDH's own wear and activity classes);
- ``fast``: the project's fast processes, the whole file (``execution.run_pipeline``);
- ``pieces``: the project's fast processes, the file read in day pieces
  (``piecewise.run_pipeline_in_pieces`` over ``piece_files.open_pieces``).

Each run is a fresh process (so its peak RSS, VmHWM, is its own), timed around the pipeline
(wall and CPU seconds), the import of SKDH included in the peak but not in the time. The results
of ``pieces`` are compared with those of ``skdh`` (relative 1e-12, NaN where SKDH has NaN); the
script fails if they differ. A whole-file run whose estimated need (about 112 bytes per sample)
exceeds this machine's available memory is not started, and the table says so.

Usage (repository root, project venv)::

    python benchmarks/day_pieces.py                         # 7 and 28 days at 100 Hz (generates ~1.3 GB once)
    python benchmarks/day_pieces.py --days 1 --fs 50        # a quick look

Targets (issue 12): pieces peak <= 1.5 GB at 7 d @ 100 Hz; 28 d peak within 1.2x of 7 d;
pieces time <= 0.5x bare SKDH's.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fast_processes import differences  # noqa: E402  # the benchmarks folder is not a package

PEAK_TARGET_GIB, LENGTH_TARGET, TIME_TARGET = 1.5, 1.2, 0.5
WHOLE_BYTES_PER_SAMPLE = 112  # what SKDH holds per sample of a whole recording (README "Benchmarks")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _vm_hwm() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _specs() -> dict[str, dict]:
    from biomarker_assets.local.pipeline_specs import WRIST_PIPELINE_SPEC, bare_skdh_spec

    fast = json.loads(json.dumps(WRIST_PIPELINE_SPEC))
    fast["Steps"][0].update(name="ReadCwa", process="ReadCwa", module="io.axivity")
    return {"skdh": bare_skdh_spec(fast), "fast": fast, "pieces": fast}


def _child(mode: str, path: str, conn: Any) -> None:
    """One run in this fresh process; sends (wall s, CPU s, peak bytes, results, how it ran)."""
    import logging

    import skdh  # noqa: F401  # imported before timing, as a run worker has it

    logging.getLogger("biomarker_assets").setLevel(logging.ERROR)  # SKDH's warnings, once per run: not figures

    from biomarker_assets.lib.skdh.execution import run_pipeline
    from biomarker_assets.lib.skdh.pipeline import load_pipeline

    spec = _specs()[mode]
    pipeline = load_pipeline(spec)
    cpu, started = _cpu(), time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if mode == "pieces":
            from biomarker_assets.lib.skdh.piece_files import open_pieces
            from biomarker_assets.lib.skdh.piecewise import run_pipeline_in_pieces

            results = run_pipeline_in_pieces(pipeline, open_pieces(spec["Steps"][0], Path(path)))
        else:
            results = run_pipeline(pipeline, Path(path))
    conn.send((time.perf_counter() - started, _cpu() - cpu, _vm_hwm(), results))
    conn.close()


def run(mode: str, path: Path) -> tuple[float, float, int, dict]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(mode, str(path), child))
    proc.start()
    child.close()
    out = parent.recv()
    proc.join()
    return out


def available_bytes() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def recording(workdir: Path, days: float, fs: float, seed: int) -> Path:
    path = workdir / f"wrist_{days:g}d_{fs:g}hz_seed{seed}.cwa"  # as skdh_processing.py and fast_processes.py
    if not path.exists():
        from biomarker_assets.local.axivity_cwa import write_wrist_cwa

        print(f"generating {path} ...", flush=True)
        tmp = path.with_suffix(".partial.cwa")
        write_wrist_cwa(tmp, days=days, fs=fs, seed=seed)
        tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", default="7,28", help="comma-separated recording lengths in days")
    parser.add_argument("--fs", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--modes", default="skdh,fast,pieces")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "biomarker-assets-bench")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    modes = args.modes.split(",")
    rows: list[dict] = []
    for days in (float(d) for d in args.days.split(",")):
        path = recording(args.workdir, days, args.fs, args.seed)
        samples = days * 86400 * args.fs
        row: dict[str, Any] = {"days": days, "mb": path.stat().st_size / 1e6}
        truth = None
        for mode in modes:
            need = samples * WHOLE_BYTES_PER_SAMPLE
            if mode != "pieces" and need > 0.9 * available_bytes():
                print(f"  {days:g} d {mode:>6}: not run (needs ~{need / 2**30:.0f} GiB)", flush=True)
                continue
            wall, cpu, peak, results = run(mode, path)
            row[mode] = (wall, cpu, peak)
            if mode == "skdh":
                truth = results
            diffs = differences(results, truth) if truth is not None else []
            same = "n/a (no SKDH run)" if truth is None else ("yes" if not diffs else "NO " + ", ".join(diffs[:5]))
            print(f"  {days:g} d {mode:>6}: {wall:7.1f} s wall, {cpu:7.1f} s CPU, peak {peak / 1e9:5.2f} GB; "
                  f"results equal SKDH's: {same}", flush=True)  # fmt: skip
            if diffs:
                return 1
            del results
        rows.append(row)
    print(report(rows, args.fs))
    return 0


def _cell(row: dict, mode: str, i: int, scale: float = 1.0, fmt: str = "{:.1f}") -> str:
    return fmt.format(row[mode][i] / scale) if mode in row else "not run"


def report(rows: list[dict], fs: float) -> str:
    gib = 1e9  # the targets are in GB
    lines = [
        "| recording | bare SKDH s | pieces s | time vs SKDH | bare SKDH CPU s | pieces CPU s | CPU vs SKDH "
        "| bare SKDH peak GB | whole-file fast peak GB | pieces peak GB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        both = "skdh" in row and "pieces" in row
        ratio = f"{row['pieces'][0] / row['skdh'][0]:.2f}x" if both else "n/a"
        cpu_ratio = f"{row['pieces'][1] / row['skdh'][1]:.2f}x" if both else "n/a"
        lines.append(
            f"| {row['days']:g} d @ {fs:g} Hz ({row['mb']:,.0f} MB) | {_cell(row, 'skdh', 0)} "
            f"| {_cell(row, 'pieces', 0)} "
            f"| {ratio} | {_cell(row, 'skdh', 1)} | {_cell(row, 'pieces', 1)} | {cpu_ratio} "
            f"| {_cell(row, 'skdh', 2, gib, '{:.2f}')} | {_cell(row, 'fast', 2, gib, '{:.2f}')} "
            f"| {_cell(row, 'pieces', 2, gib, '{:.2f}')} |"
        )
    peaks = {r["days"]: r["pieces"][2] / gib for r in rows if "pieces" in r}
    if 7 in peaks:
        lines.append(f"\npieces peak at 7 d: {peaks[7]:.2f} GB (target <= {PEAK_TARGET_GIB}: "
                     f"{'met' if peaks[7] <= PEAK_TARGET_GIB else 'NOT met'})")  # fmt: skip
    if 7 in peaks and 28 in peaks:
        r = peaks[28] / peaks[7]
        lines.append(f"28 d / 7 d pieces peak: {r:.2f}x (target <= {LENGTH_TARGET}: "
                     f"{'met' if r <= LENGTH_TARGET else 'NOT met'})")  # fmt: skip
    for row in rows:
        if "skdh" in row and "pieces" in row:
            r, c = row["pieces"][0] / row["skdh"][0], row["pieces"][1] / row["skdh"][1]
            lines.append(f"{row['days']:g} d pieces / bare SKDH: time {r:.2f}x, CPU {c:.2f}x (target <= {TIME_TARGET}: "
                         f"{'met' if r <= TIME_TARGET else 'NOT met'} in time, "
                         f"{'met' if c <= TIME_TARGET else 'NOT met'} in CPU)")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
