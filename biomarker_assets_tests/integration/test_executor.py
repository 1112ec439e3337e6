"""The code location's executor: a one-step run executes in the run's process, several steps in their own."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from biomarker_assets.definitions import defs
from biomarker_assets.platform.executor import one_step_in_process_executor


@dg.asset
def first() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"pid": os.getpid()})


@dg.asset
def second() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"pid": os.getpid()})


def both_job() -> dg.JobDefinition:
    """Reconstructable (module level), as the run worker loads jobs; the same executor as the code location's."""
    definitions = dg.Definitions(
        assets=[first, second],
        jobs=[dg.define_asset_job("both", selection=[first, second]), dg.define_asset_job("one", selection=[first])],
        executor=one_step_in_process_executor,
    )
    return definitions.resolve_job_def(os.environ["TEST_EXECUTOR_JOB"])


def step_pids(instance: dg.DagsterInstance, run_id: str) -> tuple[int, set[int]]:
    """(the run process's pid, the pids the assets were materialized in)."""
    records = instance.all_logs(run_id)
    run_pid = next(
        r.dagster_event.pid
        for r in records
        if r.dagster_event and r.dagster_event.event_type == dg.DagsterEventType.RUN_START
    )
    materialized = {
        int(r.dagster_event.step_materialization_data.materialization.metadata["pid"].value)  # type: ignore[arg-type]  # an int, written above
        for r in records
        if r.dagster_event and r.dagster_event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    }
    assert run_pid is not None
    return run_pid, materialized


@pytest.mark.parametrize(("job", "in_run_process"), [("one", True), ("both", False)])
def test_one_step_runs_in_the_run_process_several_steps_in_their_own(
    job: str, in_run_process: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_EXECUTOR_JOB", job)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = dg.execute_job(dg.reconstructable(both_job), instance=instance)
        assert result.success
        run_pid, pids = step_pids(instance, result.run_id)
    assert len(pids) == (1 if job == "one" else 2)
    assert (pids == {run_pid}) is in_run_process
    if not in_run_process:
        assert run_pid not in pids and len(pids) == 2  # each step had its own process


def test_every_job_of_the_code_location_uses_it() -> None:
    """The per-step jobs and the implicit asset job (UI launches, asset backfills) alike."""
    repo = defs.get_repository_def()
    names = [j.name for j in repo.get_all_jobs()]
    assert "__ASSET_JOB" in names
    assert {repo.get_job(n).executor_def.name for n in names} == {one_step_in_process_executor.name}
