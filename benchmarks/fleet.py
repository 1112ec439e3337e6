"""Fleet benchmark (issue 12 part 4): a study of 1,000 and 10,000 files through the real daemon on PostgreSQL.

What is real: PostgreSQL instance storage and container/dagster.yaml (queued run coordinator:
100 runs at once, 25 per study tag; SizedEcsRunLauncher; run monitoring; run retries); moto with the
study bucket; ``dagster-daemon run`` (sensors, backfill daemon, run coordinator, monitoring) as a
Fargate task of the stand-in, with its code server. The listing sensor finds the files, registers
their partitions and (past 200) submits one job backfill; the backfill daemon creates the runs,
the coordinator dequeues them within the limits, the launcher sizes each (a HEAD of the file and
the study config read) and calls ECS ``run_task``.

What is played: each run's Fargate task (``support/fake_ecs/simulated.py``). After ``--sim-start-s``
it writes run start and step start, after ``--sim-compute-s`` per file one materialization of
``file_biomarkers`` per partition, then step and run success, and stops the ECS task (exit 0). A
real worker per task would take hours of CPU here. Its real fixed cost is measured instead
(``--calibrate K`` real ``dagster api execute_run`` tasks, one at a time, on a half-hour file) and added
in the projection (``fleet_model.py``).

Reported, per size and mode, from one invocation: files/hour, wall time beyond the simulated compute
per file, slot time per run that is not the task (Dagster's overhead), launch and run-creation rates,
queue waits, and the ratios of 10,000 to 1,000 files. Batched runs (``--files-per-run``, runs of
``file_biomarkers_batch_job``) are skipped with a message where this checkout has no such job.

Usage (repository root, project venv; PYTHONPATH=. when the venv's install is another checkout)::

    python benchmarks/fleet.py --smoke                 # 30 files, sensor every 5 s, threshold 10: ~2 min
    python benchmarks/fleet.py                         # 1,000 then 10,000 files, both modes: ~45 min here
    python benchmarks/fleet.py --sizes 1000 --modes single --calibrate 0 --worker-start-s 9.5
    python benchmarks/fleet.py --project fleet.json --compute-s 25 --memory-gb 1.2   # re-project only
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the tests' support package, from any directory

from fleet_measure import calibrate, daemon_ready, fleet
from fleet_model import Measured, Scenario, projection_table
from fleet_stack import StackSettings, fleet_stack, has_batch_job

from biomarker_assets_tests.support.fake_ecs.simulated import Timing


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--sizes", default="1000,10000", help="files per fleet, comma-separated (default 1000,10000)")
    p.add_argument("--smoke", action="store_true", help="30 files, sensors every 5 s, backfill past 10 files")
    p.add_argument("--modes", default="single,batch", help="single (one file per run) and/or batch")
    p.add_argument("--files-per-run", type=int, default=50, help="batch mode's study config files_per_run")
    p.add_argument("--calibrate", type=int, default=3, help="real run workers to time (median; 0: --worker-start-s)")
    p.add_argument("--worker-start-s", type=float, default=None, help="use this worker start cost, no calibration")
    p.add_argument("--file-fixed-s", type=float, default=None, help="step fixed cost per file (default: calibrated)")
    p.add_argument("--time-limit-s", type=float, default=None, help="stop a fleet after this long (figures: partial)")
    p.add_argument("--sim-start-s", type=float, default=1.0, help="played task: seconds to its run's start")
    p.add_argument("--sim-compute-s", type=float, default=1.0, help="played task: seconds per file")
    p.add_argument("--sensor-interval", type=int, default=30, help="sensor interval (production: 30)")
    p.add_argument("--backfill-threshold", type=int, default=None, help="files per tick past which a backfill (200)")
    p.add_argument("--max-concurrent-runs", type=int, default=None, help="container/dagster.yaml's: 100")
    p.add_argument("--per-study", type=int, default=None, help="runs per study tag (container/dagster.yaml: 25)")
    p.add_argument(
        "--submit-workers", type=int, default=None, help="backfills.num_submit_workers (not set in production)"
    )
    p.add_argument(
        "--dequeue-workers", type=int, default=None, help="coordinator dequeue threads (not set in production)"
    )
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--json", type=Path, default=None, help="also write every figure as JSON")
    p.add_argument("--project", type=Path, default=None, help="only print the projection from a saved --json")
    s = Scenario()
    p.add_argument("--study-files", type=int, default=s.files)
    p.add_argument("--tasks", type=int, default=s.tasks, help="concurrent Fargate tasks in the projection")
    p.add_argument("--compute-s", type=float, default=s.compute_s, help="per-file compute (7 d @ 100 Hz)")
    p.add_argument("--memory-gb", type=float, default=s.memory_gb, help="per-task memory need")
    p.add_argument("--vcpu", type=float, default=s.vcpu)
    p.add_argument("--fargate-start-s", type=float, default=s.fargate_start_s, help="Fargate's own start (assumed)")
    p.add_argument("--project-batches", default="1,10,50,200", help="files per run in the projection table")
    args = p.parse_args(argv)
    if args.smoke:
        args.sizes, args.sensor_interval = "30", 5
        args.backfill_threshold = 10 if args.backfill_threshold is None else args.backfill_threshold
        args.files_per_run = min(args.files_per_run, 10)
        args.calibrate = min(args.calibrate, 1)
    return args


def measure(args: argparse.Namespace, workdir: Path) -> dict:
    sizes = [int(n) for n in args.sizes.split(",")]
    modes = [m.strip() for m in args.modes.split(",")]
    timing = Timing(args.sim_start_s, args.sim_compute_s)
    record: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "fleets": [], "calibration": []}
    if "batch" in modes and not has_batch_job():
        print(
            "batch mode SKIPPED: this checkout defines no file_biomarkers_batch_job (issue 12 part 3); "
            "re-run after merging it",
            flush=True,
        )
        modes.remove("batch")
        record["batch_skipped"] = "no file_biomarkers_batch_job in this checkout"
    state = {"calibrating": False}
    calibrate_left = 0 if args.worker_start_s is not None else args.calibrate

    def simulate(run) -> bool:  # calibration: the file runs are real tasks; everything else is played
        return not (state["calibrating"] and run.job_name == "file_biomarkers_job")

    for mode in modes:
        for size in sizes:
            settings = StackSettings(
                sensor_interval_s=args.sensor_interval,
                backfill_threshold=args.backfill_threshold,
                max_concurrent_runs=args.max_concurrent_runs,
                per_study_limit=args.per_study,
                submit_workers=args.submit_workers,
                dequeue_workers=args.dequeue_workers,
                files_per_run=args.files_per_run if mode == "batch" else None,
                timing=timing,
            )
            print(f"== {mode}: {size:,} files (load average {os.getloadavg()[0]:.1f})", flush=True)
            with fleet_stack(workdir / f"{mode}-{size}", settings, simulate) as stack:
                print(
                    f"  daemon ready in {daemon_ready(stack):.0f} s; {stack.slots} runs at once for the study",
                    flush=True,
                )
                if calibrate_left:
                    record["calibration"] = calibrate(stack, calibrate_left, state)
                    calibrate_left = 0
                result = fleet(stack, size, args.time_limit_s)
            result["mode"] = mode
            result["files_per_run"] = args.files_per_run if mode == "batch" else 1
            record["fleets"].append(result)
            print(fleet_lines(result), flush=True)
    return record


def fleet_lines(r: dict) -> str:
    return "\n".join(
        [
            f"  {r['files']:,} files in {r['runs']:,} runs, {r['slots']} at once: {r['wall_s']:.0f} s wall, "
            f"{r['files_per_hour']:,.0f} files/h (ideal with the simulated compute: {r['ideal_wall_s']:.0f} s)",
            f"  overhead per file: {r['overhead_wall_s_per_file']:.3f} s wall, {r['overhead_slot_s_per_file']:.2f} "
            f"slot-s = {r['overhead_ratio']:.2f}x the simulated {r['sim_task_s']:.1f} s task",
            f"  per run: Dagster slot time {r['slot_overhead_per_run_s']:.2f} s (beyond the task, half a dequeue); "
            f"occupancy beyond the task median {r['occupancy_overhead_median_s']:.2f} s, p95 "
            f"{r['occupancy_overhead_p95_s']:.2f} s; launch to task found {r['launch_to_task_median_s']:.2f} s",
            f"  catalog (arrival -> first run) {r['catalog_s']:.1f} s; runs created {r['creation_rate_per_s']:.1f}/s; "
            f"launched {r['launch_rate_per_s']:.2f}/s overall, {r['launch_service_s']:.3f} s each in a burst; "
            f"queue wait median {r['queue_wait_median_s']:.0f} s, p95 {r['queue_wait_p95_s']:.0f} s",
            f"  checked: {r['materialized_partitions']:,} partitions materialized, runs {r['run_statuses']}; "
            f"daemon CPU {r['daemon_cpu_s']:.0f} s, benchmark process (moto, stand-in) "
            f"{r['benchmark_process_cpu_s']:.0f} s; load average {' '.join(f'{x:.1f}' for x in r['load_average'])}",
        ]
    )


def calibrated(record: dict, key: str, given: float | None) -> float:
    """``given``, else the calibration's median of ``key``."""
    if given is not None:
        return given
    rows = sorted(row[key] for row in record.get("calibration") or [])
    return rows[len(rows) // 2] if rows else float("nan")


def catalog_line(rows: list[dict]) -> tuple[float, float]:
    """(fixed s, s per file) of the catalog latency through the smallest and largest fleets (one: all per file)."""
    a, b = rows[0], rows[-1]
    if b["files_arrived"] == a["files_arrived"]:
        return 0.0, b["catalog_s"] / b["files_arrived"]
    per_file = max(0.0, (b["catalog_s"] - a["catalog_s"]) / (b["files_arrived"] - a["files_arrived"]))
    return max(0.0, a["catalog_s"] - per_file * a["files_arrived"]), per_file


def measured_costs(record: dict, rows: list[dict], args: argparse.Namespace) -> Measured:
    """The model's inputs from one mode's fleets (the largest for the per-run figures)."""
    big = rows[-1]
    launch_s = big["launch_service_s"]
    catalog_fixed, catalog_per_file = catalog_line(rows)
    return Measured(
        worker_start_s=calibrated(record, "worker_start_s", args.worker_start_s),
        run_overhead_s=big["slot_overhead_per_run_s"],
        # runs enter the fleet no faster than they are created (backfill daemon, sensor) and launched
        launch_rate_per_s=min(big["creation_rate_per_s"], 1 / launch_s if launch_s > 0 else big["launch_rate_per_s"]),
        catalog_fixed_s=catalog_fixed,
        catalog_s_per_file=catalog_per_file,
        file_fixed_s=calibrated(record, "step_s", args.file_fixed_s),
    )


def report(record: dict, args: argparse.Namespace) -> str:
    lines = ["", "== Fleet benchmark"]
    cal = record.get("calibration") or []
    if cal:

        def med(key: str) -> float:
            return sorted(r[key] for r in cal)[len(cal) // 2]

        lines.append(
            f"real run worker (median of {len(cal)}): process -> run start {med('to_run_start_s'):.2f} s, "
            f"-> first step {med('to_first_step_s'):.2f} s; step on a 0.5 h file {med('step_s'):.2f} s; "
            f"success -> exit {med('success_to_exit_s'):.2f} s; fixed cost per run {med('worker_start_s'):.2f} s"
        )
    for mode in ("single", "batch"):
        rows = sorted((r for r in record["fleets"] if r["mode"] == mode), key=lambda r: r["files"])
        for r in rows:
            partial = (
                "" if r["complete"] else f" (PARTIAL: stopped at the time limit, {r['runs_created']:,} runs created)"
            )
            lines.append(
                f"{mode}, {r['files_arrived']:,} files arrived, {r['files']:,} done{partial}:\n{fleet_lines(r)}"
            )
        if len(rows) >= 2:
            a, b = rows[0], rows[-1]
            lines.append(
                f"{mode} scaling {b['files_arrived']:,} / {a['files_arrived']:,} files arrived: "
                f"files/h x{b['files_per_hour'] / a['files_per_hour']:.2f}, "
                f"wall overhead per file x{b['overhead_wall_s_per_file'] / a['overhead_wall_s_per_file']:.2f}, "
                f"slot overhead per run x{b['slot_overhead_per_run_s'] / a['slot_overhead_per_run_s']:.2f}, "
                f"launch rate x{b['launch_rate_per_s'] / a['launch_rate_per_s']:.2f}"
            )
    if record.get("batch_skipped"):
        lines.append(f"batch: SKIPPED ({record['batch_skipped']})")
    scenario = Scenario(
        files=args.study_files,
        tasks=args.tasks,
        compute_s=args.compute_s,
        memory_gb=args.memory_gb,
        vcpu=args.vcpu,
        fargate_start_s=args.fargate_start_s,
    )
    batches = [int(b) for b in args.project_batches.split(",")]
    for mode in ("single", "batch"):  # one table per measured mode: batch runs enter by sensor requests
        rows = sorted((r for r in record["fleets"] if r["mode"] == mode), key=lambda r: r["files_arrived"])
        if not rows:
            continue
        measured = measured_costs(record, rows, args)
        lines += [
            "",
            f"Projection (from the {rows[-1]['files_arrived']:,}-file {mode} fleet, {rows[-1]['files']:,} done):",
            projection_table(scenario, measured, batches),
        ]
        record[f"projection_inputs_{mode}"] = vars(measured)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request
    if args.project:
        record = json.loads(args.project.read_text())
    else:
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="biomarker-fleet-"))
        started = time.monotonic()
        try:
            record = measure(args, workdir)
        finally:
            if args.workdir is None:  # task logs and the Dagster home: kept only where asked
                shutil.rmtree(workdir, ignore_errors=True)
        record["benchmark_s"] = time.monotonic() - started
    print(report(record, args), flush=True)
    if args.json and not args.project:
        args.json.write_text(json.dumps(record, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
