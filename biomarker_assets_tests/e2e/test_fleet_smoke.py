"""The fleet benchmark's smoke run: 30 files through the real daemon on PostgreSQL, tasks played.

``benchmarks/fleet.py --smoke`` (about two minutes): the listing sensor finds 30 new files, submits
one backfill (the threshold is lowered to 10 for the smoke), the backfill daemon creates one run per
file, the queued coordinator and SizedEcsRunLauncher launch them into moto's ECS, and the
simulated Fargate plays each task. The benchmark reads the outcome back from the instance; this
test checks it, not how fast it was (speed is the benchmark's report).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.e2e
def test_smoke_fleet_materializes_every_file_through_one_backfill(tmp_path: Path) -> None:
    out = tmp_path / "fleet.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "fleet.py"), "--smoke", "--modes", "single", "--calibrate", "0"]
        + ["--worker-start-s", "10", "--file-fixed-s", "10", "--json", str(out), "--workdir", str(tmp_path / "w")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [fleet] = json.loads(out.read_text())["fleets"]
    assert fleet["complete"] and fleet["files"] == fleet["files_arrived"] == 30
    # every file's partition materialized (read from the instance), each by its own successful run
    assert fleet["materialized_partitions"] == 30
    assert fleet["runs"] == fleet["runs_created"] == 30 and fleet["run_statuses"] == {"SUCCESS": 30}
    assert fleet["backfills"] == 1  # past the (lowered) threshold the sensor submits one backfill
    assert "| 1 | 103,712 |" in done.stdout  # the projection table is printed
