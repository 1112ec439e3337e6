"""Backfills of a set of files put on the instance, tagged with their study (per-study run limits).

Used by ``backfill_study`` and by the file sensors past ``BIOMARKER_BACKFILL_THRESHOLD``.

They are *job* backfills (one run of the file's one-file job per partition), not asset backfills,
because of how Dagster 1.13 decides a backfill's outcome. An asset backfill counts a targeted
partition that its run did not materialize as failed (``asset_backfill.py``, ``_backfill_is_stalled``),
so a file waiting on metadata, whose run succeeds without materializing, made the whole backfill
"Failed". A job backfill's outcome is its runs' statuses (``job_backfill.py``): a waiting file's run
succeeds, a broken file's run fails, so the backfill fails only for broken files. A job backfill names
the code location it runs in; where none is known (a job executed in process, a sensor evaluated
outside the daemon) the asset backfill is the fallback.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable

import dagster as dg

from biomarker_assets.defs.partitions import FILES_PARTITIONS
from biomarker_assets.lib.file_kinds import FILE_KINDS
from biomarker_assets.platform.dagster_private import (
    AssetGraphSubset,
    BulkActionStatus,
    PartitionBackfill,
    RemotePartitionSetOrigin,
    RemoteRepositoryOrigin,
    make_new_backfill_id,
    partition_set_snap_name_for_job_name,
)

STUDY_TAG = "biomarker_assets/study"
ASSET_FOR_KIND = {kind: dg.AssetKey(k.asset) for kind, k in FILE_KINDS.items()}
KIND_ORDER = ("metadata", "data")  # metadata first: its runs queue ahead, so data files wait less


def study_tags(study: str) -> dict[str, str]:
    return {STUDY_TAG: study}


def run_repository(context: dg.OpExecutionContext) -> RemoteRepositoryOrigin | None:
    """The code location a run was launched in (None when executed in process)."""
    origin = context.dagster_run.remote_job_origin
    return origin.repository_origin if origin else None


def sensor_repository(context: dg.SensorEvaluationContext) -> RemoteRepositoryOrigin | None:
    """The code location a sensor is evaluated in (None outside the daemon)."""
    location, name = context.code_location_origin, context.repository_name
    return RemoteRepositoryOrigin(location, name) if location and name else None


def files_subset(entries: Iterable[tuple[str, str]]) -> AssetGraphSubset:
    """The (kind, partition key) pairs as the asset partitions a backfill targets."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, partition_key in entries:
        by_kind[kind].append(partition_key)
    return AssetGraphSubset(  # type: ignore[call-arg]  # mypy reads the class's `__hash__ = None` as a 3rd field
        partitions_subsets_by_asset_key={
            ASSET_FOR_KIND[kind]: FILES_PARTITIONS[kind].empty_subset().with_partition_keys(keys)
            for kind, keys in by_kind.items()
        },
        non_partitioned_asset_keys=set(),
    )


def _job_backfill(
    backfill_id: str, repository: RemoteRepositoryOrigin, kind: str, keys: list[str], tags: dict[str, str], **text
) -> PartitionBackfill:
    job = FILE_KINDS[kind].job
    return PartitionBackfill(
        backfill_id=backfill_id,
        partition_set_origin=RemotePartitionSetOrigin(
            repository_origin=repository, partition_set_name=partition_set_snap_name_for_job_name(job)
        ),
        status=BulkActionStatus.REQUESTED,
        partition_names=keys,
        from_failure=False,
        reexecution_steps=None,
        tags=tags,
        backfill_timestamp=time.time(),
        asset_selection=None,
        **text,
    )


def submit_files_backfill(
    instance: dg.DagsterInstance,
    study: str,
    pairs: list[tuple[str, str]],
    title: str,
    description: str,
    backfill_id: str | None = None,
    repository: RemoteRepositoryOrigin | None = None,
) -> str:
    """Backfill the files, tagged with the study; an existing ``backfill_id`` is not resubmitted.

    With ``repository``: one job backfill per file kind (metadata first), the data one with
    ``backfill_id``, the metadata one with ``backfill_id + "-metadata"``. Returns ``backfill_id``.
    """
    backfill_id = backfill_id or make_new_backfill_id()
    if repository is None:
        if instance.get_backfill(backfill_id) is None:
            instance.add_backfill(
                PartitionBackfill.from_asset_graph_subset(
                    backfill_id=backfill_id,
                    backfill_timestamp=time.time(),
                    tags=study_tags(study),
                    dynamic_partitions_store=instance,
                    asset_graph_subset=files_subset(pairs),
                    title=title,
                    description=description,
                    run_config=None,
                )
            )
        return backfill_id
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, key in pairs:
        by_kind[kind].append(key)
    for kind in (k for k in KIND_ORDER if by_kind[k]):
        kind_id = backfill_id if kind == "data" or not by_kind["data"] else f"{backfill_id}-metadata"
        if instance.get_backfill(kind_id) is None:
            instance.add_backfill(
                _job_backfill(
                    kind_id,
                    repository,
                    kind,
                    by_kind[kind],
                    study_tags(study),
                    title=title if len(by_kind) == 1 else f"{title}: {kind} files",
                    description=description,
                )
            )
    return backfill_id
