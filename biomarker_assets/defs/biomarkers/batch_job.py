"""``file_biomarkers_batch_job``: many data files of one study in one run (one Fargate task).

Not a backfill policy: a multi-partition run of ``file_biomarkers`` (``BackfillPolicy.multi_run``)
executes the asset once for a partition *range* and turns its one output into a materialization of
every partition in it (dagster ``execute_step._get_output_asset_events``): a waiting file would be
materialized with its neighbours' metadata, and one bad file's exception fails the step, so none of
the batch is materialized. This job's op runs the asset's own per-file code path once per file and
records each file's events for its partition (platform/file_batch.py). See ARCHITECTURE.md.
"""

import time
from collections.abc import Iterator

import dagster as dg

from biomarker_assets.defs.biomarkers.assets import FILE_RETRY_POLICY, file_biomarkers, process_one_file
from biomarker_assets.lib.partition_keys import parse_file_partition_key
from biomarker_assets.platform.batch_runs import BATCH_JOB, BATCH_OP
from biomarker_assets.platform.file_batch import BatchEvent, FileInBatch, as_events, report_planned
from biomarker_assets.platform.status import OUTCOME_TAG
from biomarker_assets.resources.aws import is_transient
from biomarker_assets.resources.metadata_table import MetadataTable
from biomarker_assets.resources.notifier import Notifier
from biomarker_assets.resources.processing_options import ProcessingOptions
from biomarker_assets.resources.study_store import StudyStore

OUTCOMES_TAG = "biomarker_assets/outcomes"  # a batch run's files per outcome, e.g. "failed=1 processed=3 waiting=1"
# The run's own outcome tag is its worst file's, so the runs list's tag filter finds a batch holding such a file.
WORST_FIRST = ("failed", "superseded", "qc_failed", "waiting", "processed")


class FileBatchConfig(dg.Config):
    partition_keys: list[str]  # file partitions of file_biomarkers, all of one study


def _one_study(keys: list[str]) -> str:
    if not keys:
        raise dg.Failure("a batch run needs at least one file: ops.process_file_batch.config.partition_keys")
    studies = sorted({parse_file_partition_key(k).study for k in keys})  # raises on a key that is not a file's
    if len(studies) > 1:
        raise dg.Failure(f"a batch run holds the files of one study (its run tag and limits); got {studies}")
    return studies[0]


Resources = tuple[StudyStore, MetadataTable, Notifier, ProcessingOptions]


def _process(
    context: dg.OpExecutionContext, file: FileInBatch, resources: Resources, failures: dict[str, str]
) -> Iterator[BatchEvent]:
    """One file, with the asset's retry policy applied to this file alone; a failure is kept, not raised."""
    for attempt in range(FILE_RETRY_POLICY.max_retries + 1):
        file.retry_number = attempt
        try:
            yield from as_events(file, file_biomarkers, process_one_file(file, *resources))  # type: ignore[arg-type]  # the context the asset's code reads
            return
        except Exception as exc:
            yield from file.take_events()  # the failure's own observation
            last = attempt == FILE_RETRY_POLICY.max_retries
            if is_transient(exc) and not last and not isinstance(exc, dg.Failure):
                delay = (FILE_RETRY_POLICY.delay or 0) * 2**attempt
                context.log.warning(f"{file.partition_key}: transient error, again in {delay:.0f} s: {exc}")
                time.sleep(delay)
                continue
            failures[file.partition_key] = getattr(exc, "description", None) or f"{type(exc).__name__}: {exc}"
            file.outcome = "failed"
            return


@dg.op(name=BATCH_OP, out={})
def process_file_batch(
    context: dg.OpExecutionContext,
    config: FileBatchConfig,
    study_store: StudyStore,
    metadata_table: MetadataTable,
    notifier: Notifier,
    processing_options: ProcessingOptions,
):
    """Each file as its own one-file run would process it; fails after the last file, naming the failed ones."""
    study = _one_study(config.partition_keys)
    keys = list(dict.fromkeys(config.partition_keys))
    check_keys = set(file_biomarkers.check_keys)
    resources: Resources = (study_store, metadata_table, notifier, processing_options)
    failures: dict[str, str] = {}
    outcomes: dict[str, int] = {}
    for index, key in enumerate(keys, 1):
        context.log.info(f"file {index} of {len(keys)}: {key}")
        file = FileInBatch(context, file_biomarkers.key, key, check_keys)
        yield from _process(context, file, resources, failures)
        if key in failures:
            report_planned(file, [k.name for k in check_keys], str(context.op_handle))
            context.log.error(f"{key} failed: {failures[key]}")
        outcome = file.outcome or "superseded"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    worst = next(o for o in WORST_FIRST if o in outcomes)
    counts = " ".join(f"{o}={n}" for o, n in sorted(outcomes.items()))
    context.instance.add_run_tags(context.run_id, {OUTCOME_TAG: worst, OUTCOMES_TAG: counts})
    context.log.info(f"study {study}: {len(keys)} file(s): {counts}")
    if failures:
        listed = "; ".join(f"{k}: {why}" for k, why in list(failures.items())[:20])
        more = f" (and {len(failures) - 20} more)" if len(failures) > 20 else ""
        raise dg.Failure(
            description=f"{len(failures)} of {len(keys)} file(s) failed, the others are recorded: {listed}{more}",
            metadata={"failed": sorted(failures), "outcomes": counts},
            allow_retries=False,
        )


@dg.job(
    name=BATCH_JOB,
    description="Biomarkers for many data files of one study in one run (studies with files_per_run > 1): "
    "each file materializes its own partition of file_biomarkers with its own checks and outcome.",
)
def file_biomarkers_batch_job() -> None:
    process_file_batch()
