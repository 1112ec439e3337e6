"""``backfill_study`` in batched mode: its study's files, N per run of ``file_biomarkers_batch_job``.

A plain sensor over the instance's runs rather than a ``run_status_sensor``: the latter makes Dagster
1.13 print a BetaWarning (its ``owners`` parameter) on every load of the code location.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dagster as dg

from biomarker_assets.defs.biomarkers.batch_job import file_biomarkers_batch_job
from biomarker_assets.defs.biomarkers.jobs import FILES_PER_RUN_TAG, study_partitions
from biomarker_assets.platform.backfills import study_tags
from biomarker_assets.platform.batch_runs import batch_run_request, batches
from biomarker_assets.platform.sensor_interval import SENSOR_INTERVAL_S

RUNS_PER_TICK = 20  # backfill_study runs handled per tick; the rest on the next one


def batch_requests(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[dg.RunRequest]:
    """The batch runs of one successful ``backfill_study`` run ([] when its study runs a file per run)."""
    per_run = int(run.tags.get(FILES_PER_RUN_TAG, "1"))
    if per_run <= 1:
        return []
    ops: Any = run.run_config.get("ops") or {}
    config = ops["launch_study_backfill"]["config"]
    study = config["study"]
    keys = study_partitions(instance, study, bool(config.get("only_not_processed", False)))
    # the run key names the backfill_study run: a re-evaluation requests nothing twice
    return [
        batch_run_request(chunk, f"{run.run_id}:batch-{i}", study_tags(study))
        for i, chunk in enumerate(batches(keys, per_run))
    ]


@dg.sensor(
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    jobs=[file_biomarkers_batch_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="When backfill_study succeeds for a study with files_per_run > 1, requests the study's files "
    "in runs of files_per_run each (file_biomarkers_batch_job), tagged with the study.",
)
def study_batches_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    after = float(context.cursor) if context.cursor else 0.0  # update time of the last run handled
    records = context.instance.get_run_records(
        dg.RunsFilter(
            job_name="backfill_study",
            statuses=[dg.DagsterRunStatus.SUCCESS],
            updated_after=datetime.fromtimestamp(after, tz=UTC),
        ),
        limit=RUNS_PER_TICK,
        order_by="update_timestamp",
        ascending=True,
    )
    requests: list[dg.RunRequest] = []
    for record in records:
        batch = batch_requests(context.instance, record.dagster_run)
        if batch:
            context.log.info(f"backfill_study run {record.dagster_run.run_id}: {len(batch)} batch run(s)")
        requests += batch
        after = max(after, record.update_timestamp.timestamp())
    return dg.SensorResult(run_requests=requests, cursor=str(after))
