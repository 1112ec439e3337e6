"""Analysis-ready rows from one file's SKDH results: one per day, one per gait bout.

Made once, when the file is processed, and stored next to its results as
``summary_rows.parquet``, so the study summary never re-reads SKDH's tables.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from biomarker_assets.lib.biomarkers.kinds import DAY_COLUMNS, GAIT_BOUT, GAIT_BOUT_MEANS, GAIT_SPEED, KINDS

SUMMARY_ROWS_FILE = "summary_rows.parquet"

#: what identifies the file a row comes from (every row of it repeats them), then the row's day
_IDENTITY_COLUMNS = [
    ("row_type", pa.string()),  # "day" or "gait_bout"
    ("study", pa.string()),
    ("subject", pa.string()),
    ("file_key", pa.string()),
    ("file_fields", pa.string()),  # JSON of the file-name fields (visit, location, ...)
    ("pipeline", pa.string()),
    ("pipeline_version", pa.string()),
    ("pipeline_digest", pa.string()),
    ("skdh_version", pa.string()),
    ("date", pa.string()),
    ("day_n", pa.int64()),
]

# then each biomarker kind's columns (lib/biomarkers/kinds.py), in kind order
SUMMARY_SCHEMA = pa.schema(
    [
        *_IDENTITY_COLUMNS,
        *((name, pa.type_for_alias(type_name)) for kind in KINDS for name, type_name in kind.summary_columns),
    ]
)


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.cast(column, pa.float64(), safe=False).to_numpy(zero_copy_only=False), dtype=float)


def _is_gait(table: pa.Table) -> bool:
    return {GAIT_BOUT, GAIT_SPEED} <= set(table.column_names)


def day_rows(tables: dict[str, pa.Table]) -> dict[int, dict]:
    """Day N -> summary values, merged across the day-level steps."""
    days: dict[int, dict] = {}
    for table in tables.values():
        if _is_gait(table) or "Day N" not in table.column_names:
            continue
        present = {k: v for k, v in DAY_COLUMNS.items() if k in table.column_names}
        if not present:
            continue
        day_numbers = _floats(table["Day N"])
        dates = table["Date"].to_pylist() if "Date" in table.column_names else [None] * table.num_rows
        for i, day in enumerate(day_numbers):
            if np.isnan(day):
                continue
            row = days.setdefault(int(day), {"row_type": "day", "day_n": int(day), "date": dates[i]})
            row["date"] = row["date"] or dates[i]
            for skdh_name, column in present.items():
                value = _floats(table[skdh_name])[i]
                row[column] = None if np.isnan(value) else float(value)
    return days


def _bout_mean(column: np.ndarray | None, mask: np.ndarray) -> float | None:
    """Mean over one bout's strides, NaNs skipped; None when the step has no such column or no value."""
    if column is None or np.all(np.isnan(column[mask])):
        return None
    return float(np.nanmean(column[mask]))


def gait_bout_rows(tables: dict[str, pa.Table]) -> list[dict]:
    """One row per (day, gait bout) of each GaitLumbar table, with bout means of its per-stride columns."""
    rows = []
    for table in tables.values():
        if not _is_gait(table):
            continue
        day = _floats(table["Day N"]) if "Day N" in table.column_names else np.ones(table.num_rows)
        bout = _floats(table[GAIT_BOUT])
        dates = table["Date"].to_pylist() if "Date" in table.column_names else [None] * table.num_rows
        columns = {name: _floats(table[name]) for name in GAIT_BOUT_MEANS if name in table.column_names}
        for d, b in sorted({(d, b) for d, b in zip(day, bout, strict=True) if not (np.isnan(d) or np.isnan(b))}):
            mask = (day == d) & (bout == b)
            rows.append(
                {
                    "row_type": "gait_bout",
                    "day_n": int(d),
                    "date": dates[int(np.argmax(mask))],
                    "gait_bout_n": int(b),
                    "gait_strides": int(mask.sum()),
                    **{column: _bout_mean(columns.get(name), mask) for name, column in GAIT_BOUT_MEANS.items()},
                }
            )
    return rows


def file_summary_rows(tables: dict[str, pa.Table], identity: dict) -> pa.Table:
    """``identity`` holds the columns every row repeats: study, subject, file_key, pipeline, ..."""
    rows = [*day_rows(tables).values(), *gait_bout_rows(tables)]
    return pa.Table.from_pylist([{**identity, **row} for row in rows], schema=SUMMARY_SCHEMA)
