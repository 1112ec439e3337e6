"""New or changed files of a study as Dagster requests: partitions, then one run each or one backfill.

Every run request carries the study tag (per-study concurrency in dagster.yaml) and a run key
``<partition>@<ETag>``, so Dagster itself drops a second request for the same file version; a data
file's run also carries ``dagster/max_runtime`` from its size (lib/skdh/isolation.run_max_runtime_seconds).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import dagster as dg

from biomarker_assets.lib.catalog.run_keys import file_run_key, files_backfill_id
from biomarker_assets.lib.catalog.scanning import CatalogEntry, chunks
from biomarker_assets.lib.file_kinds import FILE_KINDS
from biomarker_assets.lib.skdh.isolation import MAX_RUNTIME_TAG, run_max_runtime_seconds
from biomarker_assets.lib.study_config.schema import StudyConfig
from biomarker_assets.platform.backfills import sensor_repository, study_tags, submit_files_backfill
from biomarker_assets.platform.batch_runs import batch_run_key, batch_run_request
from biomarker_assets.platform.batch_sizing import batch_max_runtime_seconds

# Dagster's run queue starts higher priorities first (tag `dagster/priority`, default 0).
PRIORITY_TAG = "dagster/priority"


def run_priority(kind: str) -> dict[str, str]:
    """Metadata files first: a data file that runs before its subjects' metadata only waits and runs again."""
    return {PRIORITY_TAG: "1"} if kind == "metadata" else {}


def registration(entries: Iterable[CatalogEntry]) -> list[dg.AddDynamicPartitionsRequest]:
    """The files' partitions, one request per partitions definition and chunk of keys."""
    by_def: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        by_def[entry.partitions_def_name].append(entry.partition_key)
    return [
        dg.AddDynamicPartitionsRequest(partitions_def_name=name, partition_keys=chunk)
        for name, keys in by_def.items()
        for chunk in chunks(keys)
    ]


def _time_limit(entry: CatalogEntry) -> dict[str, str]:
    """A data file's run time limit from its size (run monitoring cancels the run past it); none for metadata."""
    return {MAX_RUNTIME_TAG: str(run_max_runtime_seconds(entry.size, entry.key))} if entry.kind == "data" else {}


def batch_runs(study: str, entries: list[CatalogEntry], files_per_run: int, max_run_memory_mib: float):
    """Runs of ``files_per_run`` data files each (platform/batch_runs.py), with their time limit.

    Their Fargate size is left to the launcher (``run_sizing.tags_for_run``): a file that runs in day
    pieces needs memory for one day at its header's rate, which a listing does not show.
    """
    return [
        batch_run_request(
            [e.partition_key for e in chunk],
            run_key=batch_run_key(file_run_key(e.partition_key, e.etag) for e in chunk),
            tags={
                **study_tags(study),
                MAX_RUNTIME_TAG: str(batch_max_runtime_seconds([(e.size, e.key) for e in chunk], max_run_memory_mib)),
            },
        )
        for chunk in (entries[i : i + files_per_run] for i in range(0, len(entries), files_per_run))
    ]


def runs_or_backfill(
    context: dg.SensorEvaluationContext,
    study: str,
    entries: list[CatalogEntry],
    backfill_threshold: int,
    config: StudyConfig | None = None,
) -> tuple[list[dg.AddDynamicPartitionsRequest], list[dg.RunRequest]]:
    """Partition requests and one run per file version; past the threshold, one backfill for the lot.

    Returns (dynamic partition requests, run requests). Past ``backfill_threshold`` files, validating
    one run request each would overrun the tick, so a backfill (throttled by the backfill daemon) is
    put on the instance directly (Dagster accepts backfill run requests only from sensors with an
    asset selection, and these sensors target jobs); its id is derived from the file versions, so a
    tick re-run after a crash does not submit it twice. Its partitions are registered first, in the
    evaluation: a backfill daemon iteration that saw the backfill before the sensor daemon added them
    would fail it (DagsterAssetBackfillDataLoadError), and the sensor daemon checks requested keys one
    query at a time (about 4 minutes for 100,000 on SQLite), while one insert per 10,000 takes a second.

    A study with ``files_per_run`` N > 1 (``config``) gets its data files as runs of N files each
    (``file_biomarkers_batch_job``), however many: a batch run request names no partition, so Dagster
    does not check its keys; past the threshold their partitions are registered in the evaluation too.
    """
    if config is not None and config.files_per_run > 1:
        data = [e for e in entries if e.kind == "data"]
        registered, runs = runs_or_backfill(
            context, study, [e for e in entries if e.kind != "data"], backfill_threshold
        )
        if len(data) > backfill_threshold:
            for request in registration(data):
                context.instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
        else:
            registered += registration(data)
        return registered, runs + batch_runs(study, data, config.files_per_run, config.max_run_memory_mib)
    if len(entries) <= backfill_threshold:
        runs = [
            dg.RunRequest(
                run_key=file_run_key(e.partition_key, e.etag),
                job_name=FILE_KINDS[e.kind].job,
                partition_key=e.partition_key,
                tags={**study_tags(study), **_time_limit(e), **run_priority(e.kind)},
            )
            for e in sorted(entries, key=lambda e: e.kind != "metadata")
        ]
        return registration(entries), runs
    for request in registration(entries):
        context.instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
    pairs = sorted((e.kind, e.partition_key) for e in entries)
    backfill_id = submit_files_backfill(
        context.instance,
        study,
        pairs,
        title=f"{len(pairs)} new or changed file(s) of study {study}",
        description="requested by the file sensors (more files than BIOMARKER_BACKFILL_THRESHOLD)",
        backfill_id=files_backfill_id((e.partition_key, e.etag) for e in entries),
        repository=sensor_repository(context),
    )
    context.log.info(f"{study}: {len(pairs)} files to process: backfill {backfill_id}")
    return [], []
