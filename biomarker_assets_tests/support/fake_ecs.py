"""A local Fargate: runs the ECS tasks that moto accepts but never starts.

moto's ECS takes ``run_task`` for FARGATE and then reports the task RUNNING forever. This
stand-in plays the part of Fargate for one cluster: it watches moto for new tasks, runs each
task's container command (``dagster api execute_run ...`` for a Dagster run) as a local
process, and stops the task with the command's exit code, so Dagster's ``EcsRunLauncher``
and run monitoring see what they would see on AWS. Like Fargate, it:

- gives the process only the task's environment: the task definition's ``environment`` and
  ``secrets`` (read from Secrets Manager), then the container override's ``environment``,
  on top of what the platform provides (AWS region and credentials, here moto's endpoint).
  The launcher sends no environment with a pre-registered task definition, so whatever a run
  needs must be in the task definition, and a test through this stand-in proves it is;
- serves the task metadata endpoint (``ECS_CONTAINER_METADATA_URI_V4``), which the launcher
  reads to copy the cluster and network configuration of the task it runs in;
- kills a task whose processes use more memory than the task has (exit code 137,
  ``OutOfMemoryError: Container killed due to memory usage``), so sizes are tested too;
- on ``stop_task`` sends SIGTERM, then SIGKILL after the stop timeout.

ECS has no API to set a container's exit code, so it is written into moto's model: moto must
run in this process (``aws_standin.moto_server``). "Images" are not pulled: every task runs
with this Python environment's scripts first on ``PATH``.

By hand: ``python -m biomarker_assets_tests.support.fake_ecs --cluster NAME`` starts moto with the
project's resources and an empty cluster, prints the environment to export, and runs every
task launched into the cluster until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from biomarker_assets.local.aws_standin import FAKE_CREDENTIALS, print_exports_and_wait
from biomarker_assets.resources.aws import aws_client

log = logging.getLogger(__name__)

OOM_EXIT_CODE = 137  # SIGKILL, as Fargate reports an out-of-memory container
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
EXIT_REASON = "Essential container in task exited"
STOP_TIMEOUT_S = 30.0  # ECS's default stopTimeout between SIGTERM and SIGKILL


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


def _tree_pids(root: int) -> list[int]:
    """``root`` and every descendant, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, []))
    return pids


def tree_memory_mib(root: int) -> float:
    """Proportional set size of a process tree: shared pages counted once, as a cgroup would."""
    total_kib = 0
    for pid in _tree_pids(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total_kib += int(line.split()[1])
                        break
        except OSError:
            continue
    return total_kib / 1024


def _moto_task(task_arn: str):
    """moto's model of a task, when moto runs in this process (None otherwise)."""
    from moto.backends import get_backend

    _, _, _, region, account, resource = task_arn.split(":", 5)
    cluster = resource.split("/")[1] if resource.count("/") == 2 else None
    backend = get_backend("ecs")[account][region]
    for name, tasks in backend.tasks.items():
        if (cluster is None or name == cluster) and task_arn in tasks:
            return tasks[task_arn]
    return None


class _MetadataHandler(BaseHTTPRequestHandler):
    """``GET /v4/<task id>`` (container) and ``/v4/<task id>/task``, as Fargate's endpoint v4 answers."""

    fargate: FakeFargate

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        doc = None
        if len(parts) >= 2 and parts[0] == "v4":
            meta = self.fargate.metadata_for(parts[1])
            if meta is not None:
                doc = meta["task"] if parts[2:] == ["task"] else meta["container"] if len(parts) == 2 else None
        body = json.dumps(doc).encode()
        self.send_response(200 if doc is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


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
        self._http: ThreadingHTTPServer | None = None
        self.errors: list[str] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeFargate:
        handler = type("Handler", (_MetadataHandler,), {"fargate": self})
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._http.serve_forever, name="fake-fargate-metadata", daemon=True).start()
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
            _signal_group(task.process, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout_s
        for task in running:
            try:
                task.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(task.process, signal.SIGKILL)
                task.process.wait()
            self._finish(task, task.process.returncode, "Task stopped by the stand-in")
        if self._http:
            self._http.shutdown()
            self._http.server_close()

    def __enter__(self) -> FakeFargate:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def metadata_base(self) -> str:
        assert self._http is not None, "start() first"
        return f"http://127.0.0.1:{self._http.server_address[1]}/v4"

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
                _signal_group(task.process, signal.SIGTERM)
            overdue = (
                task.stop_requested_at is not None and time.monotonic() - task.stop_requested_at > self.stop_timeout_s
            )
            if overdue and task.process.poll() is None:  # SIGTERM not heeded in time
                _signal_group(task.process, signal.SIGKILL)
            if self.enforce_memory and task.memory_mib:
                used = tree_memory_mib(task.process.pid)
                task.peak_mib = max(task.peak_mib, used)
                if used > task.memory_mib:
                    _signal_group(task.process, signal.SIGKILL)
                    task.process.wait()
                    self._finish(task, OOM_EXIT_CODE, OOM_REASON)

    # ------------------------------------------------------------------ one task

    def _launch(self, task: dict) -> None:
        ecs = aws_client("ecs")
        definition = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
        overrides = task.get("overrides") or {}
        container_overrides = {o["name"]: o for o in overrides.get("containerOverrides", [])}
        containers = definition["containerDefinitions"]
        container = next((c for c in containers if c["name"] in container_overrides), None)
        container = container or next((c for c in containers if c.get("essential", True)), containers[0])
        override = container_overrides.get(container["name"], {})
        command = list(container.get("entryPoint") or []) + list(
            override.get("command") or container.get("command") or []
        )
        task_id = task["taskArn"].rsplit("/", 1)[1]
        env = {
            **self._platform_env,
            **{e["name"]: e["value"] for e in container.get("environment", [])},
            **_secrets(container.get("secrets", [])),
            **{e["name"]: e["value"] for e in override.get("environment", [])},
            "ECS_CONTAINER_METADATA_URI_V4": f"{self.metadata_base}/{task_id}",
        }
        memory = _task_memory_mib(definition, overrides, container, override)
        workdir = Path(tempfile.mkdtemp(prefix=f"fake-fargate-{task_id[:8]}-"))
        log_path = self.log_dir / f"{task_id}.log"
        meta = _metadata(task, definition, container["name"])
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
                    command,
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
        self._record_stop(task["taskArn"], container, 255, reason)
        self.finished.append(FinishedTask(task["taskArn"], container, [], 255, reason, 0.0, 0.0, log_path))

    def _finish(self, task: TaskProcess, exit_code: int, reason: str | None) -> None:
        """Record the exit; ``reason`` None: someone stopped the task and gave theirs."""
        with self._lock:
            if self._running.pop(task.arn, None) is None:
                return
        if exit_code < 0:  # killed by a signal: the shell convention Fargate reports
            exit_code = 128 - exit_code
        self._record_stop(task.arn, task.container, exit_code, reason)
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

    def _record_stop(self, arn: str, container: str, exit_code: int, reason: str | None) -> None:
        model = _moto_task(arn)
        if model is None:
            raise RuntimeError(f"task {arn} is not in this process's moto: start moto with aws_standin.moto_server")
        for c in model.containers:
            if c.name == container:
                c.exitCode = exit_code
                c.last_status = "STOPPED"
        if reason is not None:
            aws_client("ecs").stop_task(cluster=self.cluster, task=arn, reason=reason)


def default_platform_env() -> dict[str, str]:
    """What a Fargate container has before the task's own variables: a PATH to the "image"
    (this environment's scripts), a locale, the region, and credentials (here moto's)."""
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        **FAKE_CREDENTIALS,
    }
    for key in (
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
        "TMPDIR",
    ):
        if os.environ.get(key):
            env[key] = os.environ[key]
    env["AWS_REGION"] = env["AWS_DEFAULT_REGION"]
    return env


def _secrets(secrets: list[dict]) -> dict[str, str]:
    """Task-definition secrets from Secrets Manager, as ECS injects them: ``valueFrom`` is a secret
    ARN, optionally followed by ``:json-key:version-stage:version-id`` (RDS's managed secret is JSON)."""
    values = {}
    for secret in secrets:
        parts = secret["valueFrom"].split(":")
        if len(parts) < 7 or parts[2] != "secretsmanager":
            raise ValueError(f"only Secrets Manager secrets are supported here, not {secret['valueFrom']!r}")
        json_key, stage, version = (parts[7:] + ["", "", ""])[:3]
        request = {"SecretId": ":".join(parts[:7])}
        if stage:
            request["VersionStage"] = stage
        if version:
            request["VersionId"] = version
        text = aws_client("secretsmanager").get_secret_value(**request)["SecretString"]
        values[secret["name"]] = str(json.loads(text)[json_key]) if json_key else text
    return values


def _task_memory_mib(definition: dict, overrides: dict, container: dict, override: dict) -> int | None:
    """The smallest of the task's memory and the container's hard limit, overrides first."""
    limits = [overrides.get("memory") or definition.get("memory"), override.get("memory") or container.get("memory")]
    values = [int(v) for v in limits if v]
    return min(values) if values else None


def _metadata(task: dict, definition: dict, container: str) -> dict:
    labels = {
        "com.amazonaws.ecs.cluster": task["clusterArn"],
        "com.amazonaws.ecs.container-name": container,
        "com.amazonaws.ecs.task-arn": task["taskArn"],
        "com.amazonaws.ecs.task-definition-family": definition["family"],
        "com.amazonaws.ecs.task-definition-version": str(definition["revision"]),
    }
    container_doc = {
        "Name": container,
        "DockerName": container,
        "Labels": labels,
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "Type": "NORMAL",
    }
    return {
        "container": container_doc,
        "task": {
            "Cluster": task["clusterArn"],
            "TaskARN": task["taskArn"],
            "Family": definition["family"],
            "Revision": str(definition["revision"]),
            "DesiredStatus": "RUNNING",
            "KnownStatus": "RUNNING",
            "LaunchType": task.get("launchType", "FARGATE"),
            "Containers": [container_doc],
        },
    }


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(process.pid, sig)


# ---------------------------------------------------------------------- networking for FARGATE tasks


def create_fargate_network(name: str = "biomarker-assets-local") -> dict[str, str]:
    """A VPC with DNS hostnames (moto's FARGATE needs it), a subnet and a security group."""
    ec2 = aws_client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=name, Description="Dagster runs", VpcId=vpc)["GroupId"]
    return {"vpc": vpc, "subnet": subnet, "security_group": group}


def main(argv: list[str] | None = None) -> int:
    import argparse

    from biomarker_assets.local.aws_standin import create_project_resources, moto_server

    parser = argparse.ArgumentParser(
        prog="python -m biomarker_assets_tests.support.fake_ecs", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--cluster", default="biomarker-assets-local")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--no-memory-limit", action="store_true", help="do not kill tasks over their memory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("werkzeug", "botocore", "boto3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with moto_server(args.port) as url:
        create_project_resources()
        network = create_fargate_network()
        aws_client("ecs").create_cluster(clusterName=args.cluster)
        with FakeFargate(args.cluster, enforce_memory=not args.no_memory_limit) as fargate:
            print(f"moto at {url}; cluster {args.cluster}; network {network}; task logs in {fargate.log_dir}")
            print_exports_and_wait("Register task definitions and launch tasks against it; Ctrl-C stops.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
