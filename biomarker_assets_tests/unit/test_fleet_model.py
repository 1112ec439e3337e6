"""The fleet benchmark's projection arithmetic and the played task's reading of a run's files.

``benchmarks/fleet_model.py`` turns measured per-run costs into the README's projection table;
``support/fake_ecs/simulated.run_partitions`` decides which partitions a played run materializes.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import dagster as dg
import pytest

from biomarker_assets_tests.support.fake_ecs.simulated import BATCH_JOB, run_partitions

REPO = Path(__file__).resolve().parents[2]


def _fleet_model():
    spec = importlib.util.spec_from_file_location("fleet_model", REPO / "benchmarks" / "fleet_model.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fleet_model", module)
    spec.loader.exec_module(module)
    return module


fm = _fleet_model()
MEASURED = fm.Measured(
    worker_start_s=10.0,
    run_overhead_s=2.0,
    launch_rate_per_s=2.0,
    catalog_fixed_s=60.0,
    catalog_s_per_file=0.01,
    file_fixed_s=5.0,
)
SCENARIO = fm.Scenario(files=100_000, tasks=500, compute_s=30.0, memory_gb=1.5, vcpu=1.0, fargate_start_s=40.0)


def test_one_file_per_run_is_launch_bound_and_its_overhead_counts_the_idle_slots() -> None:
    p = fm.project(SCENARIO, MEASURED, files_per_run=1)
    assert p.runs == 100_000 and p.task_s == 40 + 10 + 30 + 5
    # 100,000 runs at 2 launches/s: 50,000 s, more than 200 waves of 87 s (17,400 s)
    assert p.throughput_bound
    assert p.wall_h == pytest.approx((50_000 + 60 + 1_000) / 3600)
    busy = 50_000 * 500  # slot-seconds while launches trickle in
    assert p.orchestration_overhead == pytest.approx((busy - 100_000 * (30 + 40 + 5)) / (100_000 * 30))


def test_batched_runs_are_compute_bound_and_priced_on_the_smallest_fargate_size() -> None:
    p = fm.project(SCENARIO, MEASURED, files_per_run=50)
    assert p.runs == 2_000 and p.task_s == 40 + 10 + 50 * 35
    assert not p.throughput_bound
    assert p.wall_h == pytest.approx((4 * (p.task_s + 2.0) + 60 + 1_000) / 3600)
    # (S + O) per run over 50 files of 30 s compute
    assert p.orchestration_overhead == pytest.approx((10 + 2) / (50 * 30))
    assert p.all_fixed_costs == pytest.approx((10 + 2 + 40 + 50 * 5) / (50 * 30))
    # 1 vCPU with 1.5 GB is not a Fargate size: 1 vCPU / 2 GB is the smallest
    assert (p.task_cpu, p.task_memory_mib) == (1024, 2048)
    hourly = fm.PRICE_PER_VCPU_HOUR + 2 * fm.PRICE_PER_GB_HOUR
    assert p.cost_usd == pytest.approx(2_000 * p.task_s / 3600 * hourly)
    assert p.cost_per_file_usd == pytest.approx(p.cost_usd / 100_000)


def test_a_task_shorter_than_a_minute_is_billed_a_minute() -> None:
    short = fm.Scenario(files=1_000, tasks=10, compute_s=1.0, fargate_start_s=0.0)
    quick = fm.Measured(1.0, 0.0, 100.0, 0.0, 0.0, 0.0)
    assert fm.project(short, quick, 1).task_hours == pytest.approx(1_000 * 60 / 3600)


def test_the_table_says_which_targets_are_met() -> None:
    table = fm.projection_table(SCENARIO, MEASURED, [1, 50]).splitlines()
    rows = [line for line in table if line.startswith("| 1 |") or line.startswith("| 50 |")]
    assert "NOT met" in rows[0] and "launch-bound" in rows[0]
    assert "| 0.8% met |" in rows[1] and "NOT" not in rows[1] and f"| {math.ceil(100_000 / 50):,} |" in rows[1]
    assert fm.PRICE_DATE in table[0]


def test_a_one_file_run_materializes_its_partition_tag() -> None:
    run = dg.DagsterRun(job_name="file_biomarkers_job", run_id="a", tags={"dagster/partition": "s/raw/x.cwa"})
    assert run_partitions(run) == ("file_biomarkers", ["s/raw/x.cwa"])


def test_a_batch_run_materializes_every_partition_of_its_config() -> None:
    config = {"ops": {"file_biomarkers_batch": {"config": {"partition_keys": ["s/a.cwa", "s/b.cwa"]}}}}
    run = dg.DagsterRun(job_name=BATCH_JOB, run_id="b", run_config=config, tags={"biomarker_assets/batch_size": "2"})
    assert run_partitions(run) == ("file_biomarkers_batch", ["s/a.cwa", "s/b.cwa"])


def test_other_runs_materialize_no_file() -> None:
    assert run_partitions(dg.DagsterRun(job_name="study_summary_job", run_id="c", tags={"dagster/partition": "s"})) == (
        None,
        [],
    )
