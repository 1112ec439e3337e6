"""Summary runs: one queued per study at most, after the study's file runs."""

from __future__ import annotations

import uuid

import dagster as dg

from biomarker_assets.defs.summary.jobs import summary_job
from biomarker_assets.defs.summary.summary_sensor import study_summary_sensor
from biomarker_assets.platform.file_requests import PRIORITY_TAG
from biomarker_assets_tests.support.sensor_ticks import tick


def materialized(instance: dg.DagsterInstance, *partitions: str) -> None:
    for partition in partitions:
        instance.report_runless_asset_event(dg.AssetMaterialization("file_biomarkers", partition=partition))


def queue_summary(instance: dg.DagsterInstance, study: str, status: dg.DagsterRunStatus) -> None:
    """A summary run of ``study`` as the queued coordinator stores one (a queued run names its code location)."""
    from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin

    origin = RemoteJobOrigin(
        RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("biomarker_assets"), "__repository__"), summary_job.name
    )
    run = dg.DagsterRun(
        job_name=summary_job.name,
        run_id=str(uuid.uuid4()),
        tags={"dagster/partition": study},
        status=status,
        remote_job_origin=origin,
    )
    instance.add_run(run)


def test_no_second_summary_while_one_is_queued_and_file_runs_go_first(instance: dg.DagsterInstance) -> None:
    materialized(instance, "alpha/raw/a.cwa", "beta/raw/b.cwa")
    queue_summary(instance, "alpha", dg.DagsterRunStatus.QUEUED)  # will read alpha's new results when it starts
    queue_summary(instance, "beta", dg.DagsterRunStatus.STARTED)  # may have read before beta's newest result

    assert {r.status for r in instance.get_runs()} == {dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTED}
    _, requests, cursor = tick(study_summary_sensor, instance)

    assert [r.partition_key for r in requests] == ["beta"]
    assert int(requests[0].tags[PRIORITY_TAG]) < 0  # file runs have priority 0 or more

    materialized(instance, "alpha/raw/c.cwa")
    for run in instance.get_runs(dg.RunsFilter(tags={"dagster/partition": "alpha"})):
        instance.report_run_canceled(run)  # alpha's queued summary is gone: the next tick requests one
    _, requests, _ = tick(study_summary_sensor, instance, cursor)
    assert [r.partition_key for r in requests] == ["alpha"]
