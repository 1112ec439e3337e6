"""Backfilling every file of one study from the UI: Jobs > backfill_study > Launchpad > study > Launch.

Dagster's UI selects dynamic partitions one by one or by range, with no pattern
filter (dagster#7101, #15405), and a study's files are not one range once files
arrive over time. This job puts one backfill on the instance for exactly the
study's files, tagged with the study so per-study run limits apply to its runs.
"""

import time

import dagster as dg
from dagster._core.execution.backfill import PartitionBackfill
from dagster._core.utils import make_new_backfill_id

from collections import defaultdict
from collections.abc import Iterable

from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset

from biomarker_assets.partitions import data_files, metadata_files

STUDY_TAG = "biomarker_assets/study"
ASSET_FOR_KIND = {"data": dg.AssetKey("file_biomarkers"), "metadata": dg.AssetKey("subject_metadata")}


def study_tags(study: str) -> dict[str, str]:
    return {STUDY_TAG: study}


def files_subset(entries: Iterable[tuple[str, str]]) -> AssetGraphSubset:
    """The (kind, partition key) pairs as the asset partitions a backfill targets."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, partition_key in entries:
        by_kind[kind].append(partition_key)
    partitions_def = {"data": data_files, "metadata": metadata_files}
    return AssetGraphSubset(
        partitions_subsets_by_asset_key={
            ASSET_FOR_KIND[kind]: partitions_def[kind].empty_subset().with_partition_keys(keys)
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


class StudyBackfillConfig(dg.Config):
    study: str
    only_not_processed: bool = False  # skip files whose biomarkers are already materialized


@dg.op
def launch_study_backfill(context: dg.OpExecutionContext, config: StudyBackfillConfig) -> str:
    asset_key = ASSET_FOR_KIND["data"]
    instance = context.instance
    partitions = [p for p in instance.get_dynamic_partitions(data_files.name) if p.startswith(f"{config.study}/")]
    if config.only_not_processed:
        done = instance.get_materialized_partitions(asset_key)
        partitions = [p for p in partitions if p not in done]
    if not partitions:
        raise dg.Failure(f"study {config.study!r} has no {'unprocessed ' if config.only_not_processed else ''}"
                         "data files: catalog it first (job catalog_study)")
    backfill_id = submit_files_backfill(
        instance, config.study, [("data", p) for p in partitions],
        title=f"biomarkers for every file of study {config.study}",
        description=f"{len(partitions)} file(s), launched by run {context.run_id}",
    )
    context.log.info(f"backfill {backfill_id}: {len(partitions)} file(s) of study {config.study}")
    context.add_output_metadata({"backfill_id": backfill_id, "files": len(partitions)})
    return backfill_id


@dg.job(description="Backfill file_biomarkers for every file of one study (config: study).")
def backfill_study():
    launch_study_backfill()
