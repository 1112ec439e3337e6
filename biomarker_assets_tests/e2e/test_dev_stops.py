"""`biomarker-assets dev` stops every process it started on Ctrl-C (SIGINT to its group) and on SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from biomarker_assets.local.aws_standin import free_port

REPO = Path(__file__).resolve().parents[2]
STOP_WITHIN_S = 15  # the promise in local/dev.py
START_TIMEOUT_S = 240  # the 2-core machine is shared: seeding and `dagster dev` can take a while


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def started(process: subprocess.Popen, port: int) -> list[psutil.Process]:
    """Once the UI answers and the daemon runs: every process `dev` started."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, f"dev exited early with {process.returncode}"
        children = descendants(process.pid)
        commands = " ".join(" ".join(_cmdline(c)) for c in children)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2).read()
        except OSError:
            time.sleep(1)
            continue
        if "dagster-daemon" in commands or "dagster._daemon" in commands or "daemon" in commands:
            return children
        time.sleep(1)
    raise AssertionError(f"dev did not start within {START_TIMEOUT_S} s")


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def sigint_to_group(process: subprocess.Popen) -> None:
    os.killpg(os.getpgid(process.pid), signal.SIGINT)  # what Ctrl-C in a terminal does


def sigterm(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)


@pytest.mark.parametrize("stop", [sigint_to_group, sigterm], ids=["ctrl-c", "sigterm"])
def test_dev_stops_every_child(stop: Callable[[subprocess.Popen], None], tmp_path: Path, samples: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "SKDH_SAMPLES_DIR": str(samples)}
    env.pop("AWS_ENDPOINT_URL", None)  # `dev` starts its own stand-in
    command = [sys.executable, "-m", "biomarker_assets.cli", "dev", "--port", str(port), "--home", str(tmp_path / "h")]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    everything = [psutil.Process(process.pid)]
    try:
        children = started(process, port)
        everything += children
        assert any("webserver" in " ".join(_cmdline(c)) for c in children)

        stop(process)
        gone, alive = psutil.wait_procs(everything, timeout=STOP_WITHIN_S)

        assert alive == [], f"still running {STOP_WITHIN_S} s after the signal: {[_cmdline(p) for p in alive]}"
        assert process.wait(timeout=1) == 0
    finally:
        for p in everything + descendants(process.pid):
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        process.wait(timeout=30)
