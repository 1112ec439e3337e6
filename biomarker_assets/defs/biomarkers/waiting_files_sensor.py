"""Files waiting on subject metadata: request them again once cleaned metadata provides it."""

from __future__ import annotations

from collections import defaultdict

import dagster as dg
from pydantic import BaseModel, Field

from biomarker_assets.defs.biomarkers.batch_job import file_biomarkers_batch_job
from biomarker_assets.defs.biomarkers.jobs import biomarkers_job
from biomarker_assets.lib.metadata.cleaning import RECORD_FIELD
from biomarker_assets.lib.partition_keys import parse_file_partition_key
from biomarker_assets.platform.backfills import ASSET_FOR_KIND, study_tags
from biomarker_assets.platform.batch_runs import batch_run_key, batch_run_request, batches
from biomarker_assets.platform.event_log import new_records
from biomarker_assets.platform.sensor_cursor import SensorCursor
from biomarker_assets.platform.sensor_interval import SENSOR_INTERVAL_S
from biomarker_assets.resources.metadata_table import MetadataTable
from biomarker_assets.resources.study_store import StudyStore


class Waiting(BaseModel):
    subject: str
    fields: list[str]


class WaitingCursor(SensorCursor):
    after_observation: int = 0  # storage ids of the last file outcomes (status observations, materializations)
    after_materialization: int = 0
    after_metadata: int = 0  # storage id of the last cleaned-metadata materialization seen
    waiting: dict[str, Waiting] = Field(default_factory=dict)  # partition -> what it waits for


def _follow_outcomes(cursor: WaitingCursor, instance: dg.DagsterInstance) -> None:
    """Each data file's latest outcome decides whether it waits (and for what) or not."""
    outcomes = [
        *new_records(instance.fetch_observations, ASSET_FOR_KIND["data"], cursor.after_observation),
        *new_records(instance.fetch_materializations, ASSET_FOR_KIND["data"], cursor.after_materialization),
    ]
    for record in sorted(outcomes, key=lambda r: r.storage_id):
        event = record.asset_event
        assert event is not None and event.partition, "fetched by asset key: an event of the partitioned data asset"
        if record.asset_materialization:
            cursor.after_materialization = max(cursor.after_materialization, record.storage_id)
        else:
            cursor.after_observation = max(cursor.after_observation, record.storage_id)
        meta = event.metadata
        status = getattr(meta.get("status"), "value", None)
        fields = getattr(meta.get("missing_subject_fields"), "value", None)
        subject = getattr(meta.get("subject"), "value", None)
        if status == "waiting" and fields and subject:
            cursor.waiting[event.partition] = Waiting(subject=subject, fields=list(fields))
        else:
            cursor.waiting.pop(event.partition, None)


@dg.sensor(
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    jobs=[biomarkers_job, file_biomarkers_batch_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-requests files waiting on subject metadata as soon as cleaned metadata provides it.",
)
def waiting_files_sensor(
    context: dg.SensorEvaluationContext, metadata_table: MetadataTable, study_store: StudyStore
) -> dg.SensorResult:
    cursor = WaitingCursor.load(context.cursor)
    instance = context.instance
    _follow_outcomes(cursor, instance)

    metadata_events = new_records(instance.fetch_materializations, ASSET_FOR_KIND["metadata"], cursor.after_metadata)
    if metadata_events:
        cursor.after_metadata = metadata_events[-1].storage_id
    touched = {parse_file_partition_key(r.partition_key).study for r in metadata_events if r.partition_key}
    ready: dict[str, list[str]] = defaultdict(list)  # study -> partitions whose metadata arrived
    for partition, waiting in sorted(cursor.waiting.items()):
        study, key = parse_file_partition_key(partition)
        if study not in touched:
            continue
        record = metadata_table.get_subject(study, waiting.subject)
        if record and all(record.get(RECORD_FIELD[f]) is not None for f in waiting.fields):
            ready[study].append(partition)
            context.log.info(f"{key}: {waiting.fields} now in the metadata of {waiting.subject}; requesting a run")
    run_requests = []
    for study, partitions in ready.items():
        run_key = lambda p: f"{p}@metadata-{cursor.after_metadata}"  # noqa: E731  # one rerun per metadata change
        per_run = _files_per_run(study, study_store, context)
        if per_run > 1:  # a study in batched mode: N files per run (platform/batch_runs.py)
            run_requests += [
                batch_run_request(chunk, batch_run_key(map(run_key, chunk)), study_tags(study))
                for chunk in batches(partitions, per_run)
            ]
        else:
            run_requests += [
                dg.RunRequest(run_key=run_key(p), partition_key=p, tags=study_tags(study)) for p in partitions
            ]
    return dg.SensorResult(run_requests=run_requests, cursor=cursor.dump())


def _files_per_run(study: str, store: StudyStore, context: dg.SensorEvaluationContext) -> int:
    """The study's ``files_per_run``; 1 (a run per file) when its config cannot be read now."""
    try:
        return store.load_config(study).config.files_per_run
    except Exception as exc:  # a broken config is reported by the listing sensor; these files still rerun
        context.log.warning(f"{study}: config not readable ({type(exc).__name__}: {exc}); one run per file")
        return 1
