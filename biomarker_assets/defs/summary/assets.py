"""The study summary: one analysis-ready Parquet table per study, refreshed incrementally."""

import io

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from biomarker_assets import __version__
from biomarker_assets.defs.biomarkers.assets import file_biomarkers
from biomarker_assets.defs.partitions import studies
from biomarker_assets.lib.partition_keys import parse_file_partition_key
from biomarker_assets.lib.study_config.loading import LoadedConfig
from biomarker_assets.lib.summary.rows import SUMMARY_ROWS_FILE, SUMMARY_SCHEMA
from biomarker_assets.platform.status import markdown_table
from biomarker_assets.platform.study_files import load_study_config
from biomarker_assets.resources.metadata_table import MetadataTable
from biomarker_assets.resources.notifier import Notifier
from biomarker_assets.resources.study_store import StudyStore, object_bytes

SUBJECT_COLUMNS = pa.schema(
    [("height_m", pa.float64()), ("weight_kg", pa.float64()), ("sex", pa.string()), ("age_years", pa.float64())]
)
STUDY_SUMMARY_SCHEMA = pa.schema([*SUMMARY_SCHEMA, *SUBJECT_COLUMNS])
SORT_KEYS = [
    ("subject", "ascending"),
    ("file_key", "ascending"),
    ("row_type", "ascending"),
    ("day_n", "ascending"),
    ("gait_bout_n", "ascending"),
]


def summary_key(loaded: LoadedConfig) -> str:
    return f"{loaded.config.results_prefix}_summary/study_summary.parquet"


def _read_parquet(bucket: str, key: str) -> pa.Table | None:
    body = object_bytes(bucket, key)
    return None if body is None else pq.read_table(io.BytesIO(body))


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
    study = context.partition_key
    loaded = load_study_config(study, study_store, notifier)
    bucket, key = loaded.config.output_bucket, summary_key(loaded)
    previous = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=context.asset_key, asset_partitions=[study]), limit=1
    ).records
    after = previous[0].asset_materialization.metadata["after_storage_id"].value if previous else 0
    table = _read_parquet(bucket, key) if previous else None
    changed, newest = _changed_files(context.instance, study, after)

    parts = []
    if table is not None:
        keep = pc.invert(pc.is_in(table["file_key"], value_set=pa.array(sorted(changed), pa.string())))
        parts.append(table.filter(keep).select(SUMMARY_SCHEMA.names))
    for _file_key, results_uri in sorted(changed.items()):
        rows_bucket, rows_prefix = results_uri.removeprefix("s3://").split("/", 1)
        rows = _read_parquet(rows_bucket, rows_prefix + SUMMARY_ROWS_FILE)
        if rows is None:
            context.log.warning(f"{results_uri} has no {SUMMARY_ROWS_FILE} (processed by an older version)")
            continue
        parts.append(rows.select(SUMMARY_SCHEMA.names).cast(SUMMARY_SCHEMA))
    base = pa.concat_tables(parts) if parts else SUMMARY_SCHEMA.empty_table()

    # Subject metadata is joined on every refresh: it is one query, and a corrected height must show.
    subjects = {s["subject"]: s for s in metadata_table.subjects(study)}
    subject_ids = base["subject"].to_pylist()
    columns = {
        name: pa.array([subjects.get(s, {}).get(name) for s in subject_ids], type=SUBJECT_COLUMNS.field(name).type)
        for name in SUBJECT_COLUMNS.names
    }
    summary = pa.Table.from_arrays([*base.columns, *columns.values()], schema=STUDY_SUMMARY_SCHEMA).sort_by(SORT_KEYS)
    buffer = io.BytesIO()
    pq.write_table(summary, buffer)
    study_store.put_bytes(buffer.getvalue(), bucket, key, "application/vnd.apache.parquet")
    context.log.info(f"{study}: {summary.num_rows} row(s); read {len(changed)} changed file(s), kept the rest")
    preview = summary.slice(0, 10).select(
        [
            "row_type",
            "subject",
            "date",
            "wear_hours",
            "total_sleep_time_min",
            "mvpa_min",
            "gait_speed_m_s",
            "height_m",
            "pipeline_version",
        ]
    )
    return dg.MaterializeResult(
        metadata={
            "summary": dg.MetadataValue.path(f"s3://{bucket}/{key}"),
            "rows": summary.num_rows,
            "subjects": len(set(subject_ids) - {None}),
            "files_read": len(changed),
            "files_total": len(set(summary["file_key"].to_pylist())),
            "after_storage_id": newest,
            "preview": dg.MetadataValue.md(markdown_table(preview.to_pylist())),
        }
    )
