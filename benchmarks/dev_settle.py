"""`dev` against `demo`: from start to every demo file settled, and the wall time of one-file runs.

Issue 13 point 5: target settle time <= 2x the demo's. Runs, in this order:

1. ``biomarker-assets demo`` (wall time of the whole command, or ``--demo-seconds`` to reuse one),
2. ``biomarker-assets dev`` in a fresh home, its own session: polls the Dagster instance every
   second until every file partition has an outcome (processed / waiting / failed, as the demo's
   table), no run is queued or in progress and that has held for ``--stable`` seconds (so a file
   re-requested by the waiting sensor is not missed). Settled = the end of the last run then.
3. while `dev` still runs, per-file runs of one small demo file, each a fresh ``dagster job execute``
   process (as a run worker is) on the same instance and stand-in: the code location's executor (one
   step in the run's process) against Dagster's multiprocess executor (a process per step),
   ``--repeat`` each, alternating.

Prints both times and the ratio, each run of `dev` (job, partition, queued -> start -> end), and the
per-run medians. Run it alone: it uses both cores for a few minutes.

    python benchmarks/dev_settle.py [--demo-seconds 40] [--stable 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import dagster as dg

from biomarker_assets.lib.file_kinds import FILE_KINDS

REPO = Path(__file__).resolve().parents[1]
ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
JOB = FILE_KINDS["data"].job  # the per-file job
SMALL_FILE = "demo/raw/wrist/DM002_V1_wrist.cwa"  # SKDH's 5-minute Axivity sample: the run is mostly overhead


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "biomarker_assets.cli", *args]


def time_demo() -> float:
    started = time.monotonic()
    subprocess.run(cli("demo"), check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def ui_up(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2).read()
    except OSError:
        return False
    return True


def settled(instance: dg.DagsterInstance) -> tuple[bool, str]:
    from biomarker_assets.platform.status import file_statuses

    statuses = file_statuses(instance)
    active = instance.get_runs_count(dg.RunsFilter(statuses=ACTIVE))
    pending = [s.key for s in statuses if s.status == "not run"]
    state = f"{len(statuses)} files, {len(pending)} without an outcome, {active} runs queued or running"
    return bool(statuses) and not pending and not active, state


def __getattr__(name: str) -> dg.Definitions:
    """``in_process_defs`` (the code location as it is) or ``multiprocess_defs`` (the same with Dagster's
    multiprocess executor), for ``dagster job execute -f this file -a NAME``; built on first use only."""
    from dagster._record import copy  # no public way to swap one field of a Definitions

    from biomarker_assets.definitions import defs

    if name == "in_process_defs":
        return defs
    if name == "multiprocess_defs":
        return copy(defs, executor=dg.multiprocess_executor)
    raise AttributeError(name)


def time_runs(home: Path, env: dict[str, str], repeat: int) -> dict[str, list[float]]:
    """Wall time of one-file runs, each in a fresh process as a run worker is: process start, imports, run."""
    times: dict[str, list[float]] = {"in_process_defs": [], "multiprocess_defs": []}
    tags = json.dumps({"dagster/partition": SMALL_FILE, "benchmark": "executor"})
    for _ in range(repeat):
        for job in times:
            command = [sys.executable, "-m", "dagster", "job", "execute", "-f", __file__, "-a", job, "-j", JOB]
            command += ["--tags", tags]
            started = time.monotonic()
            subprocess.run(command, check=True, env={**env, "DAGSTER_HOME": str(home)}, capture_output=True)
            times[job].append(time.monotonic() - started)
    return times


def run_dev(stable_s: float, repeat: int, timeout_s: float) -> tuple[float, list[dg.RunRecord], dict[str, list[float]]]:
    workdir = Path(tempfile.mkdtemp(prefix="dev-settle-"))
    home = workdir / "home"
    log = (workdir / "dev.log").open("w+")
    from biomarker_assets.local.aws_standin import free_port

    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    port = free_port()
    started = time.monotonic()
    started_wall = time.time()
    process = subprocess.Popen(
        cli("dev", "--home", str(home), "--port", str(port)),
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        since, state, last = None, "", ""
        while time.monotonic() - started < timeout_s:
            time.sleep(1)
            if not ui_up(port):  # polling sooner would race `dagster dev` creating the storage
                continue
            try:
                with dg.DagsterInstance.from_config(str(home)) as instance:
                    done, state = settled(instance)
            except Exception:  # noqa: BLE001  # the storage is being created by `dagster dev`: ask again
                continue
            if state != last:
                print(f"  {time.monotonic() - started:6.1f} s  {state}", flush=True)
                last = state
            since = (since or time.monotonic()) if done else None
            if since and time.monotonic() - since >= stable_s:
                break
        else:
            raise SystemExit(f"not settled after {timeout_s:.0f} s: {state}")
        with dg.DagsterInstance.from_config(str(home)) as instance:
            records = list(instance.get_run_records(ascending=True))
        settle = max(r.end_time or 0 for r in records) - started_wall
        log.seek(0)
        url = re.search(r"moto\) at (http://\S+),", log.read())
        assert url, "dev printed no stand-in URL"
        aws = {
            "AWS_ENDPOINT_URL": url.group(1),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        runs = time_runs(home, {**env, **aws}, repeat)
        return settle, records, runs
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo-seconds", type=float, help="the demo's time, if already measured")
    parser.add_argument("--stable", type=float, default=20.0, help="seconds the settled state must hold")
    parser.add_argument("--repeat", type=int, default=3, help="per-file runs of each executor")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()

    demo = args.demo_seconds or time_demo()
    print(f"demo: {demo:.1f} s", flush=True)
    print("dev: polling the instance")
    settle, records, runs = run_dev(args.stable, args.repeat, args.timeout)
    print("\nruns of dev (seconds from its start: created -> started -> ended, duration):")
    t0 = min(r.create_timestamp.timestamp() for r in records)
    for r in records:
        if r.dagster_run.tags.get("benchmark"):
            continue
        start, end = r.start_time or 0, r.end_time or 0
        print(
            f"  {r.create_timestamp.timestamp() - t0:6.1f} -> {start - t0:6.1f} -> {end - t0:6.1f}"
            f"  {end - start:5.1f} s  "
            f"{r.dagster_run.status.value:8} {r.dagster_run.job_name} {r.dagster_run.tags.get('dagster/partition', '')}"
        )
    print(f"\none-file run of {SMALL_FILE}, a fresh process each (median of {args.repeat}):")
    for label, seconds in runs.items():
        print(f"  {label:20} {statistics.median(seconds):5.1f} s  ({', '.join(f'{s:.1f}' for s in seconds)})")
    print(f"\ndemo {demo:.1f} s, dev settled {settle:.1f} s after its start: {settle / demo:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
