"""Backfills of a set of files put on the instance, tagged with their study (per-study run limits).

Used by ``backfill_study`` and by the file sensors past ``BIOMARKER_BACKFILL_THRESHOLD``.
"""

import time
from collections import defaultdict
from collections.abc import Iterable

import dagster as dg

from biomarker_assets.defs.partitions import FILES_PARTITIONS
from biomarker_assets.lib.file_kinds import FILE_KINDS
from biomarker_assets.platform.dagster_private import AssetGraphSubset, PartitionBackfill, make_new_backfill_id

STUDY_TAG = "biomarker_assets/study"
ASSET_FOR_KIND = {kind: dg.AssetKey(k.asset) for kind, k in FILE_KINDS.items()}


def study_tags(study: str) -> dict[str, str]:
    return {STUDY_TAG: study}


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


def submit_files_backfill(
    instance: dg.DagsterInstance,
    study: str,
    pairs: list[tuple[str, str]],
    title: str,
    description: str,
    backfill_id: str | None = None,
) -> str:
    """One backfill for the files, tagged with the study; an existing ``backfill_id`` is not resubmitted."""
    backfill_id = backfill_id or make_new_backfill_id()
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
