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


#: what each number is, in which unit: written into the Parquet schema (field metadata) and shown on the asset
COLUMN_NOTES: dict[str, str] = {
    "date": "local date the row's window starts",
    "day_n": "SKDH's day number within the file and step (not a key: steps number days by their own windows)",
    "window_start": "window start, local wall clock in window_time_zone (SKDH day_window base hour)",
    "window_end": "window end, local wall clock (start + SKDH day_window period)",
    "window_time_zone": "IANA zone of the window times, or the device's clock when the study names none",
    "window_start_utc_offset": "UTC offset of window_start in window_time_zone (+01:00); empty without a zone",
    "window_end_utc_offset": "UTC offset of window_end; differs from the start's on a day the clocks change",
    "window_hours_covered": "real elapsed hours of the window the recording covers [h] (25 on a fall-back day)",
    "window_partial": "the recording starts after or ends before the window: headline means leave it out",
    "wear_hours": "hours worn in the window [h] (SKDH ActivityLevelClassification N wear hours); resolution: the wear "
    "step's window_skip; each off-wrist spell counts ~window_length - window_skip min short (README Wear time)",
    "total_sleep_time_min": "total sleep time in the night's window [min]",
    "sleep_opportunity_min": "total sleep opportunity (TSO) duration [min]",
    "sleep_onset_latency_min": "sleep onset latency [min]",
    "wake_after_sleep_onset_min": "wake after sleep onset [min]",
    "mvpa_min": "moderate-to-vigorous activity outside sleep, 5 s epochs [min]",
    "light_min": "light activity outside sleep, 5 s epochs [min]",
    "sedentary_min": "sedentary time outside sleep, 5 s epochs [min]",
    "gait_bout_duration_s": "gait bout duration [s]",
    "gait_speed_m_s": "mean gait speed over the bout's strides [m/s]",
    "cadence_steps_min": "mean cadence over the bout's strides [steps/min]",
    "stride_length_m": "mean stride length over the bout's strides [m]",
    "height_m": "subject height [m]",
    "weight_kg": "subject weight [kg]",
    "age_years": "subject age [years]",
}


def summary_key(loaded: LoadedConfig) -> str:
    return f"{loaded.config.results_prefix}_summary/study_summary.parquet"


def read_parquet(body: bytes | None) -> pa.Table | None:
    return None if body is None else pq.read_table(io.BytesIO(body))


def parquet_bytes(table: pa.Table) -> bytes:
    """Parquet with each column's unit and meaning (``COLUMN_NOTES``) as field metadata ``description``."""
    fields = [
        f.with_metadata({"description": COLUMN_NOTES[f.name]}) if f.name in COLUMN_NOTES else f for f in table.schema
    ]
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(table.columns, schema=pa.schema(fields)), buffer)
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
