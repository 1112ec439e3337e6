"""The study summary table: previous rows kept, changed files' rows swapped in, subject metadata joined.

Plain Arrow: the ``study_summary`` asset decides which files changed and where things are stored.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from biomarker_assets.lib.summary.rows import SUMMARY_SCHEMA

if TYPE_CHECKING:
    from biomarker_assets.lib.study_config.loading import LoadedConfig

SUBJECT_COLUMNS = pa.schema(
    [("height_m", pa.float64()), ("weight_kg", pa.float64()), ("sex", pa.string()), ("age_years", pa.float64())]
)
STUDY_SUMMARY_SCHEMA = pa.schema([*SUMMARY_SCHEMA, *SUBJECT_COLUMNS])
SORT_KEYS = [
    ("subject", "ascending"),
    ("file_key", "ascending"),
    ("row_type", "ascending"),
    ("window_start", "ascending"),
    ("day_n", "ascending"),
    ("gait_bout_n", "ascending"),
]
PREVIEW_COLUMNS = [
    "row_type",
    "subject",
    "date",
    "window_start",
    "window_partial",
    "wear_hours",
    "total_sleep_time_min",
    "mvpa_min",
    "gait_speed_m_s",
    "height_m",
    "pipeline_version",
]


def summary_key(loaded: LoadedConfig) -> str:
    return f"{loaded.config.results_prefix}_summary/study_summary.parquet"


def read_parquet(body: bytes | None) -> pa.Table | None:
    return None if body is None else pq.read_table(io.BytesIO(body))


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _with_every_column(table: pa.Table) -> pa.Table:
    """A table stored by an older version, with the columns added since as nulls (e.g. the window columns)."""
    columns = [
        table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
        for f in SUMMARY_SCHEMA
    ]
    return pa.Table.from_arrays(columns, schema=SUMMARY_SCHEMA)


def study_summary_table(
    previous: pa.Table | None,
    changed_files: Iterable[str],
    changed_rows: Iterable[pa.Table],
    subjects: Mapping[str, Mapping[str, Any]],
) -> pa.Table:
    """``previous`` without the rows of ``changed_files``, plus ``changed_rows``, with subject columns joined.

    Subject metadata is joined on every refresh (one query): a corrected height must show at once.
    """
    parts = []
    if previous is not None:
        changed = pa.array(sorted(changed_files), pa.string())
        keep = pc.invert(pc.is_in(previous["file_key"], value_set=changed))
        parts.append(_with_every_column(previous.filter(keep)))
    parts += [_with_every_column(rows) for rows in changed_rows]
    base = pa.concat_tables(parts) if parts else SUMMARY_SCHEMA.empty_table()
    subject_ids = base["subject"].to_pylist()
    columns = [
        pa.array([subjects.get(s, {}).get(name) for s in subject_ids], type=SUBJECT_COLUMNS.field(name).type)
        for name in SUBJECT_COLUMNS.names
    ]
    return pa.Table.from_arrays([*base.columns, *columns], schema=STUDY_SUMMARY_SCHEMA).sort_by(SORT_KEYS)
