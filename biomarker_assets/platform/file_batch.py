"""One file of a batch run: the asset's own per-file code path, with its results as per-partition events.

``file_biomarkers`` (defs/biomarkers/assets.py) processes one file through its execution context: the
partition key, the event log, run tags. ``FileInBatch`` is that context for one file of a batch run;
what the asset yields (a ``MaterializeResult`` with its check results, or a lone check result for a
waiting file) becomes the events a one-file run would store for the partition: an
``AssetMaterialization`` with the same metadata, outcome tag and data-version tags, and one
``AssetCheckEvaluation`` per check result, pointing at that materialization. A failed file gets the
planned events a one-file run starts with, so that when the batch run fails the partition and its
checks show "Failed" / "Execution failed", as they do for a failed one-file run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import dagster as dg

from biomarker_assets.defs.partitions import data_files
from biomarker_assets.platform.dagster_private import (
    CODE_VERSION_TAG,
    DATA_VERSION_IS_USER_PROVIDED_TAG,
    DATA_VERSION_TAG,
    NULL_EVENT_POINTER,
    AssetCheckEvaluationPlanned,
    AssetCheckEvaluationTargetMaterializationData,
    AssetMaterializationPlannedData,
    DagsterEvent,
    DagsterEventType,
    get_input_data_version_tag,
    get_input_event_pointer_tag,
)

BatchEvent = dg.AssetMaterialization | dg.AssetObservation | dg.AssetCheckEvaluation


class FileInBatch:
    """What ``process_one_file`` reads from its context, for one file (partition) of a batch run."""

    def __init__(
        self,
        context: dg.OpExecutionContext,
        asset_key: dg.AssetKey,
        partition_key: str,
        check_keys: set[dg.AssetCheckKey],
        retry_number: int = 0,
    ):
        self.op_context = context
        self.asset_key = asset_key
        self.partition_key = partition_key
        self.selected_asset_check_keys = check_keys  # every check: a one-file run selects them all
        self.retry_number = retry_number
        self.outcome: str | None = None  # processed, qc_failed, waiting or failed (as the one-file run's tag)
        self.events: list[BatchEvent] = []

    @property
    def instance(self) -> dg.DagsterInstance:
        return self.op_context.instance

    @property
    def run_id(self) -> str:
        return self.op_context.run_id

    @property
    def log(self) -> logging.Logger | dg.DagsterLogManager:
        return self.op_context.log

    def log_event(self, event: BatchEvent) -> None:
        """Kept, and yielded by the batch op after the file: the op's events reach the log in order."""
        self.events.append(event)

    def take_events(self) -> list[BatchEvent]:
        events, self.events = self.events, []
        return events


def _latest(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str | None):
    flt = dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None)
    records = [
        *instance.fetch_materializations(flt, limit=1, ascending=False).records,
        *instance.fetch_observations(flt, limit=1, ascending=False).records,
    ]
    return max(records, key=lambda r: r.storage_id, default=None)


def data_version_tags(
    instance: dg.DagsterInstance, asset_def: dg.AssetsDefinition, partition: str, version: dg.DataVersion | None
) -> dict[str, str]:
    """The data-version tags Dagster gives a materialization (code version, inputs' versions and pointers).

    Inputs: the file's own partition of a partition-mapped dependency (``raw_data_file``), the
    newest event of a dependency on all partitions (``subject_metadata``), as the asset's step reads them.
    """
    spec = next(iter(asset_def.specs))
    tags = {CODE_VERSION_TAG: spec.code_version or ""}
    for dep in spec.deps:
        all_partitions = isinstance(dep.partition_mapping, dg.AllPartitionMapping)
        record = _latest(instance, dep.asset_key, None if all_partitions else partition)
        event = record.asset_event if record else None
        tags[get_input_data_version_tag(dep.asset_key)] = (
            (event.tags or {}).get(DATA_VERSION_TAG, "INITIAL") if event else "INITIAL"
        )
        tags[get_input_event_pointer_tag(dep.asset_key)] = str(record.storage_id) if record else NULL_EVENT_POINTER
    if version is not None:
        tags[DATA_VERSION_TAG] = version.value
        tags[DATA_VERSION_IS_USER_PROVIDED_TAG] = "true"
    return tags


def _evaluation(
    file: FileInBatch, result: dg.AssetCheckResult, target: AssetCheckEvaluationTargetMaterializationData | None
) -> dg.AssetCheckEvaluation:
    assert result.check_name is not None, "the asset names every check result (defs/biomarkers/checks.py)"
    return dg.AssetCheckEvaluation(
        asset_key=file.asset_key,
        check_name=result.check_name,
        passed=result.passed,
        metadata=result.metadata,
        severity=result.severity,
        description=result.description,
        target_materialization_data=target,
        partition=file.partition_key,
        blocking=False,
    )


def _target(file: FileInBatch) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The partition's newest materialization, as a one-file run's check results point at it."""
    records = file.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=file.asset_key, asset_partitions=[file.partition_key]), limit=1
    ).records
    if not records:
        return None
    record = records[0]
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=record.event_log_entry.run_id, timestamp=record.timestamp
    )


def as_events(file: FileInBatch, asset_def: dg.AssetsDefinition, results: Iterator[object]) -> Iterator[BatchEvent]:
    """The asset's yielded results for one file as the events of its partition, in the order it yields them.

    Events the code logs itself (status observations) come before the result that follows them.
    A check evaluation is built after the materialization it belongs to is yielded (so stored).
    """
    for result in results:
        yield from file.take_events()
        if isinstance(result, dg.MaterializeResult):
            yield dg.AssetMaterialization(
                asset_key=file.asset_key,
                partition=file.partition_key,
                metadata=result.metadata,
                tags={
                    **(result.tags or {}),
                    **data_version_tags(file.instance, asset_def, file.partition_key, result.data_version),
                },
            )
            target = _target(file)
            yield from (_evaluation(file, check, target) for check in result.check_results)
        elif isinstance(result, dg.AssetCheckResult):
            yield _evaluation(file, result, _target(file))
        else:
            raise TypeError(f"file_biomarkers yielded {type(result).__name__}; a batch run records only results")
    yield from file.take_events()


def report_planned(file: FileInBatch, check_names: list[str], step_key: str) -> None:
    """The planned events of a one-file run, for a file that failed: its run's failure marks it failed."""
    context = file.op_context
    job_name = context.job_name
    one = data_files.empty_subset().with_partition_keys([file.partition_key])
    events = [
        DagsterEvent.build_asset_materialization_planned_event(
            job_name, step_key, AssetMaterializationPlannedData(file.asset_key, partition=file.partition_key)
        ),
        *(
            DagsterEvent(
                event_type_value=DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED.value,
                job_name=job_name,
                message=f"{job_name} intends to execute asset check {name} on {file.partition_key}",
                event_specific_data=AssetCheckEvaluationPlanned(
                    asset_key=file.asset_key, check_name=name, partitions_subset=one
                ),
                step_key=step_key,
            )
            for name in check_names
        ),
    ]
    for event in events:
        context.instance.report_dagster_event(event, context.run_id)
