"""Files waiting on subject metadata: request them again once cleaned metadata provides it."""

from __future__ import annotations

import dagster as dg
from pydantic import BaseModel, Field

from biomarker_assets.defs.biomarkers.jobs import biomarkers_job
from biomarker_assets.lib.metadata.cleaning import RECORD_FIELD
from biomarker_assets.lib.partition_keys import parse_file_partition_key
from biomarker_assets.platform.backfills import ASSET_FOR_KIND, study_tags
from biomarker_assets.platform.event_log import new_records
from biomarker_assets.platform.sensor_cursor import SensorCursor
from biomarker_assets.platform.sensor_interval import SENSOR_INTERVAL_S
from biomarker_assets.resources.metadata_table import MetadataTable


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
    job=biomarkers_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-requests files waiting on subject metadata as soon as cleaned metadata provides it.",
)
def waiting_files_sensor(context: dg.SensorEvaluationContext, metadata_table: MetadataTable) -> dg.SensorResult:
    cursor = WaitingCursor.load(context.cursor)
    instance = context.instance
    _follow_outcomes(cursor, instance)

    metadata_events = new_records(instance.fetch_materializations, ASSET_FOR_KIND["metadata"], cursor.after_metadata)
    if metadata_events:
        cursor.after_metadata = metadata_events[-1].storage_id
    touched = {parse_file_partition_key(r.partition_key).study for r in metadata_events if r.partition_key}
    run_requests = []
    for partition, waiting in sorted(cursor.waiting.items()):
        study, key = parse_file_partition_key(partition)
        if study not in touched:
            continue
        record = metadata_table.get_subject(study, waiting.subject)
        if record and all(record.get(RECORD_FIELD[f]) is not None for f in waiting.fields):
            run_requests.append(
                dg.RunRequest(
                    run_key=f"{partition}@metadata-{cursor.after_metadata}",
                    partition_key=partition,
                    tags=study_tags(study),
                )
            )
            context.log.info(f"{key}: {waiting.fields} now in the metadata of {waiting.subject}; requesting a run")
    return dg.SensorResult(run_requests=run_requests, cursor=cursor.dump())
