"""Subject metadata files, cleaned into the DynamoDB table."""

import tempfile
from pathlib import Path, PurePosixPath

import dagster as dg

from biomarker_assets import __version__
from biomarker_assets.defs.partitions import metadata_files
from biomarker_assets.lib.metadata.cleaning import clean_table, read_table
from biomarker_assets.lib.study_config.schema import MetadataFiles
from biomarker_assets.platform.status import markdown_table
from biomarker_assets.platform.study_files import resolve_file
from biomarker_assets.resources.metadata_table import MetadataTable
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
    source = {"source_file": file.uri, "source_etag": file.head["ETag"].strip('"')}
    metadata_table.put_subjects(file.study, [{**s, **source} for s in cleaned.subjects])
    if cleaned.rejected_rows or cleaned.value_problems:
        notifier.send(
            Kind.METADATA_ROWS_REJECTED,
            file.study,
            file.uri,
            f"{len(cleaned.rejected_rows)} row(s) rejected, {len(cleaned.value_problems)} value(s) unreadable",
            rejected_rows=cleaned.rejected_rows,
            value_problems=cleaned.value_problems,
        )
        for problem in [*cleaned.rejected_rows, *cleaned.value_problems]:
            context.log.warning(f"{file.uri}: {problem}")
    context.log.info(f"{file.uri}: {len(cleaned.subjects)} subject(s) written to {metadata_table.table_name}")
    return dg.MaterializeResult(
        metadata={
            "source": dg.MetadataValue.path(file.uri),
            "subjects_written": len(cleaned.subjects),
            "rows_rejected": len(cleaned.rejected_rows),
            "values_unreadable": len(cleaned.value_problems),
            "column_map": cleaned.column_map,
            "subjects": dg.MetadataValue.md(markdown_table(cleaned.subjects)),
            "problems": dg.MetadataValue.md(markdown_table([*cleaned.rejected_rows, *cleaned.value_problems])),
        },
        data_version=dg.DataVersion(file.head["ETag"].strip('"')),
    )
