"""Studies in 'listing' mode: list their prefixes, diff against the catalog, request runs for what changed.

A pass over a large study spans ticks (``lib.catalog.listing_pass``); studies take turns, round robin.
"""

from __future__ import annotations

import time

import dagster as dg
from pydantic import Field

from biomarker_assets.defs.biomarkers.batch_job import file_biomarkers_batch_job
from biomarker_assets.defs.biomarkers.jobs import biomarkers_job
from biomarker_assets.defs.metadata.jobs import metadata_job
from biomarker_assets.defs.partitions import studies
from biomarker_assets.lib.catalog.listing_pass import ListingProgress, listing_step
from biomarker_assets.lib.catalog.problem_notices import first_notice
from biomarker_assets.lib.study_config.loading import ConfigError, ConfigNotFound, LoadedConfig
from biomarker_assets.platform.file_requests import runs_or_backfill
from biomarker_assets.platform.raw_observations import catalog_materializations, raw_observations
from biomarker_assets.platform.removals import removals
from biomarker_assets.platform.sensor_cursor import SensorCursor
from biomarker_assets.platform.sensor_interval import SENSOR_INTERVAL_S
from biomarker_assets.resources.discovery_tuning import DiscoveryTuning
from biomarker_assets.resources.notifier import Kind, Notifier
from biomarker_assets.resources.study_store import BucketMissing, StudyStore


class ListingCursor(SensorCursor):
    problems: dict[str, str] = Field(default_factory=dict)  # study -> problem already notified
    listing: dict[str, ListingProgress] = Field(default_factory=dict)  # study -> its unfinished listing pass
    listing_next: str | None = None  # the study the next listing tick starts with


def _load_study(study: str, store: StudyStore) -> LoadedConfig:
    """The config with its buckets checked; raises ConfigNotFound, ConfigError or BucketMissing."""
    loaded = store.load_config(study)
    for bucket in dict.fromkeys([loaded.config.bucket, loaded.config.output_bucket]):
        store.require_bucket(bucket)
    return loaded


def _report_once(cursor: ListingCursor, study: str, problem: Exception, store: StudyStore, notifier: Notifier) -> None:
    """One notification per distinct problem of a study, however many ticks it lasts."""
    notice = first_notice(cursor.problems, study, problem)
    if notice is not None:
        config_uri = f"s3://{store.config_bucket}/{store.config_prefix}{study}.yaml"
        notifier.send(Kind(notice.kind), study, config_uri, notice.reason, **notice.details)


@dg.sensor(
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    jobs=[biomarkers_job, metadata_job, file_biomarkers_batch_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Lists the prefixes of studies in 'listing' mode, diffs against the catalog and requests runs "
    "for new or changed files; reports a missing config or bucket once per problem.",
)
def study_files_listing_sensor(
    context: dg.SensorEvaluationContext, study_store: StudyStore, notifier: Notifier, discovery_tuning: DiscoveryTuning
) -> dg.SensorResult:
    cursor = ListingCursor.load(context.cursor)
    run_requests: list[dg.RunRequest] = []
    partition_requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    observations: list[dg.AssetObservation | dg.AssetMaterialization] = []
    deadline = time.monotonic() + discovery_tuning.listing_tick_seconds
    known = list(studies.get_partition_keys(dynamic_partitions_store=context.instance))
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
            _report_once(cursor, study, problem, study_store, notifier)
            continue
        cursor.problems.pop(study, None)
        if loaded.config.discovery.mode != "listing":
            cursor.listing.pop(study, None)
            continue
        started = time.monotonic()
        step = listing_step(loaded, study_store, cursor.listing.get(study), deadline)
        changes = step.changes
        registration, runs = runs_or_backfill(
            context, study, changes.to_process, discovery_tuning.backfill_threshold, loaded.config
        )
        partition_requests += registration
        partition_requests += removals(context, study_store, loaded, changes.removed)
        observations += raw_observations(changes.changed)
        observations += catalog_materializations(study, loaded, step)
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
            seconds = time.monotonic() - started
            context.log.info(
                f"{study}: listed {step.listed} object(s) in {seconds:.1f} s: {len(changes.new)} new, "
                f"{len(changes.changed)} changed, {len(changes.removed)} removed, {changes.unchanged} unchanged; "
                f"{where}"
            )
        if not step.complete:
            break
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=partition_requests,
        asset_events=observations,
        cursor=cursor.dump(),
    )
