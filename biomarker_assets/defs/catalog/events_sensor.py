"""Studies in 'events' mode: drain their S3 event notifications, so a tick costs O(new events).

Messages are deleted on the tick after the one that registered their files: by then Dagster has
stored that tick's partitions and run requests (else this cursor would not have advanced).

One bad thing never stops the tick: a malformed message is deleted with a warning (retrying cannot
fix it); a message whose object cannot be checked (403, throttling, a deleted bucket) is left on
the queue, so it comes back after the visibility timeout and ends in the dead-letter queue if it
never succeeds. A 404 counts as a removal only when the bucket itself still exists.
"""

from __future__ import annotations

from collections import defaultdict

import dagster as dg
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field

from biomarker_assets.defs.biomarkers.batch_job import file_biomarkers_batch_job
from biomarker_assets.defs.biomarkers.jobs import biomarkers_job
from biomarker_assets.defs.metadata.jobs import metadata_job
from biomarker_assets.defs.partitions import studies
from biomarker_assets.lib.catalog.s3_events import latest_records, owning_config
from biomarker_assets.lib.catalog.scanning import CatalogEntry, entry_for
from biomarker_assets.lib.study_config.loading import ConfigError, ConfigNotFound, LoadedConfig
from biomarker_assets.platform.file_requests import runs_or_backfill
from biomarker_assets.platform.raw_observations import raw_observations
from biomarker_assets.platform.removals import removals
from biomarker_assets.platform.sensor_cursor import SensorCursor
from biomarker_assets.platform.sensor_interval import SENSOR_INTERVAL_S
from biomarker_assets.resources.discovery_tuning import DiscoveryTuning
from biomarker_assets.resources.events_queue import EventsQueue
from biomarker_assets.resources.study_store import BucketMissing, StudyStore

AWS_ERRORS = (ClientError, BotoCoreError)  # after the client's own retries


class EventsCursor(SensorCursor):
    pending_deletes: dict[str, list[str]] = Field(default_factory=dict)  # queue url -> receipt handles


def _events_studies(context: dg.SensorEvaluationContext, store: StudyStore) -> dict[str, list[LoadedConfig]]:
    """Queue name -> the configs of the studies in 'events' mode that use it."""
    by_queue: dict[str, list[LoadedConfig]] = defaultdict(list)
    for study in studies.get_partition_keys(dynamic_partitions_store=context.instance):
        try:
            loaded = store.load_config(study)  # problems are reported by the listing sensor
        except (ConfigNotFound, ConfigError):
            continue
        except AWS_ERRORS as exc:  # this study waits for a later tick; the others carry on
            context.log.error(f"{study}: study config not readable: {exc}")
            continue
        discovery = loaded.config.discovery
        if discovery.mode == "events":
            assert discovery.events_queue, "the config schema requires events_queue in 'events' mode"
            by_queue[discovery.events_queue].append(loaded)
    return by_queue


def _entry_now(store: StudyStore, loaded: LoadedConfig, bucket: str, key: str) -> tuple[CatalogEntry | None, bool]:
    """The object's state now, not the event's (order and duplicates stop mattering): (entry, present).

    Raises BucketMissing (a 404 from a deleted bucket is no removal) and AWS errors other than a 404.
    """
    head = store.head_or_none(bucket, key)
    if head:
        return entry_for(loaded.config, key, head["ContentLength"], head["ETag"], head["LastModified"]), True
    return entry_for(loaded.config, key, 0, "", None), False


@dg.sensor(
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    jobs=[biomarkers_job, metadata_job, file_biomarkers_batch_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Drains S3 event notifications for studies in 'events' mode: a tick costs O(new events). "
    "Messages are deleted on the tick after the one that registered their files.",
)
def study_files_events_sensor(
    context: dg.SensorEvaluationContext,
    study_store: StudyStore,
    events_queue: EventsQueue,
    discovery_tuning: DiscoveryTuning,
) -> dg.SensorResult:
    cursor = EventsCursor.load(context.cursor)
    # The previous tick's partitions and run requests are stored (else this cursor would not have advanced).
    for queue_url, handles in cursor.pending_deletes.items():
        try:
            events_queue.delete(queue_url, handles)
        except AWS_ERRORS as exc:  # undeleted messages come back; their run keys dedupe them
            context.log.error(f"could not delete {len(handles)} message(s) from {queue_url}: {exc}")
    cursor.pending_deletes = {}

    run_requests: list[dg.RunRequest] = []
    partition_requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    observations: list[dg.AssetObservation] = []
    for queue_name, loaded_configs in _events_studies(context, study_store).items():
        try:
            queue_url = events_queue.queue_url(queue_name)
            messages = events_queue.receive(queue_url)
        except AWS_ERRORS as exc:
            context.log.error(f"events queue {queue_name!r} of {[c.config.study for c in loaded_configs]}: {exc}")
            continue
        if not messages:
            continue
        sources: dict[tuple[str, str], list[str]] = {}
        kept: set[str] = set()  # handles of messages left on the queue for another try
        touched: dict[str, tuple[LoadedConfig, list[CatalogEntry], list[CatalogEntry]]] = {}
        for bucket, key in latest_records(messages, context.log.warning, sources):
            loaded = owning_config(loaded_configs, bucket, key)
            if loaded is None:
                continue
            try:
                entry, present = _entry_now(study_store, loaded, bucket, key)
            except (BucketMissing, *AWS_ERRORS) as exc:
                context.log.error(
                    f"{loaded.config.study}: s3://{bucket}/{key} not checked ({exc}); not treated as removed, "
                    "its message stays on the queue (retried, then dead-lettered)"
                )
                kept.update(sources.get((bucket, key), []))
                continue
            if entry is None:
                continue
            _, present_entries, removed_entries = touched.setdefault(loaded.config.study, (loaded, [], []))
            (present_entries if present else removed_entries).append(entry)
        for study, (loaded, present_entries, removed_entries) in touched.items():
            registration, runs = runs_or_backfill(
                context, study, present_entries, discovery_tuning.backfill_threshold, loaded.config
            )
            partition_requests += registration
            try:
                partition_requests += removals(context, study_store, loaded, removed_entries)
            except AWS_ERRORS as exc:  # e.g. the results bucket not writable: the removals wait for a retry
                context.log.error(f"{study}: {len(removed_entries)} removal(s) not applied: {exc}")
                kept.update(h for e in removed_entries for h in sources.get((loaded.config.bucket, e.key), []))
            observations += raw_observations(present_entries)
            run_requests += runs
            context.log.info(
                f"{study}: {len(present_entries)} file(s) new or changed, {len(removed_entries)} removed, "
                f"from {len(messages)} message(s)"
            )
        cursor.pending_deletes[queue_url] = [m["ReceiptHandle"] for m in messages if m["ReceiptHandle"] not in kept]
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=partition_requests,
        asset_events=observations,
        cursor=cursor.dump(),
    )
