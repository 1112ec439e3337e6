"""Biomarkers of a study's files materialized: refresh that study's summary table."""

from __future__ import annotations

import dagster as dg

from biomarker_assets.defs.summary.jobs import summary_job
from biomarker_assets.lib.partition_keys import parse_file_partition_key
from biomarker_assets.platform.backfills import ASSET_FOR_KIND, study_tags
from biomarker_assets.platform.event_log import new_records
from biomarker_assets.platform.file_requests import PRIORITY_TAG
from biomarker_assets.platform.sensor_cursor import SensorCursor
from biomarker_assets.platform.sensor_interval import SENSOR_INTERVAL_S


class SummaryCursor(SensorCursor):
    after_biomarkers: int = 0  # storage id of the last file_biomarkers materialization seen


@dg.sensor(
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    job=summary_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Refreshes a study's summary table when any of its files' biomarkers were materialized.",
)
def study_summary_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    cursor = SummaryCursor.load(context.cursor)
    records = new_records(context.instance.fetch_materializations, ASSET_FOR_KIND["data"], cursor.after_biomarkers)
    if not records:
        return dg.SkipReason("no biomarkers materialized since the last summary request")
    cursor.after_biomarkers = records[-1].storage_id
    touched = sorted({parse_file_partition_key(r.partition_key).study for r in records if r.partition_key})
    # A summary run still queued reads every materialization made before it starts: no second one.
    waiting = queued_summaries(context.instance, touched)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"summary:{s}:{cursor.after_biomarkers}",
                partition_key=s,
                tags={**study_tags(s), PRIORITY_TAG: "-1"},  # after the study's file runs: it reads their results
            )
            for s in touched
            if s not in waiting
        ],
        cursor=cursor.dump(),
    )


def queued_summaries(instance: dg.DagsterInstance, studies: list[str]) -> set[str]:
    """Studies with a summary run queued and not started yet."""
    if not studies:
        return set()
    runs = instance.get_runs(
        dg.RunsFilter(job_name=summary_job.name, statuses=[dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED])
    )
    return {run.tags.get("dagster/partition", "") for run in runs} & set(studies)
