"""The study summary: one analysis-ready Parquet table per study, refreshed incrementally."""

import dagster as dg

from biomarker_assets import __version__
from biomarker_assets.defs.biomarkers.assets import file_biomarkers
from biomarker_assets.defs.partitions import studies
from biomarker_assets.lib.partition_keys import parse_file_partition_key
from biomarker_assets.platform.status import markdown_table
from biomarker_assets.platform.study_files import load_study_config
from biomarker_assets.resources.metadata_table import MetadataTable
from biomarker_assets.resources.notifier import Notifier
from biomarker_assets.resources.study_store import StudyStore


def _changed_files(instance: dg.DagsterInstance, study: str, after: int) -> tuple[dict[str, str], int]:
    """Results folder of each file of ``study`` materialized after storage id ``after`` (newest wins)."""
    latest: dict[str, str] = {}
    newest, cursor = after, None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=file_biomarkers.key, after_storage_id=after),
            limit=1000,
            cursor=cursor,
            ascending=True,
        )
        for record in page.records:
            newest = max(newest, record.storage_id)
            materialization = record.asset_materialization
            if record.partition_key and parse_file_partition_key(record.partition_key).study == study:
                results = materialization.metadata.get("results") if materialization else None
                if results is not None:
                    latest[parse_file_partition_key(record.partition_key).key] = str(results.value)
        if not page.has_more:
            return latest, newest
        cursor = page.cursor


@dg.asset(
    group_name="summary",
    partitions_def=studies,
    deps=[dg.AssetDep(file_biomarkers, partition_mapping=dg.AllPartitionMapping())],
    kinds={"s3", "parquet"},
    code_version=__version__,
)
def study_summary(
    context: dg.AssetExecutionContext, study_store: StudyStore, metadata_table: MetadataTable, notifier: Notifier
) -> dg.MaterializeResult:
    """Per subject per day (and per gait bout) with subject metadata and the pipeline version on every row.

    Only files materialized since the last summary are read (their small summary_rows.parquet); the
    rest come from the previous summary table.
    """
    # Arrow loads here, in the run, not with the code location
    from biomarker_assets.lib.summary.rows import SUMMARY_ROWS_FILE
    from biomarker_assets.lib.summary.study_table import (
        COLUMN_NOTES,
        PREVIEW_COLUMNS,
        parquet_bytes,
        read_parquet,
        study_summary_table,
        summary_key,
    )

    study = context.partition_key
    loaded = load_study_config(study, study_store, notifier)
    bucket, key = loaded.config.output_bucket, summary_key(loaded)
    previous = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=context.asset_key, asset_partitions=[study]), limit=1
    ).records
    after = previous[0].asset_materialization.metadata["after_storage_id"].value if previous else 0
    table = read_parquet(study_store.object_bytes(bucket, key)) if previous else None
    changed, newest = _changed_files(context.instance, study, after)

    changed_rows = []
    for results_uri in (uri for _, uri in sorted(changed.items())):
        rows_bucket, rows_prefix = results_uri.removeprefix("s3://").split("/", 1)
        rows = read_parquet(study_store.object_bytes(rows_bucket, rows_prefix + SUMMARY_ROWS_FILE))
        if rows is None:
            context.log.warning(f"{results_uri} has no {SUMMARY_ROWS_FILE} (processed by an older version)")
            continue
        changed_rows.append(rows)
    subjects = {s["subject"]: s for s in metadata_table.subjects(study)}
    summary = study_summary_table(table, changed, changed_rows, subjects)
    study_store.put_bytes(parquet_bytes(summary), bucket, key, "application/vnd.apache.parquet")
    context.log.info(f"{study}: {summary.num_rows} row(s); read {len(changed)} changed file(s), kept the rest")
    preview = summary.slice(0, 10).select(PREVIEW_COLUMNS)
    subject_ids = summary["subject"].to_pylist()
    return dg.MaterializeResult(
        metadata={
            "summary": dg.MetadataValue.path(f"s3://{bucket}/{key}"),
            "rows": summary.num_rows,
            "subjects": len(set(subject_ids) - {None}),
            "files_read": len(changed),
            "files_total": len(set(summary["file_key"].to_pylist())),
            "after_storage_id": newest,
            "time_zones": ", ".join(sorted({z for z in summary["window_time_zone"].to_pylist() if z})) or "none",
            "partial_windows": sum(bool(p) for p in summary["window_partial"].to_pylist()),
            "columns": dg.MetadataValue.md(
                markdown_table([{"column": k, "unit and meaning": v} for k, v in COLUMN_NOTES.items()])
            ),
            "preview": dg.MetadataValue.md(markdown_table(preview.to_pylist())),
        }
    )
