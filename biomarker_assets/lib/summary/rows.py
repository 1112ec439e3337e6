"""Analysis-ready rows from one file's SKDH results: one per day window, one per gait bout.

Made once, when the file is processed, and stored next to its results as
``summary_rows.parquet``, so the study summary never re-reads SKDH's tables.

Day-level results of different steps are joined on their window's actual start and end
(``lib/summary/windows.py``), never on SKDH's per-step ``Day N``: with different windows
for sleep and activity they are different rows, each naming its window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from biomarker_assets.lib.biomarkers.kinds import DAY_COLUMNS, GAIT_BOUT, GAIT_BOUT_MEANS, GAIT_SPEED, KINDS
from biomarker_assets.lib.summary.windows import COVERED_COLUMNS, NAIVE_ZONE, Window, table_windows

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
    # the row's window: local wall-clock start/end in window_time_zone, and how much the recording covered
    ("window_start", pa.timestamp("s")),
    ("window_end", pa.timestamp("s")),
    ("window_time_zone", pa.string()),
    ("window_start_utc_offset", pa.string()),  # "+01:00": the zone's offset at the start (DST shows here)
    ("window_end_utc_offset", pa.string()),
    ("window_hours_covered", pa.float64()),
    ("window_partial", pa.bool_()),
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


def _window_source(table: pa.Table) -> dict[str, list]:
    """Only the columns a window is read from (a gait table has dozens of per-stride columns)."""
    wanted = {name for pair in COVERED_COLUMNS for name in pair} | {"Processing Start Hour", "Processing End Hour"}
    return {name: table[name].to_pylist() for name in table.column_names if name in wanted}


def _window_columns(window: Window | None) -> dict[str, Any]:
    if window is None:
        return {}
    return {
        "window_start": window.start,
        "window_end": window.end,
        "window_hours_covered": window.covered_hours,
        "window_partial": window.partial,
        "window_start_utc_offset": window.start_offset,
        "window_end_utc_offset": window.end_offset,
    }


def day_rows(
    tables: dict[str, pa.Table], windows: Mapping[str, tuple[int, int]] | None = None, time_zone: str | None = None
) -> dict[tuple[str, str] | int, dict]:
    """One row per day window, merged across the day-level steps that share it (same start and end).

    ``windows``: step name -> (base hour, period hours), SKDH's ``day_window`` of each step (from the
    resolved pipeline). A table without SKDH's window timestamps is keyed by its ``Day N`` alone.
    ``time_zone``: the IANA zone SKDH windowed in; covered hours are then real elapsed hours.
    """
    days: dict[tuple[str, str] | int, dict] = {}
    for name, table in tables.items():
        if _is_gait(table) or "Day N" not in table.column_names:
            continue
        present = {k: v for k, v in DAY_COLUMNS.items() if k in table.column_names}
        if not present:
            continue
        day_numbers = _floats(table["Day N"])
        dates = table["Date"].to_pylist() if "Date" in table.column_names else [None] * table.num_rows
        found = table_windows(_window_source(table), (windows or {}).get(name), time_zone)
        for i, day in enumerate(day_numbers):
            if np.isnan(day):
                continue
            window = found[i] if found else None
            key: tuple[str, str] | int = window.key if window else int(day)
            date = window.start.date().isoformat() if window else dates[i]
            row = days.setdefault(key, {"row_type": "day", "day_n": int(day), "date": date, **_window_columns(window)})
            row["date"] = row["date"] or dates[i]
            for skdh_name, column in present.items():
                value = _floats(table[skdh_name])[i]
                row[column] = None if np.isnan(value) else float(value)
            if "wear_hours" in present.values() and "Wear Minutes" in table.column_names:
                minutes = _floats(table["Wear Minutes"])[i]  # SKDH's worn time, unrounded (N wear hours: 0.1 h)
                row["wear_hours"] = None if np.isnan(minutes) else float(minutes) / 60.0
    return days


def _bout_mean(column: np.ndarray | None, mask: np.ndarray) -> float | None:
    """Mean over one bout's strides, NaNs skipped; None when the step has no such column or no value."""
    if column is None or np.all(np.isnan(column[mask])):
        return None
    return float(np.nanmean(column[mask]))


def gait_bout_rows(tables: dict[str, pa.Table], time_zone: str | None = None) -> list[dict]:
    """One row per (day, gait bout) of each GaitLumbar table, with bout means of its per-stride columns."""
    rows = []
    for table in tables.values():
        if not _is_gait(table):
            continue
        day = _floats(table["Day N"]) if "Day N" in table.column_names else np.ones(table.num_rows)
        bout = _floats(table[GAIT_BOUT])
        dates = table["Date"].to_pylist() if "Date" in table.column_names else [None] * table.num_rows
        columns = {name: _floats(table[name]) for name in GAIT_BOUT_MEANS if name in table.column_names}
        found = table_windows(
            _window_source(table), None, time_zone
        )  # GaitLumbar names its window (Processing Start/End Hour)
        for d, b in sorted({(d, b) for d, b in zip(day, bout, strict=True) if not (np.isnan(d) or np.isnan(b))}):
            mask = (day == d) & (bout == b)
            first = int(np.argmax(mask))
            rows.append(
                {
                    "row_type": "gait_bout",
                    "day_n": int(d),
                    "date": dates[first],
                    **_window_columns(found[first] if found else None),
                    "gait_bout_n": int(b),
                    "gait_strides": int(mask.sum()),
                    **{column: _bout_mean(columns.get(name), mask) for name, column in GAIT_BOUT_MEANS.items()},
                }
            )
    return rows


def file_summary_rows(
    tables: dict[str, pa.Table],
    identity: dict,
    windows: Mapping[str, tuple[int, int]] | None = None,
    time_zone: str | None = None,
) -> pa.Table:
    """``identity`` holds the columns every row repeats: study, subject, file_key, pipeline, ...

    ``windows`` is each day-level step's (base, period); ``time_zone`` the IANA zone the day windows
    are in (None: the device's clock, no zone), named on every row that has a window.
    """
    rows = [*day_rows(tables, windows, time_zone).values(), *gait_bout_rows(tables, time_zone)]
    zone = time_zone or NAIVE_ZONE
    return pa.Table.from_pylist(
        [{**identity, **row, **({"window_time_zone": zone} if "window_start" in row else {})} for row in rows],
        schema=SUMMARY_SCHEMA,
    )
