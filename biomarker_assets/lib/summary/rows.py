"""Analysis-ready rows from one file's SKDH results: one per day, one per gait bout.

Made once, when the file is processed, and stored next to its results as
``summary_rows.parquet``, so the study summary never re-reads SKDH's tables.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SUMMARY_ROWS_FILE = "summary_rows.parquet"

SUMMARY_SCHEMA = pa.schema(
    [
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
        ("wear_hours", pa.float64()),
        ("total_sleep_time_min", pa.float64()),
        ("sleep_opportunity_min", pa.float64()),
        ("sleep_onset_latency_min", pa.float64()),
        ("wake_after_sleep_onset_min", pa.float64()),
        ("mvpa_min", pa.float64()),
        ("light_min", pa.float64()),
        ("sedentary_min", pa.float64()),
        ("gait_bout_n", pa.int64()),
        ("gait_bout_duration_s", pa.float64()),
        ("gait_strides", pa.int64()),
        ("gait_speed_m_s", pa.float64()),
        ("cadence_steps_min", pa.float64()),
        ("stride_length_m", pa.float64()),
    ]
)

# SKDH endpoint -> summary column, for day-level steps (Activity, Sleep).
DAY_COLUMNS = {
    "N wear hours": "wear_hours",
    "total sleep time": "total_sleep_time_min",
    "TSO Duration": "sleep_opportunity_min",
    "sleep onset latency": "sleep_onset_latency_min",
    "wake after sleep onset": "wake_after_sleep_onset_min",
    "wake MVPA 5s epoch [min]": "mvpa_min",
    "wake light 5s epoch [min]": "light_min",
    "wake sed 5s epoch [min]": "sedentary_min",
}


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.cast(column, pa.float64(), safe=False).to_numpy(zero_copy_only=False), dtype=float)


def _is_gait(table: pa.Table) -> bool:
    return {"Bout N", "gait speed"} <= set(table.column_names)


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


def gait_bout_rows(tables: dict[str, pa.Table]) -> list[dict]:
    rows = []
    for table in tables.values():
        if not _is_gait(table):
            continue
        day = _floats(table["Day N"]) if "Day N" in table.column_names else np.ones(table.num_rows)
        bout = _floats(table["Bout N"])
        dates = table["Date"].to_pylist() if "Date" in table.column_names else [None] * table.num_rows
        columns = {
            name: _floats(table[name])
            for name in ("gait speed", "cadence", "stride length", "Bout Duration")
            if name in table.column_names
        }
        for d, b in sorted({(d, b) for d, b in zip(day, bout) if not (np.isnan(d) or np.isnan(b))}):
            mask = (day == d) & (bout == b)
            first = int(np.argmax(mask))

            def mean(name: str) -> float | None:
                if name not in columns or np.all(np.isnan(columns[name][mask])):
                    return None
                return float(np.nanmean(columns[name][mask]))

            rows.append(
                {
                    "row_type": "gait_bout",
                    "day_n": int(d),
                    "date": dates[first],
                    "gait_bout_n": int(b),
                    "gait_strides": int(mask.sum()),
                    "gait_speed_m_s": mean("gait speed"),
                    "cadence_steps_min": mean("cadence"),
                    "stride_length_m": mean("stride length"),
                    "gait_bout_duration_s": mean("Bout Duration"),
                }
            )
    return rows


def file_summary_rows(tables: dict[str, pa.Table], identity: dict) -> pa.Table:
    """``identity`` holds the columns every row repeats: study, subject, file_key, pipeline, ..."""
    rows = [*day_rows(tables).values(), *gait_bout_rows(tables)]
    return pa.Table.from_pylist([{**identity, **row} for row in rows], schema=SUMMARY_SCHEMA)
