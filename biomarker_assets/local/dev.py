"""`biomarker-assets dev`: the stand-in with the demo study, then `dagster dev`, both fresh each start.

Fresh, because the stand-in (moto) keeps its state in memory only: a Dagster home kept from an
earlier start would show materialized partitions whose S3 objects are gone, and its run keys would
stop the sensors from processing the files again. So each start clears the Dagster home's storage
(run history, event log, schedules and sensor state) and copies the project's ``dagster.yaml`` in.

Stopping: ``dagster dev`` runs in a session of its own, so a signal meant for ``dev`` is handled
here once: on Ctrl-C (SIGINT) or SIGTERM, every process of that session (webserver, daemon, code
server, runs) gets SIGTERM, and whatever is left after ``GRACE_S`` gets SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import psutil

from biomarker_assets.local.demo import seeded_standin

PROJECT_INSTANCE_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"
# What a Dagster home holds besides its dagster.yaml: run and event storage, schedule/sensor state, logs.
DAGSTER_STATE = ("history", "storage", "schedules", "logs", ".logs_queue", ".telemetry", ".nux", "dagster.yaml")
GRACE_S = 5.0  # SIGTERM, then SIGKILL: everything is gone within 15 s even on a loaded machine
# Sensors tick this often under `dev` unless BIOMARKER_SENSOR_INTERVAL is set (the daemon's floor is 5 s).
DEV_SENSOR_INTERVAL_S = "5"


def fresh_home(home: Path, instance_yaml: Path = PROJECT_INSTANCE_YAML) -> Path:
    """``home`` without Dagster's state from earlier starts, with the project's instance settings; other files stay."""
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    for name in DAGSTER_STATE:
        path = home / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    if instance_yaml.is_file():
        shutil.copy(instance_yaml, home / "dagster.yaml")
    return home


CODE_LOCATION = (
    "biomarker_assets"  # as workspace.yaml and pyproject.toml name it; `-m` alone would name it after the module
)


def write_workspace(home: Path) -> Path:
    """A workspace file naming the code location ``biomarker_assets``, wherever `dev` is started from."""
    path = home / "workspace.yaml"
    path.write_text(
        "# Written by `biomarker-assets dev` on each start (the project's workspace.yaml says the same).\n"
        "load_from:\n"
        "  - python_module:\n"
        "      module_name: biomarker_assets.definitions\n"
        f"      location_name: {CODE_LOCATION}\n"
    )
    return path


def dev_environment(home: Path) -> dict[str, str]:
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    env.setdefault("BIOMARKER_SENSOR_INTERVAL", DEV_SENSOR_INTERVAL_S)
    return env


def stop_session(process: subprocess.Popen, grace_s: float = GRACE_S) -> None:
    """SIGTERM to ``process`` and every process of its session, SIGKILL to any left after ``grace_s``."""
    try:
        session = os.getsid(process.pid)
    except ProcessLookupError:
        return
    members = _session_members(process, session)
    for member in members:
        _signal(member, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        members = [m for m in _session_members(process, session) if m.is_running() and m.status() != "zombie"]
        if not members:
            break
        time.sleep(0.2)
    for member in _session_members(process, session):
        _signal(member, signal.SIGKILL)
    process.wait()


def _session_members(process: subprocess.Popen, session: int) -> list[psutil.Process]:
    """The process, its descendants, and any process of its session (orphans re-parented to init stay in it)."""
    found: dict[int, psutil.Process] = {}
    try:
        root = psutil.Process(process.pid)
        found[root.pid] = root
        found.update({p.pid: p for p in root.children(recursive=True)})
    except psutil.NoSuchProcess:
        pass
    for candidate in psutil.process_iter():
        try:
            if os.getsid(candidate.pid) == session:
                found[candidate.pid] = candidate
        except (ProcessLookupError, PermissionError):
            continue
    return list(found.values())


def _signal(member: psutil.Process, signum: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
        member.send_signal(signum)


def banner(url: str, home: Path, port: int, interval: str) -> str:
    return "\n".join(
        [
            f"local AWS stand-in (moto) at {url}, seeded with the demo study; DAGSTER_HOME={home}",
            "Fresh start: the stand-in keeps nothing between starts, so Dagster's run history, partitions and",
            f"sensor state in {home} were cleared too (results and history always match what is in the stand-in).",
            f"Open http://127.0.0.1:{port}. The sensors (every {interval} s) register the studies, catalog 'demo' and",
            "run every file: watch Overview > Runs, then the partitions of 'file_biomarkers'. Ctrl-C stops everything.",
        ]
    )


def run_dev(port: int = 3000, samples: Path | None = None, home: Path = Path(".dagster_home")) -> int:
    """`dagster dev` with the stand-in and demo study ready; SIGINT or SIGTERM stops all of it."""
    received: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    home = fresh_home(home)
    context, url = seeded_standin(None, samples)
    process: subprocess.Popen | None = None
    try:
        env = dev_environment(home)
        print(banner(url, home, port, env["BIOMARKER_SENSOR_INTERVAL"]), flush=True)
        command = [sys.executable, "-m", "dagster", "dev", "-w", str(write_workspace(home)), "-p", str(port)]
        if not received:
            process = subprocess.Popen(command, env=env, start_new_session=True)
        while process is not None and process.poll() is None and not received:
            time.sleep(0.2)
        return 0 if received or process is None else process.returncode
    finally:
        if process is not None:
            stop_session(process)
        context.__exit__(None, None, None)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
