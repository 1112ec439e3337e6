"""Subject metadata files, cleaned into the DynamoDB table."""

import json
import tempfile
from pathlib import Path, PurePosixPath

import dagster as dg

from biomarker_assets import __version__
from biomarker_assets.defs.partitions import metadata_files
from biomarker_assets.lib.metadata.cleaning import clean_table, neutralised, read_table
from biomarker_assets.lib.metadata.reporting import all_problems, preview, problems_key, rejection_report
from biomarker_assets.lib.study_config.schema import MetadataFiles
from biomarker_assets.platform.status import markdown_table
from biomarker_assets.platform.study_files import resolve_file
from biomarker_assets.resources.metadata_table import MetadataTable, MetadataThrottled
from biomarker_assets.resources.notifier import Kind, Notifier
from biomarker_assets.resources.study_store import StudyStore

raw_metadata_file = dg.AssetSpec(
    "raw_metadata_file",
    partitions_def=metadata_files,
    group_name="raw_files",
    # Lineage: the catalog registers the file (no study-to-file partition mapping exists in Dagster: all studies).
    deps=[dg.AssetDep("study_catalog", partition_mapping=dg.AllPartitionMapping())],
    kinds={"s3"},
    description="A subject metadata file (CSV/XLSX) in a study bucket, as delivered.",
)


@dg.asset(
    group_name="metadata",
    partitions_def=metadata_files,
    deps=[raw_metadata_file],
    kinds={"dynamodb"},
    code_version=__version__,
)
def subject_metadata(
    context: dg.AssetExecutionContext,
    study_store: StudyStore,
    metadata_table: MetadataTable,
    notifier: Notifier,
) -> dg.MaterializeResult:
    """Cleaned subjects (SI units, canonical fields) from one metadata file, written to DynamoDB."""
    file = resolve_file(context.partition_key, "metadata", study_store, notifier)
    spec = file.match.rule
    assert isinstance(spec, MetadataFiles)  # resolve_file checked the kind; this tells the type checker
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / PurePosixPath(file.key).name
        study_store.download(file.bucket, file.key, local, file.head.get("VersionId"))
        try:
            frame = read_table(local, spec.format)
        except Exception as exc:  # pandas raises many types for unreadable files
            reason = f"cannot read metadata file: {type(exc).__name__}: {exc}"
            notifier.send(Kind.PROCESSING_FAILED, file.study, file.uri, reason)
            raise dg.Failure(description=reason, allow_retries=False) from None
    cleaned = clean_table(frame, spec)
    etag = file.head["ETag"].strip('"')
    try:
        merged = metadata_table.merge_source(file.study, file.uri, etag, cleaned.subjects)
    except MetadataThrottled as exc:
        notifier.send(Kind.PROCESSING_FAILED, file.study, file.uri, str(exc), written=exc.written, total=exc.total)
        raise dg.Failure(description=str(exc), allow_retries=True) from None
    report = rejection_report(cleaned, merged.conflicts)
    if report is not None:
        reason, details = report
        key = problems_key(file.loaded.config.results_prefix, file.key)
        body = json.dumps(all_problems(cleaned, merged.conflicts), default=str).encode()
        study_store.put_bytes(body, file.loaded.config.output_bucket, key, "application/json")
        all_uri = f"s3://{file.loaded.config.output_bucket}/{key}"
        notifier.send(Kind.METADATA_ROWS_REJECTED, file.study, file.uri, reason, all_problems=all_uri, **details)
        context.log.warning(f"{file.uri}: {reason}; every problem: {all_uri}")
    context.log.info(
        f"{file.uri}: {len(cleaned.subjects)} subject(s), {merged.written} item(s) written, {merged.deleted} deleted "
        f"in {metadata_table.table_name}"
    )
    subjects, subjects_caption = preview(cleaned.subjects)
    problems, problems_caption = preview([*cleaned.rejected_rows, *cleaned.value_problems, *cleaned.conflicts])
    return dg.MaterializeResult(
        metadata={
            "source": dg.MetadataValue.path(file.uri),
            "subjects_written": len(cleaned.subjects),
            "items_changed": merged.written,
            "rows_rejected": len(cleaned.rejected_rows),
            "values_unreadable": len(cleaned.value_problems),
            "conflicts": len(cleaned.conflicts) + sum(len(c) for c in merged.conflicts.values()),
            "column_map": {neutralised(str(k)): v for k, v in list(cleaned.column_map.items())[:50]},
            "subjects": dg.MetadataValue.md(f"{subjects_caption}\n\n{markdown_table(subjects)}"),
            "problems": dg.MetadataValue.md(f"{problems_caption}\n\n{markdown_table(problems)}"),
        },
        data_version=dg.DataVersion(etag),
    )
