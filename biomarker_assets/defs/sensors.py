"""Sensors: new study configs, new/changed/removed files (listing or S3 events), and waiting files.

Every run request carries the study tag (per-study concurrency in dagster.yaml) and a
run key ``<partition>@<ETag>``, so Dagster itself drops a second request for the same
file version: duplicate events and re-delivered messages cost nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import defaultdict
from collections.abc import Iterable
from urllib.parse import unquote_plus

import dagster as dg
from botocore.exceptions import ClientError
from dagster._core.definitions.data_version import DATA_VERSION_TAG
from pydantic import BaseModel, Field

from biomarker_assets.defs.biomarkers.jobs import biomarkers_job
from biomarker_assets.defs.configs.jobs import configs_job
from biomarker_assets.defs.metadata.jobs import metadata_job
from biomarker_assets.defs.partitions import studies
from biomarker_assets.defs.summary.jobs import summary_job
from biomarker_assets.lib.biomarkers.processing import mark_input_removed
from biomarker_assets.lib.catalog.listing_pass import ListingProgress, listing_step
from biomarker_assets.lib.catalog.scanning import CatalogEntry, chunks, entry_for
from biomarker_assets.lib.metadata.cleaning import RECORD_FIELD
from biomarker_assets.lib.partition_keys import parse_file_partition_key
from biomarker_assets.lib.study_config.loading import ConfigError, ConfigNotFound, LoadedConfig
from biomarker_assets.platform.backfills import (
    ASSET_FOR_KIND,
    STUDY_TAG,  # noqa: F401 (re-exported: the tag people configure)
    study_tags,
    submit_files_backfill,
)
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.metadata_table import MetadataTable
from biomarker_assets.resources.notifier import Kind, Notifier
from biomarker_assets.resources.study_store import BucketMissing, StudyStore

SENSOR_INTERVAL_S = int(os.environ.get("BIOMARKER_SENSOR_INTERVAL", "30"))
# More files than this in one tick become one backfill (throttled by the backfill daemon)
# instead of one run request each: validating 100,000 run requests would overrun the tick.
BACKFILL_THRESHOLD = int(os.environ.get("BIOMARKER_BACKFILL_THRESHOLD", "200"))
# A listing tick stops taking pages after this long and resumes next tick (Dagster gives a
# sensor evaluation 60 s by default; the rest covers the catalog write and the requests).
LISTING_TICK_SECONDS = float(os.environ.get("BIOMARKER_LISTING_TICK_SECONDS", "20"))
EVENTS_PER_TICK = int(os.environ.get("BIOMARKER_EVENTS_PER_TICK", "2000"))
# Messages stay invisible until the tick after the one that registered them deletes them.
EVENTS_VISIBILITY_S = int(os.environ.get("BIOMARKER_EVENTS_VISIBILITY", "300"))

JOB_FOR_KIND = {"data": "process_data_file", "metadata": "clean_metadata_file"}


class _Waiting(BaseModel):
    subject: str
    fields: list[str]


class _Cursor(BaseModel):
    problems: dict[str, str] = Field(default_factory=dict)  # study -> problem already notified
    config_etags: dict[str, str] = Field(default_factory=dict)
    pending_deletes: dict[str, list[str]] = Field(default_factory=dict)  # queue url -> receipt handles
    after_observation: int = 0
    after_materialization: int = 0
    after_metadata: int = 0
    after_biomarkers: int = 0
    waiting: dict[str, _Waiting] = Field(default_factory=dict)  # partition -> what it waits for
    listing: dict[str, ListingProgress] = Field(default_factory=dict)  # study -> its unfinished listing pass
    listing_next: str | None = None  # the study the next listing tick starts with

    @classmethod
    def load(cls, raw: str | None) -> _Cursor:
        return cls.model_validate_json(raw) if raw else cls()

    def dump(self) -> str:
        return self.model_dump_json()


# ---------------------------------------------------------------- shared pieces


def _load_study(study: str, store: StudyStore) -> LoadedConfig:
    """The config with its buckets checked; raises ConfigNotFound, ConfigError or BucketMissing."""
    loaded = store.load_config(study)
    for bucket in dict.fromkeys([loaded.config.bucket, loaded.config.output_bucket]):
        store.require_bucket(bucket)
    return loaded


def _notify_once(cursor: _Cursor, study: str, problem: Exception, store: StudyStore, notifier: Notifier) -> None:
    """One SQS message per distinct problem of a study, however many ticks it lasts."""
    text = str(problem)
    if cursor.problems.get(study) == text:
        return
    cursor.problems[study] = text
    config_uri = f"s3://{store.config_bucket}/{store.config_prefix}{study}.yaml"
    if isinstance(problem, ConfigNotFound):
        notifier.send(Kind.MISSING_CONFIG, study, config_uri, text)
    elif isinstance(problem, ConfigError):
        notifier.send(
            Kind.INVALID_CONFIG,
            study,
            config_uri,
            f"{len(problem.errors)} error(s) in the study config",
            errors=problem.errors,
        )
    else:
        notifier.send(Kind.MISSING_BUCKET, study, config_uri, text)


def _registration(entries: Iterable[CatalogEntry]) -> list[dg.AddDynamicPartitionsRequest]:
    by_def: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        by_def[entry.partitions_def_name].append(entry.partition_key)
    return [
        dg.AddDynamicPartitionsRequest(partitions_def_name=name, partition_keys=chunk)
        for name, keys in by_def.items()
        for chunk in chunks(keys)
    ]


def _to_process(context: dg.SensorEvaluationContext, study: str, entries: list[CatalogEntry]):
    """Partition requests and one run per file version; past the threshold, one backfill for the lot.

    Returns (dynamic partition requests, run requests). A backfill is put on the instance directly
    (Dagster accepts backfill run requests only from sensors with an asset selection, and these
    sensors target jobs); its id is derived from the file versions, so a tick re-run after a crash
    does not submit it twice. Its partitions are registered first, in the evaluation: a backfill
    daemon iteration that saw the backfill before the sensor daemon added them would fail it
    (DagsterAssetBackfillDataLoadError), and the sensor daemon checks requested keys one query at
    a time (about 4 minutes for 100,000 on SQLite), while one insert per 10,000 takes a second.
    """
    if len(entries) <= BACKFILL_THRESHOLD:
        runs = [
            dg.RunRequest(
                run_key=f"{e.partition_key}@{e.etag}",
                job_name=JOB_FOR_KIND[e.kind],
                partition_key=e.partition_key,
                tags=study_tags(study),
            )
            for e in entries
        ]
        return _registration(entries), runs
    for request in _registration(entries):
        context.instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
    pairs = sorted((e.kind, e.partition_key) for e in entries)
    version = hashlib.sha256("\n".join(f"{e.partition_key}@{e.etag}" for e in entries).encode()).hexdigest()
    backfill_id = submit_files_backfill(
        context.instance,
        study,
        pairs,
        title=f"{len(pairs)} new or changed file(s) of study {study}",
        description="requested by the file sensors (more files than BIOMARKER_BACKFILL_THRESHOLD)",
        backfill_id=version[:16],
    )
    context.log.info(f"{study}: {len(pairs)} files to process: backfill {backfill_id}")
    return [], []


def _raw_observations(entries: Iterable[CatalogEntry]) -> list[dg.AssetObservation]:
    """A changed object gets a new data version, so its downstream shows stale in the UI."""
    return [
        dg.AssetObservation(
            asset_key="raw_data_file" if e.kind == "data" else "raw_metadata_file",
            partition=e.partition_key,
            metadata={"etag": e.etag, "size": e.size},
            tags={DATA_VERSION_TAG: e.etag},
        )
        for e in entries
    ]


def _removals(context: dg.SensorEvaluationContext, loaded: LoadedConfig, removed: list[CatalogEntry]):
    """Removed objects leave their partitions; results stay, their provenance marked."""
    requests = []
    for entry in removed:
        if entry.kind == "data" and entry.pipeline in loaded.config.pipelines:
            marked = mark_input_removed(loaded.config, entry.pipeline, entry.key)
            if marked:
                context.log.info(f"input of {marked} was removed; results kept, provenance marked")
    by_def: dict[str, list[str]] = defaultdict(list)
    for entry in removed:
        if context.instance.has_dynamic_partition(entry.partitions_def_name, entry.partition_key):
            by_def[entry.partitions_def_name].append(entry.partition_key)
    for name, keys in by_def.items():
        requests += [
            dg.DeleteDynamicPartitionsRequest(partitions_def_name=name, partition_keys=c) for c in chunks(keys)
        ]
    return requests


# ---------------------------------------------------------------- study configs


@dg.sensor(
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    job=configs_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-validates study configs (and registers new studies) when a config file changes.",
)
def study_configs_sensor(context: dg.SensorEvaluationContext, study_store: StudyStore):
    cursor = _Cursor.load(context.cursor)
    current = {
        o["Key"]: o["ETag"] for o in study_store.list_objects(study_store.config_bucket, study_store.config_prefix)
    }
    if current == cursor.config_etags:
        return dg.SkipReason("no study config changed")
    cursor.config_etags = current
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=_configs_run_key(current))], cursor=cursor.dump())


def _configs_run_key(etags: dict[str, str]) -> str:
    """The same for the same configs in any process (``hash()`` of a str is salted per process)."""
    digest = ",".join(f"{k}={v}" for k, v in sorted(etags.items()))
    return f"configs:{hashlib.sha256(digest.encode()).hexdigest()[:16]}"


# ---------------------------------------------------------------- listing mode


@dg.sensor(
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    jobs=[biomarkers_job, metadata_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Lists the prefixes of studies in 'listing' mode, diffs against the catalog and requests runs "
    "for new or changed files; reports a missing config or bucket once per problem.",
)
def study_files_listing_sensor(context: dg.SensorEvaluationContext, study_store: StudyStore, notifier: Notifier):
    cursor = _Cursor.load(context.cursor)
    run_requests: list[dg.RunRequest] = []
    partition_requests: list = []
    observations: list[dg.AssetObservation] = []
    deadline = time.monotonic() + LISTING_TICK_SECONDS
    known = context.instance.get_dynamic_partitions(studies.name)
    cursor.listing = {study: progress for study, progress in cursor.listing.items() if study in known}
    # Round robin from the study the last tick stopped in, so one large study cannot starve the others.
    start = known.index(cursor.listing_next) if cursor.listing_next in known else 0
    cursor.listing_next = None
    for position, study in enumerate(known[start:] + known[:start]):
        if position and time.monotonic() >= deadline:
            cursor.listing_next = study
            break
        try:
            loaded = _load_study(study, study_store)
        except (ConfigNotFound, ConfigError, BucketMissing) as problem:
            _notify_once(cursor, study, problem, study_store, notifier)
            continue
        cursor.problems.pop(study, None)
        if loaded.config.discovery.mode != "listing":
            cursor.listing.pop(study, None)
            continue
        started = time.monotonic()
        step = listing_step(loaded, study_store, cursor.listing.get(study), deadline)
        changes = step.changes
        registration, runs = _to_process(context, study, changes.to_process)
        partition_requests += registration + _removals(context, loaded, changes.removed)
        observations += _raw_observations(changes.changed)
        run_requests += runs
        progress = step.progress
        if step.complete:
            cursor.listing.pop(study, None)
            where = (
                f"pass complete: {progress.listed} object(s) in {progress.ticks} tick(s) over "
                f"{time.time() - progress.started_at:.0f} s, {step.cataloged} cataloged"
            )
        else:
            cursor.listing[study] = progress
            cursor.listing_next = study
            where = (
                f"pass continues next tick after {progress.start_after!r} "
                f"(prefix {progress.prefix_index + 1} of {len(progress.prefixes)}, {progress.listed} listed so far)"
            )
        if changes.new or changes.changed or changes.removed or not step.complete or progress.ticks > 1:
            context.log.info(
                f"{study}: listed {step.listed} object(s) in {time.monotonic() - started:.1f} s: {len(changes.new)} new, "
                f"{len(changes.changed)} changed, {len(changes.removed)} removed, {changes.unchanged} unchanged; {where}"
            )
        if not step.complete:
            break
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=partition_requests,
        asset_events=observations,
        cursor=cursor.dump(),
    )


# ---------------------------------------------------------------- events mode


def _sequencer(record: dict) -> str:
    """S3's per-key event order: hex strings compared after left-padding to one length."""
    return record.get("s3", {}).get("object", {}).get("sequencer", "").rjust(32, "0")


def _receive(queue_url: str, limit: int) -> list[dict]:
    sqs = aws_client("sqs")
    messages: list[dict] = []
    while len(messages) < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, limit - len(messages)),
            VisibilityTimeout=EVENTS_VISIBILITY_S,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not batch:
            break
        messages += batch
    return messages


def _delete(queue_url: str, handles: list[str]) -> None:
    """Deleting an expired handle fails harmlessly: the message comes back and its run key dedupes it."""
    sqs = aws_client("sqs")
    for start in range(0, len(handles), 10):
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles[start : start + 10])],
        )


def _latest_records(messages: list[dict], log) -> dict[tuple[str, str], dict]:
    """The newest event per object; test events and unreadable bodies are dropped (and deleted)."""
    latest: dict[tuple[str, str], dict] = {}
    for message in messages:
        try:
            body = json.loads(message["Body"])
        except json.JSONDecodeError:
            log.warning(f"dropping a message that is not JSON: {message['Body'][:200]!r}")
            continue
        if body.get("Event") == "s3:TestEvent":
            continue
        for record in body.get("Records", []):
            try:
                obj = (record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"]))
            except (KeyError, TypeError):
                log.warning(f"dropping an S3 event without bucket/key: {record!r:.200}")
                continue
            if obj not in latest or _sequencer(record) >= _sequencer(latest[obj]):
                latest[obj] = record
    return latest


@dg.sensor(
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    jobs=[biomarkers_job, metadata_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Drains S3 event notifications for studies in 'events' mode: a tick costs O(new events). "
    "Messages are deleted on the tick after the one that registered their files.",
)
def study_files_events_sensor(context: dg.SensorEvaluationContext, study_store: StudyStore):
    cursor = _Cursor.load(context.cursor)
    # The previous tick's partitions and run requests are stored (else this cursor would not have advanced).
    for queue_url, handles in cursor.pending_deletes.items():
        _delete(queue_url, handles)
    cursor.pending_deletes = {}

    by_queue: dict[str, list[LoadedConfig]] = defaultdict(list)
    for study in context.instance.get_dynamic_partitions(studies.name):
        try:
            loaded = study_store.load_config(study)  # problems are reported by the listing sensor
        except (ConfigNotFound, ConfigError):
            continue
        if loaded.config.discovery.mode == "events":
            by_queue[loaded.config.discovery.events_queue].append(loaded)

    run_requests, partition_requests, observations = [], [], []
    sqs = aws_client("sqs")
    for queue_name, loaded_configs in by_queue.items():
        try:
            queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        except ClientError as exc:
            context.log.error(f"events queue {queue_name!r} of {[c.config.study for c in loaded_configs]}: {exc}")
            continue
        messages = _receive(queue_url, EVENTS_PER_TICK)
        if not messages:
            continue
        cursor.pending_deletes[queue_url] = [m["ReceiptHandle"] for m in messages]
        touched: dict[str, tuple[LoadedConfig, list[CatalogEntry], list[CatalogEntry]]] = {}
        for bucket, key in _latest_records(messages, context.log):
            loaded = next(
                (
                    c
                    for c in loaded_configs
                    if c.config.bucket == bucket and any(key.startswith(p) for p in c.config.prefixes)
                ),
                None,
            )
            if loaded is None:
                continue
            # The object's state now, not the event's: order and duplicates stop mattering.
            try:
                head = study_store.head(bucket, key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                    raise
                head = None
            entry = (
                entry_for(loaded.config, key, head["ContentLength"], head["ETag"], head["LastModified"])
                if head
                else entry_for(loaded.config, key, 0, "", None)
            )
            if entry is None:
                continue
            _, present, removed = touched.setdefault(loaded.config.study, (loaded, [], []))
            (present if head else removed).append(entry)
        for study, (loaded, present, removed) in touched.items():
            registration, runs = _to_process(context, study, present)
            partition_requests += registration + _removals(context, loaded, removed)
            observations += _raw_observations(present)
            run_requests += runs
            context.log.info(
                f"{study}: {len(present)} file(s) new or changed, {len(removed)} removed, "
                f"from {len(messages)} message(s)"
            )
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=partition_requests,
        asset_events=observations,
        cursor=cursor.dump(),
    )


# ---------------------------------------------------------------- waiting files


def _new_records(instance: dg.DagsterInstance, fetch, asset_key: dg.AssetKey, after: int):
    records, cursor = [], None
    while True:
        result = fetch(
            dg.AssetRecordsFilter(asset_key=asset_key, after_storage_id=after),
            limit=1000,
            cursor=cursor,
            ascending=True,
        )
        records += result.records
        if not result.has_more:
            return records
        cursor = result.cursor


@dg.sensor(
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    job=biomarkers_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-requests files waiting on subject metadata as soon as cleaned metadata provides it.",
)
def waiting_files_sensor(context: dg.SensorEvaluationContext, metadata_table: MetadataTable):
    cursor = _Cursor.load(context.cursor)
    instance = context.instance
    outcomes = [
        *_new_records(instance, instance.fetch_observations, ASSET_FOR_KIND["data"], cursor.after_observation),
        *_new_records(instance, instance.fetch_materializations, ASSET_FOR_KIND["data"], cursor.after_materialization),
    ]
    for record in sorted(outcomes, key=lambda r: r.storage_id):
        event = record.asset_materialization or record.asset_observation
        if record.asset_materialization:
            cursor.after_materialization = max(cursor.after_materialization, record.storage_id)
        else:
            cursor.after_observation = max(cursor.after_observation, record.storage_id)
        meta = event.metadata
        status = getattr(meta.get("status"), "value", None)
        fields = getattr(meta.get("missing_subject_fields"), "value", None)
        subject = getattr(meta.get("subject"), "value", None)
        if status == "waiting" and fields and subject:
            cursor.waiting[event.partition] = _Waiting(subject=subject, fields=list(fields))
        else:
            cursor.waiting.pop(event.partition, None)

    metadata_events = _new_records(
        instance, instance.fetch_materializations, ASSET_FOR_KIND["metadata"], cursor.after_metadata
    )
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


@dg.sensor(
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    job=summary_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Refreshes a study's summary table when any of its files' biomarkers were materialized.",
)
def study_summary_sensor(context: dg.SensorEvaluationContext):
    cursor = _Cursor.load(context.cursor)
    records = _new_records(
        context.instance, context.instance.fetch_materializations, ASSET_FOR_KIND["data"], cursor.after_biomarkers
    )
    if not records:
        return dg.SkipReason("no biomarkers materialized since the last summary request")
    cursor.after_biomarkers = records[-1].storage_id
    touched = sorted({parse_file_partition_key(r.partition_key).study for r in records if r.partition_key})
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=f"summary:{s}:{cursor.after_biomarkers}", partition_key=s, tags=study_tags(s))
            for s in touched
        ],
        cursor=cursor.dump(),
    )


ALL_SENSORS = [
    study_summary_sensor,
    study_configs_sensor,
    study_files_listing_sensor,
    study_files_events_sensor,
    waiting_files_sensor,
]
