"""The fleet benchmark's two measurements: a real run worker's fixed cost, and a fleet of played runs.

``calibrate``: real ``dagster api execute_run`` tasks, one at a time, each on a half-hour wrist
file; from the instance's events and the stand-in's process times: process start -> run start ->
first step event, the step, and run success -> process exit.
``fleet``: N files arrive at once in the study bucket; everything from the listing sensor to the
last run's success is the real daemon on PostgreSQL, only the run tasks are played. Per run, from the
instance: created (backfill daemon), STARTING (dequeued and launched), the stand-in finding the task,
run start and end.
"""

from __future__ import annotations

import math
import os
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from dagster._core.event_api import RunStatusChangeRecordsFilter
from dagster._core.events import DagsterEventType
from fleet_stack import BUCKET, STUDY, Stack, data_key, seed_files

from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.local.geneactiv_bin import make_demo_wrist_file
from biomarker_assets.resources.aws import aws_client
from biomarker_assets_tests.support.fake_ecs.process_tree import tree_pids
from biomarker_assets_tests.support.fake_ecs.simulated import BATCH_JOB

FILE_JOBS = ["file_biomarkers_job", BATCH_JOB]
CALIBRATION_FIRST = 900_000  # subject numbers of the calibration files, apart from the fleet's
FLEET_KEY = re.compile(r"/DM(\d{6})_V1_wrist\.")


def wait_for(what: str, condition, stack: Stack, timeout_s: float, poll_s: float = 1.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll_s)
    tail = stack.daemon_log.read_text(errors="replace")[-4000:] if stack.daemon_log.exists() else ""
    raise TimeoutError(
        f"timed out after {timeout_s:.0f} s waiting for {what}\n--- daemon:\n{tail}\n{stack.fargate.errors}"
    )


def daemon_ready(stack: Stack, timeout_s: float = 300) -> float:
    """Seconds until the config sensor's first run succeeded: daemon, code server, launcher and stand-in work."""
    started = time.monotonic()
    wait_for(
        "the config sensor's study_configs_job run",
        lambda: stack.instance.get_runs(
            dg.RunsFilter(job_name="study_configs_job", statuses=[dg.DagsterRunStatus.SUCCESS]), limit=1
        ),
        stack,
        timeout_s,
    )
    return time.monotonic() - started


def _event_times(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """First timestamp of each event type of a run."""
    times: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        if entry.dagster_event:
            times.setdefault(entry.dagster_event.event_type_value, entry.timestamp)
    return times


def calibrate(stack: Stack, count: int, state: dict) -> list[dict]:
    """``count`` real runs, one after another (each alone on the machine as far as this benchmark goes)."""
    rows = []
    state["calibrating"] = True
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(count):
                path = make_demo_wrist_file(Path(tmp) / "calibration.bin", hours=0.5, fs=50.0, seed=i)
                key = data_key(CALIBRATION_FIRST + i, "bin")
                aws_client("s3").upload_file(str(path), BUCKET, key)
                partition = file_partition_key(STUDY, key)
                run_filter = dg.RunsFilter(job_name="file_biomarkers_job", tags={"dagster/partition": partition})
                run = wait_for(
                    f"the calibration run of {key}",
                    lambda f=run_filter: next((r for r in stack.instance.get_runs(f, limit=1) if r.is_finished), None),
                    stack,
                    600,
                )
                arn = run.tags["ecs/task_arn"]
                task = wait_for(
                    f"task {arn} to exit",
                    lambda a=arn: next((t for t in stack.fargate.finished if t.arn == a), None),
                    stack,
                    60,
                )
                started = stack.fargate.real_started[arn]
                ev = _event_times(stack.instance, run.run_id)
                exit_at = started + task.seconds
                first_step = ev.get("STEP_START", ev["PIPELINE_START"])
                rows.append(
                    {
                        "status": run.status.value,
                        "to_run_start_s": ev["PIPELINE_START"] - started,
                        "to_first_step_s": first_step - started,
                        "step_s": ev.get("STEP_SUCCESS", ev.get("STEP_FAILURE", first_step)) - first_step,
                        "success_to_exit_s": exit_at - ev.get("PIPELINE_SUCCESS", exit_at),
                        "task_s": task.seconds,
                        "peak_mib": task.peak_mib,
                    }
                )
                rows[-1]["worker_start_s"] = rows[-1]["to_first_step_s"] + rows[-1]["success_to_exit_s"]
                print(
                    f"  calibration {i + 1}/{count}: "
                    + ", ".join(f"{k} {v:.2f}" for k, v in rows[-1].items() if isinstance(v, float)),
                    flush=True,
                )
    finally:
        state["calibrating"] = False
    return rows


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process tree so far."""
    total = 0
    for p in tree_pids(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def _daemon_pid(stack: Stack) -> int | None:
    with stack.fargate._lock:  # noqa: SLF001 - the stand-in's own record of its one real task
        running = list(stack.fargate._running.values())  # noqa: SLF001
    return running[0].process.pid if running else None


def _starting_times(instance: dg.DagsterInstance, after: float) -> dict[str, float]:
    times: dict[str, float] = {}
    cursor = None
    while True:
        result = instance.fetch_run_status_changes(
            RunStatusChangeRecordsFilter(event_type=DagsterEventType.RUN_STARTING, after_timestamp=after),
            limit=1000,
            cursor=cursor,
            ascending=True,
        )
        for record in result.records:
            times.setdefault(record.event_log_entry.run_id, record.event_log_entry.timestamp)
        if not result.has_more:
            return times
        cursor = result.cursor


def fleet(stack: Stack, files: int, time_limit_s: float | None = None, first: int = 0) -> dict:
    """N files arrive; wait for every one to be materialized (or ``time_limit_s``); per-run times from the instance.

    Stopped at the time limit, the figures are of the files done by then (``complete`` False).
    """
    fargate, timing = stack.fargate, stack.fargate.timing
    seed_files(range(first, first + files))
    arrived = time.time()
    daemon_pid = _daemon_pid(stack)
    daemon_cpu0, own_cpu0 = (_cpu_s(daemon_pid) if daemon_pid else 0.0), time.process_time()

    def done_files() -> int:
        return sum(s.files for s in list(fargate.simulated.values()) if s.seen_at >= arrived and s.outcome == "success")

    def progress() -> bool:
        n = done_files()
        if time.time() - progress.last >= 60:  # type: ignore[attr-defined]
            progress.last = time.time()  # type: ignore[attr-defined]
            print(
                f"  {n:,}/{files:,} files after {time.time() - arrived:.0f} s, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        return n >= files or (time_limit_s is not None and time.time() - arrived >= time_limit_s)

    progress.last = arrived  # type: ignore[attr-defined]
    wait_for(f"{files} files materialized", progress, stack, timeout_s=max(900.0, files * 2.0), poll_s=0.5)
    done = done_files()
    daemon_cpu = (_cpu_s(daemon_pid) if daemon_pid else 0.0) - daemon_cpu0
    own_cpu = time.process_time() - own_cpu0
    load = os.getloadavg()

    after = datetime.fromtimestamp(arrived, tz=UTC)
    records = [
        r for job in FILE_JOBS for r in stack.instance.get_run_records(dg.RunsFilter(job_name=job, created_after=after))
    ]
    starting = _starting_times(stack.instance, arrived)
    runs = []
    for r in records:
        sim = fargate.simulated.get(r.dagster_run.run_id)
        if sim is None or sim.outcome != "success":
            continue
        runs.append(
            {
                "created": r.create_timestamp.timestamp(),
                "starting": starting.get(r.dagster_run.run_id, sim.seen_at),
                "seen": sim.seen_at,
                "ended": r.end_time or sim.finished_at or 0.0,
                "files": sim.files,
                "status": r.dagster_run.status.value,
            }
        )
    statuses = {
        s: sum(1 for r in records if r.dagster_run.status.value == s)
        for s in {r.dagster_run.status.value for r in records}
    }
    materialized = sum(
        1
        for p in stack.instance.get_materialized_partitions(dg.AssetKey("file_biomarkers"))
        if (m := FLEET_KEY.search(p)) and int(m.group(1)) < CALIBRATION_FIRST
    )
    return analyse(runs, done, arrived, stack.slots, timing.start_s, timing.compute_s, stack.dequeue_interval_s) | {
        "files_arrived": files,
        "complete": done >= files,
        "runs_created": len(records),
        "backfills": len(stack.instance.get_backfills()),
        "run_statuses": statuses,
        "materialized_partitions": materialized,
        "daemon_cpu_s": daemon_cpu,
        "benchmark_process_cpu_s": own_cpu,
        "load_average": list(load),
    }


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))] if values else float("nan")


def analyse(
    runs: list[dict],
    files: int,
    arrived: float,
    slots: int,
    start_s: float,
    compute_s: float,
    dequeue_interval_s: float,
) -> dict:
    """Throughput and overhead figures from per-run times (wall clock seconds)."""
    runs.sort(key=lambda r: r["starting"])
    n_runs = len(runs)
    last_end = max(r["ended"] for r in runs)
    wall = last_end - arrived
    sim = [start_s + compute_s * r["files"] for r in runs]
    per_run_files = files / n_runs
    ideal_wall = math.ceil(n_runs / slots) * (start_s + compute_s * per_run_files)
    gaps = [b["starting"] - a["starting"] for a, b in zip(runs, runs[1:], strict=False)]
    in_burst = [g for g in gaps if g < 1.0]
    occupancy_over = [r["ended"] - r["starting"] - s for r, s in zip(runs, sim, strict=True)]
    created = sorted(r["created"] for r in runs)
    return {
        "files": files,
        "runs": n_runs,
        "slots": slots,
        "sim_task_s": sum(sim) / n_runs,
        "wall_s": wall,
        "files_per_hour": files / wall * 3600,
        "ideal_wall_s": ideal_wall,
        "overhead_wall_s_per_file": (wall - ideal_wall) / files,
        "overhead_slot_s_per_file": (wall * slots - sum(sim)) / files,
        "overhead_ratio": (wall * slots - sum(sim)) / sum(sim),
        "catalog_s": created[0] - arrived,
        "first_launch_s": runs[0]["starting"] - arrived,
        "creation_rate_per_s": (n_runs - 1) / (created[-1] - created[0])
        if n_runs > 1 and created[-1] > created[0]
        else float("inf"),
        "launch_rate_per_s": (n_runs - 1) / (runs[-1]["starting"] - runs[0]["starting"])
        if n_runs > 1
        else float("nan"),
        "launch_service_s": _median(in_burst),
        "queue_wait_median_s": _median([r["starting"] - r["created"] for r in runs]),
        "queue_wait_p95_s": _p95([r["starting"] - r["created"] for r in runs]),
        "launch_to_task_median_s": _median([r["seen"] - r["starting"] for r in runs]),
        "occupancy_overhead_median_s": _median(occupancy_over),
        "occupancy_overhead_p95_s": _p95(occupancy_over),
        # Dagster's slot time per run: held beyond the task, plus the wait of a freed slot for the
        # coordinator's next pass (half its interval on average)
        "dequeue_gap_s": dequeue_interval_s / 2,
        "slot_overhead_per_run_s": _median(occupancy_over) + dequeue_interval_s / 2,
    }
