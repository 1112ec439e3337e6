"""Per-file biomarkers (the Step Functions "File Processing" workflow)."""

import base64
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import dagster as dg

from biomarker_assets import __version__
from biomarker_assets.defs.biomarkers.checks import check_results, check_specs, requirements_result
from biomarker_assets.defs.metadata.assets import subject_metadata
from biomarker_assets.defs.partitions import data_files
from biomarker_assets.lib.biomarkers.kinds import NOT_COMPUTED, evaluate_qc
from biomarker_assets.lib.biomarkers.overview_plot import PLOT_FILE
from biomarker_assets.lib.biomarkers.processing import (
    ProcessingError,
    data_version,
    results_prefix,
)
from biomarker_assets.lib.biomarkers.publishing import pointer, publish, version_prefix
from biomarker_assets.lib.biomarkers.quality import failed
from biomarker_assets.lib.biomarkers.requirements import check_logistics, check_processing
from biomarker_assets.lib.partition_keys import parse_file_partition_key
from biomarker_assets.lib.provenance import PROVENANCE_FILE, sha256_file
from biomarker_assets.lib.skdh.isolation import process_file_contained
from biomarker_assets.lib.skdh.version import SKDH_VERSION
from biomarker_assets.platform.status import OUTCOME_TAG, latest_outcome
from biomarker_assets.platform.study_files import StudyFile, resolve_file
from biomarker_assets.resources.aws import is_transient
from biomarker_assets.resources.metadata_table import MetadataTable
from biomarker_assets.resources.notifier import Kind, Notifier, make_message
from biomarker_assets.resources.processing_options import ProcessingOptions
from biomarker_assets.resources.study_store import ObjectChanged, StudyStore

if TYPE_CHECKING:
    from biomarker_assets.platform.file_batch import FileInBatch

raw_data_file = dg.AssetSpec(
    "raw_data_file",
    partitions_def=data_files,
    group_name="raw_files",
    # Lineage: the catalog registers the file (no study-to-file partition mapping exists in Dagster: all studies).
    deps=[dg.AssetDep("study_catalog", partition_mapping=dg.AllPartitionMapping())],
    kinds={"s3"},
    description="A wearable-sensor file in a study bucket, as delivered.",
)

# Results change when the project or SKDH changes; pipelines and configs are in the data version.
CODE_VERSION = f"{__version__}+skdh{SKDH_VERSION}"
STATUS_PROCESSED, STATUS_WAITING, STATUS_FAILED = "processed", "waiting", "failed"
STATUS_SUPERSEDED = "superseded"  # the file changed while this run processed it; the newer version's run publishes
# AWS errors that outlast the client's own retries (throttling, 5xx, a dropped connection) fail the step
# with its error and Dagster tries it again later; a bad file raises Failure(allow_retries=False) once.
FILE_RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
STATUS_QC_FAILED = "qc_failed"  # processed, and at least one QC check failed (run tag only)


class FileFailed(dg.Failure):
    """A failure whose status is recorded and whose message is sent already."""


def _tag_outcome(context: "dg.AssetExecutionContext | FileInBatch", outcome: str) -> None:
    """The file's outcome as a run tag, so the runs list (and its tag filter) tells waiting from processed.

    One file of a batch run (platform/file_batch.FileInBatch) keeps it instead: the batch tags its run once.
    """
    if isinstance(context, dg.AssetExecutionContext):
        context.instance.add_run_tags(context.run_id, {OUTCOME_TAG: outcome})
    else:
        context.outcome = outcome


def _status(context: dg.AssetExecutionContext, status: str, reason: str, **extra) -> None:
    """Waiting and failed files leave an observation and a run tag, so the UI and reports show why."""
    context.log_event(
        dg.AssetObservation(
            asset_key=context.asset_key,
            partition=context.partition_key,
            description=f"{status}: {reason}",
            metadata={"status": status, "reason": reason, **extra},
            tags={OUTCOME_TAG: status},
        )
    )
    _tag_outcome(context, status)


def _notify(
    context: dg.AssetExecutionContext,
    notifier: Notifier,
    fallback: tuple[str, str] | None,
    kind: Kind,
    *args,
    **details,
) -> None:
    """Called after the state is recorded; a message SQS refuses is kept in S3 and in the event log, never raised."""
    notifier.deliver(make_message(kind, *args, **details), fallback, context.log)


def previous_status(context: dg.AssetExecutionContext) -> tuple[str | None, str | None] | None:
    """(status, reason) of this partition's latest outcome, so repeated outcomes are not re-notified."""
    latest = latest_outcome(context.instance, context.asset_key, context.partition_key)
    if latest is None or latest.asset_observation is None:
        return None
    meta = latest.asset_observation.metadata
    return (getattr(meta.get("status"), "value", None), getattr(meta.get("reason"), "value", None))


# A multi_asset with one spec, because only can_subset makes the QC check outputs optional:
# a waiting file yields neither a materialization nor check results.
@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "file_biomarkers",
            group_name="biomarkers",
            partitions_def=data_files,
            deps=[raw_data_file, dg.AssetDep(subject_metadata, partition_mapping=dg.AllPartitionMapping())],
            kinds={"python", "s3", "parquet"},
            tags={"biomarker_assets/stage": "skdh"},
            code_version=CODE_VERSION,
            description="SKDH biomarkers for one file, uploaded with a provenance record; waits while "
            "requirements are unmet.",
            skippable=True,
        )
    ],
    check_specs=check_specs("file_biomarkers"),
    can_subset=True,
    retry_policy=FILE_RETRY_POLICY,
)
def file_biomarkers(
    context: dg.AssetExecutionContext,
    study_store: StudyStore,
    metadata_table: MetadataTable,
    notifier: Notifier,
    processing_options: ProcessingOptions,
):
    """SKDH biomarkers for one file, uploaded with a provenance record; waits while requirements are unmet."""
    yield from process_one_file(context, study_store, metadata_table, notifier, processing_options)


def process_one_file(
    context: dg.AssetExecutionContext,
    study_store: StudyStore,
    metadata_table: MetadataTable,
    notifier: Notifier,
    processing_options: ProcessingOptions,
):
    """One file, as the asset and each file of a batch run (defs/biomarkers/batch_job.py) process it.

    Yields the asset's results; a failure is recorded and notified, then raised (a transient AWS
    error before the last retry only raised, for the retry).
    """
    try:
        yield from _process_data_file(context, study_store, metadata_table, notifier, processing_options)
    except FileFailed:
        raise
    except dg.Failure as exc:
        _status(context, STATUS_FAILED, exc.description or str(exc))
        raise
    except Exception as exc:  # anything unforeseen still ends as a recorded, notified failure
        reason = f"{type(exc).__name__}: {exc}"
        transient = is_transient(exc)
        if transient and context.retry_number < FILE_RETRY_POLICY.max_retries:
            context.log.warning(f"transient error, this file is tried again (retry policy): {reason}")
            raise
        study, key = parse_file_partition_key(context.partition_key)
        _status(context, STATUS_FAILED, reason)
        _notify(context, notifier, None, Kind.PROCESSING_FAILED, study, key, reason)
        if transient:
            raise  # its last attempt: the run's error is the AWS error itself
        raise FileFailed(description=reason, allow_retries=False) from exc  # a bug is not retried


def _process_data_file(context, study_store, metadata_table, notifier, options: ProcessingOptions):
    file = resolve_file(context.partition_key, "data", study_store, notifier)
    config = file.loaded.config
    pipeline_name = file.match.rule.pipeline  # type: ignore[union-attr]  # "data" resolves to data rules only
    pipeline_cfg = config.pipelines[pipeline_name]

    check = check_logistics(config, file.key)
    if check.met:
        subject_record = metadata_table.get_subject(file.study, check.fields["subject"])
        check_processing(check, pipeline_cfg, subject_record)
    fallback = (config.output_bucket, config.results_prefix)  # where undelivered messages are kept
    if not check.met:
        reason = "; ".join(check.unmet)
        first = previous_status(context) != (STATUS_WAITING, reason)  # one message when waiting starts
        context.log.warning(f"{file.uri} waits: {reason}")
        _status(
            context,
            STATUS_WAITING,
            reason,
            subject=check.fields.get("subject", ""),
            missing_subject_fields=check.missing_subject_fields,
        )
        if first:
            _notify(
                context,
                notifier,
                fallback,
                Kind.REQUIREMENT_UNMET,
                file.study,
                file.uri,
                reason,
                unmet=check.unmet,
                pipeline=pipeline_name,
            )
        yield from requirements_result(reason, context.selected_asset_check_keys)
        return

    file_prefix = results_prefix(config, pipeline_name, file.key)
    with tempfile.TemporaryDirectory(prefix="biomarkers-") as tmp:
        local = Path(tmp) / "input" / PurePosixPath(file.key).name
        local.parent.mkdir()
        context.log.info(f"downloading {file.uri} ({file.head['ContentLength']:,} bytes)")
        try:  # exactly the version HEAD saw: by VersionId, or while its ETag still matches
            study_store.download(file.bucket, file.key, local, file.head.get("VersionId"), file.head["ETag"])
        except ObjectChanged as exc:
            _superseded(context, study_store, file, str(exc), None)
            return
        input_record = file.input_record(sha256_file(local))
        version = data_version(input_record, file.loaded.digest, pipeline_cfg.skdh, check.inputs)
        prefix = version_prefix(file_prefix, version)  # this version's own folder: never a mix of two
        try:
            result = process_file_contained(  # a child process: a crashing reader fails this file alone
                local,
                loaded=file.loaded,
                pipeline_name=pipeline_name,
                inputs=check.inputs,
                out_dir=Path(tmp) / "results",
                input_record=input_record,
                partition_key=context.partition_key,
                run_id=context.run_id,
                file_fields=check.fields,
                image=options.image,
                embed_plots=options.embed_plots,
            )
        except ProcessingError as exc:
            _status(context, STATUS_FAILED, str(exc))
            _notify(
                context,
                notifier,
                fallback,
                Kind.PROCESSING_FAILED,
                file.study,
                file.uri,
                str(exc),
                pipeline=pipeline_name,
            )
            raise FileFailed(description=str(exc), allow_retries=False) from exc
        for warning in result.warnings:
            context.log.warning(f"SKDH: {warning}")
        for output in result.provenance.outputs:
            output.uri = f"s3://{config.output_bucket}/{prefix}{output.uri}"
        # Rewrite with the S3 URIs now that they are known; the checksums are of the uploaded bytes.
        result.provenance_file.write_text(result.provenance.to_json())
        for path in [*result.result_files, result.provenance_file]:  # provenance last: it marks a complete folder
            study_store.upload(path, config.output_bucket, prefix + path.name)
        context.log.info(f"uploaded {len(result.result_files) + 1} object(s) to s3://{config.output_bucket}/{prefix}")
    outcome = publish(
        study_store,
        config.output_bucket,
        file_prefix,
        pointer(config.output_bucket, prefix, version, input_record),
        input_record,
        lambda: study_store.head_or_none(file.bucket, file.key),
    )
    if not outcome.published:
        _superseded(context, study_store, file, outcome.reason, outcome.latest)
        return

    headline = {k: v for k, v in result.headline.items() if v is not None}
    findings = [w for w in result.warnings if w.startswith("truncated_file")]  # lib/skdh/file_checks.py
    checks = evaluate_qc(
        pipeline_cfg.qc,
        result.headline,
        result.fs,
        result.empty_tables,
        nominal_fs=result.nominal_fs,
        measured_fs=result.measured_fs,
        file_findings=findings,
    )
    failing = failed(checks)
    notify_qc = failing and _previous_qc(context) != (version, failing)  # once per file version, not per re-run
    file_outcome = STATUS_QC_FAILED if failing else STATUS_PROCESSED
    _tag_outcome(context, file_outcome)
    yield dg.MaterializeResult(
        tags={OUTCOME_TAG: file_outcome},  # on the partition page too: a QC failure is not just a green partition
        metadata={
            "status": STATUS_PROCESSED,
            "results": dg.MetadataValue.path(f"s3://{config.output_bucket}/{prefix}"),
            "provenance": dg.MetadataValue.path(f"s3://{config.output_bucket}/{prefix}{PROVENANCE_FILE}"),
            "subject": check.fields.get("subject", ""),
            "skdh_warnings": len(result.warnings),
            # what the file's own layout says is missing (lib/skdh/file_checks.py): "" when complete
            "file_integrity": "; ".join(findings),
            **{f"fields/{k}": v for k, v in check.fields.items()},
            **{f"biomarker/{k}": float(v) for k, v in headline.items() if not k.startswith(NOT_COMPUTED)},
            **{k: str(v) for k, v in headline.items() if k.startswith(NOT_COMPUTED)},  # why a biomarker is None
            **(
                {"overview": dg.MetadataValue.path(f"s3://{config.output_bucket}/{prefix}{PLOT_FILE}")}
                if any(p.name == PLOT_FILE for p in result.result_files)
                else {}
            ),
            **(
                {
                    "overview_thumbnail": dg.MetadataValue.md(
                        f"![overview](data:image/png;base64,{base64.b64encode(result.thumbnail).decode()})"
                    )
                }
                if result.thumbnail
                else {}
            ),
            "fs": result.fs,
            "file_fs_nominal": result.nominal_fs,
            "file_fs_measured": result.measured_fs,
            "qc_failed": failing,
            **result.provenance.dagster_metadata(),
        },
        data_version=dg.DataVersion(version),
        check_results=[
            *requirements_result(None, context.selected_asset_check_keys),
            *check_results(checks, context.selected_asset_check_keys),
        ],
    )
    if notify_qc:  # after the materialization: a failing notifier cannot leave results unrecorded
        _notify(
            context,
            notifier,
            fallback,
            Kind.QC_FAILED,
            file.study,
            file.uri,
            "; ".join(f"{c.check_name}: {c.description}" for c in checks if c.check_name in failing),
            checks=failing,
            pipeline=pipeline_name,
        )


def _superseded(
    context: dg.AssetExecutionContext, store: StudyStore, file: StudyFile, reason: str, latest: dict | None
) -> None:
    """Ends the run without publishing or materializing: the newer version's own run does both.

    The status observation is left out when the newer version is published already, so the
    partition's latest outcome stays that version's materialization.
    """
    context.log.warning(f"superseded, nothing published: {reason}; the current version is processed by its own run")
    head = store.head_or_none(file.bucket, file.key)
    current_published = (
        latest is not None and head is not None and latest["input"]["etag"] == str(head["ETag"]).strip('"')
    )
    if not current_published:
        _status(context, STATUS_SUPERSEDED, reason)


def _previous_qc(context: dg.AssetExecutionContext) -> tuple[str, list[str]] | None:
    record = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=context.asset_key, asset_partitions=[context.partition_key]), limit=1
    ).records
    if not record:
        return None
    materialization = record[0].asset_materialization
    failing = materialization.metadata.get("qc_failed")
    return materialization.tags.get("dagster/data_version"), list(failing.value) if failing else []
