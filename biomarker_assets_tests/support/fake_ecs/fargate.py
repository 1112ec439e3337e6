"""The Fargate stand-in itself: watches one moto ECS cluster and runs each new task as a local process.

What it mimics and why is in the package docstring (:mod:`biomarker_assets_tests.support.fake_ecs`).
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from biomarker_assets.resources.aws import aws_client
from biomarker_assets_tests.support.fake_ecs.fargate_platform import (
    default_platform_env,
    record_stop,
    task_container,
    task_memory_mib,
    task_secrets,
)
from biomarker_assets_tests.support.fake_ecs.metadata import MetadataServer, task_metadata
from biomarker_assets_tests.support.fake_ecs.process_tree import signal_group, tree_memory_mib

log = logging.getLogger(__name__)

OOM_EXIT_CODE = 137  # SIGKILL, as Fargate reports an out-of-memory container
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
EXIT_REASON = "Essential container in task exited"
STOP_TIMEOUT_S = 30.0  # ECS's default stopTimeout between SIGTERM and SIGKILL
# A container's process starts with default signal handling, whatever its launcher has: the task's
# command runs through this exec shim, which unblocks every signal and resets SIGTERM, SIGINT and SIGQUIT
# (a process started in the background, or a test run that ignored or blocked one, would pass that on).
_FRESH_SIGNALS = (
    "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); "
    "[signal.signal(s, signal.SIG_DFL) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)]; "
    "os.execvp(sys.argv[1], sys.argv[1:])"
)


@dataclass
class TaskProcess:
    arn: str
    task_id: str
    container: str
    command: list[str]
    env: dict[str, str]
    memory_mib: int | None
    process: subprocess.Popen
    log_path: Path
    workdir: Path
    metadata: dict
    tags: dict[str, str]
    started: float = field(default_factory=time.monotonic)
    peak_mib: float = 0.0
    stop_requested_at: float | None = None


@dataclass(frozen=True)
class FinishedTask:
    arn: str
    container: str
    command: list[str]
    exit_code: int
    reason: str
    peak_mib: float
    seconds: float
    log_path: Path
    tags: dict[str, str] = field(default_factory=dict)


class FakeFargate:
    """Runs the tasks of one moto ECS cluster as local processes; see the module docstring."""

    def __init__(
        self,
        cluster: str,
        *,
        platform_env: Mapping[str, str] | None = None,
        poll_s: float = 0.5,
        enforce_memory: bool = True,
        log_dir: Path | None = None,
        stop_timeout_s: float = STOP_TIMEOUT_S,
    ):
        self.cluster = cluster
        self.stop_timeout_s = stop_timeout_s
        self.poll_s = poll_s
        self.enforce_memory = enforce_memory
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="fake-fargate-logs-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._platform_env = dict(platform_env) if platform_env is not None else default_platform_env()
        self._running: dict[str, TaskProcess] = {}
        self._metadata: dict[str, dict] = {}
        self.finished: list[FinishedTask] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._http: MetadataServer | None = None
        self.errors: list[str] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeFargate:
        self._http = MetadataServer(self.metadata_for).start()
        self._thread = threading.Thread(target=self._loop, name="fake-fargate", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the watcher and every task still running (SIGTERM, then SIGKILL after the stop timeout)."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread:
            self._thread.join(60)
        with self._lock:
            running = list(self._running.values())
        for task in running:
            signal_group(task.process, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout_s
        for task in running:
            try:
                task.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                signal_group(task.process, signal.SIGKILL)
                task.process.wait()
            self._finish(task, task.process.returncode, "Task stopped by the stand-in")
        if self._http:
            self._http.close()

    def __enter__(self) -> FakeFargate:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def metadata_base(self) -> str:
        assert self._http is not None, "start() first"
        return self._http.base_url

    def metadata_for(self, task_id: str) -> dict | None:
        with self._lock:
            return self._metadata.get(task_id)

    def running_tasks(self) -> list[str]:
        with self._lock:
            return list(self._running)

    # ------------------------------------------------------------------ the watcher

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception as exc:  # keep watching; the error is reported to whoever asks
                log.exception("fake Fargate tick failed")
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self._stop.wait(self.poll_s)

    def _tick(self) -> None:
        ecs = aws_client("ecs")
        listed = set(ecs.list_tasks(cluster=self.cluster, desiredStatus="RUNNING")["taskArns"])
        new = sorted(listed - self._seen)
        if new:
            for task in ecs.describe_tasks(cluster=self.cluster, tasks=new, include=["TAGS"])["tasks"]:
                self._seen.add(task["taskArn"])
                self._launch(task)
        for task in list(self._running.values()):
            code = task.process.poll()
            if code is not None:
                self._finish(task, code, EXIT_REASON if task.stop_requested_at is None else None)
                continue
            if task.arn not in listed and task.stop_requested_at is None:  # stop_task by someone else
                task.stop_requested_at = time.monotonic()
                signal_group(task.process, signal.SIGTERM)
            overdue = (
                task.stop_requested_at is not None and time.monotonic() - task.stop_requested_at > self.stop_timeout_s
            )
            if overdue and task.process.poll() is None:  # SIGTERM not heeded in time
                signal_group(task.process, signal.SIGKILL)
            if self.enforce_memory and task.memory_mib:
                used = tree_memory_mib(task.process.pid)
                task.peak_mib = max(task.peak_mib, used)
                if used > task.memory_mib:
                    signal_group(task.process, signal.SIGKILL)
                    task.process.wait()
                    self._finish(task, OOM_EXIT_CODE, OOM_REASON)

    # ------------------------------------------------------------------ one task

    def _launch(self, task: dict) -> None:
        ecs = aws_client("ecs")
        definition = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
        overrides = task.get("overrides") or {}
        container, override, command = task_container(definition, overrides)
        task_id = task["taskArn"].rsplit("/", 1)[1]
        env = {
            **self._platform_env,
            **{e["name"]: e["value"] for e in container.get("environment", [])},
            **task_secrets(container.get("secrets", [])),
            **{e["name"]: e["value"] for e in override.get("environment", [])},
            "ECS_CONTAINER_METADATA_URI_V4": f"{self.metadata_base}/{task_id}",
        }
        memory = task_memory_mib(definition, overrides, container, override)
        workdir = Path(tempfile.mkdtemp(prefix=f"fake-fargate-{task_id[:8]}-"))
        log_path = self.log_dir / f"{task_id}.log"
        meta = task_metadata(task, definition, container["name"])
        with self._lock:
            self._metadata[task_id] = meta
        if not command:
            self._finish_unstarted(task, container["name"], log_path, "CannotStartContainerError: no command")
            return
        with open(log_path, "wb") as out:
            out.write(f"$ {' '.join(command)}\n".encode())
            out.flush()
            try:
                process = subprocess.Popen(
                    [sys.executable, "-c", _FRESH_SIGNALS, *command],
                    env=env,
                    cwd=container.get("workingDirectory") or workdir,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as exc:
                self._finish_unstarted(task, container["name"], log_path, f"CannotStartContainerError: {exc}")
                return
        tags = {t["key"]: t["value"] for t in task.get("tags", [])}
        running = TaskProcess(
            task["taskArn"], task_id, container["name"], command, env, memory, process, log_path, workdir, meta, tags
        )
        with self._lock:
            self._running[task["taskArn"]] = running
        log.info("task %s: started %s (memory %s MiB)", task_id, " ".join(command[:3]), memory)

    def _finish_unstarted(self, task: dict, container: str, log_path: Path, reason: str) -> None:
        log_path.write_text(reason + "\n")
        record_stop(self.cluster, task["taskArn"], container, 255, reason)
        self.finished.append(FinishedTask(task["taskArn"], container, [], 255, reason, 0.0, 0.0, log_path))

    def _finish(self, task: TaskProcess, exit_code: int, reason: str | None) -> None:
        """Record the exit; ``reason`` None: someone stopped the task and gave theirs."""
        with self._lock:
            if self._running.pop(task.arn, None) is None:
                return
        if exit_code < 0:  # killed by a signal: the shell convention Fargate reports
            exit_code = 128 - exit_code
        record_stop(self.cluster, task.arn, task.container, exit_code, reason)
        shutil.rmtree(task.workdir, ignore_errors=True)
        self.finished.append(
            FinishedTask(
                task.arn,
                task.container,
                task.command,
                exit_code,
                reason or "stopped",
                task.peak_mib,
                time.monotonic() - task.started,
                task.log_path,
                task.tags,
            )
        )
        log.info("task %s: exited %s (%s)", task.task_id, exit_code, reason)
