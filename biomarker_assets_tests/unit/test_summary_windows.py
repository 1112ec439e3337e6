"""Study summary rows are joined on each window's actual start, name their window, and flag partial ones.

SKDH numbers days per step: with Sleep on noon-to-noon windows and activity on midnight-to-midnight
ones (a config the validator accepts), "Day 1" of each is a different stretch of time. A night cut
short by the end of the recording is partial, and headline means leave it out.
"""

from __future__ import annotations

import copy
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from biomarker_assets.lib.biomarkers.kinds import headline_biomarkers
from biomarker_assets.lib.summary.rows import day_rows
from biomarker_assets.lib.summary.windows import parse_local, window_of, without_partial_windows

SLEEP = {  # as SKDH's Sleep reports a recording from Mon 12:00 to Wed 02:33 (153 min into the second night)
    "Day N": [1, 2],
    "Date": ["2024-03-04", "2024-03-05"],
    "Day Start Timestamp": ["2024-03-04 12:00:00.000000", "2024-03-05 12:00:00.000000"],
    "Day End Timestamp": ["2024-03-05 12:00:00.000000", "2024-03-06 02:33:00.000000"],
    "Total Minutes": [1440.0, 873.0],
    "total sleep time": [400.0, 153.0],
}
ACTIVITY = {
    "Day N": [1, 2, 3],
    "Date": ["2024-03-04", "2024-03-05", "2024-03-06"],
    "Day Start Timestamp": ["2024-03-04 12:00:00", "2024-03-05 00:00:00", "2024-03-06 00:00:00"],
    "Day End Timestamp": ["2024-03-05 00:00:00", "2024-03-06 00:00:00", "2024-03-06 02:33:00"],
    "N wear hours": [12.0, 24.0, 2.55],
    "wake MVPA 5s epoch [min]": [30.0, 50.0, 0.0],
}
WINDOWS = {"Sleep": (12, 24), "Activity": (0, 24)}


def test_sleep_and_activity_on_different_windows_are_not_joined_by_day_number():
    days = day_rows({"Sleep": pa.table(SLEEP), "Activity": pa.table(ACTIVITY)}, WINDOWS)
    got = sorted(
        (r["window_start"], r["window_end"], r["window_hours_covered"], r["window_partial"],
         r.get("total_sleep_time_min"), r.get("wear_hours"))
        for r in days.values()
    )  # fmt: skip
    assert got == [
        (datetime(2024, 3, 4, 0), datetime(2024, 3, 5, 0), 12.0, True, None, 12.0),
        (datetime(2024, 3, 4, 12), datetime(2024, 3, 5, 12), 24.0, False, 400.0, None),
        (datetime(2024, 3, 5, 0), datetime(2024, 3, 6, 0), 24.0, False, None, 24.0),
        (datetime(2024, 3, 5, 12), datetime(2024, 3, 6, 12), 14.55, True, 153.0, None),
        (datetime(2024, 3, 6, 0), datetime(2024, 3, 7, 0), 2.55, True, None, 2.55),
    ]
    same = day_rows({"Sleep": pa.table(SLEEP), "Sleep2": pa.table(SLEEP)}, {"Sleep": (12, 24), "Sleep2": (12, 24)})
    assert len(same) == 2  # identical windows do join


def test_headline_means_leave_partial_windows_out_and_keep_total_wear():
    results = {"Sleep": {k: np.asarray(v) for k, v in SLEEP.items()}, "Activity": ACTIVITY}
    assert headline_biomarkers(results)["total_sleep_time_min"] == (400.0 + 153.0) / 2  # what main reported
    head = headline_biomarkers(without_partial_windows(results, WINDOWS))
    assert head["total_sleep_time_min"] == 400.0 and head["mvpa_min"] == 50.0
    assert head["wear_hours"] == pytest.approx(12.0 + 24.0 + 2.55)  # a total over the recording


@pytest.mark.slow  # about 50 s: 38 h generated and run through SKDH
def test_generated_recording_ending_mid_night(tmp_path):
    """SKDH itself on a generated wrist recording from Monday noon to Wednesday 02:00, windows as above."""
    from biomarker_assets.lib.biomarkers.processing import process_local_file
    from biomarker_assets.lib.study_config.loading import parse_config
    from biomarker_assets.local.demo import STUDY_FILES
    from biomarker_assets.local.wrist_recording import generate_wrist_day
    from biomarker_assets_tests.support.device_files import write_npz

    rec = generate_wrist_day(hours=38.0, fs=25.0)
    path = write_npz(tmp_path / "DM001_V1_wrist.npz", time=rec["time"], accel=rec["accel"],
                     temperature=rec["temperature"], fs=np.float64(rec["fs"]))  # fmt: skip
    config = yaml.safe_load((STUDY_FILES / "demo.yaml").read_text())
    steps = copy.deepcopy(config["pipelines"]["wrist-day"]["skdh"]["Steps"])
    steps[0].update(name="ReadNumpyFile", process="ReadNumpyFile", module="io.numpy_compressed")
    steps[2]["parameters"] = {"bases": [12, 0], "periods": [24, 24]}
    steps[4]["parameters"] = {"day_window": [0, 24]}
    config["pipelines"]["wrist-day"]["skdh"]["Steps"] = steps
    loaded = parse_config(yaml.safe_dump(config))
    result = process_local_file(path, loaded=loaded, pipeline_name="wrist-day", inputs={}, out_dir=tmp_path / "out")

    rows = pq.read_table(tmp_path / "out" / "summary_rows.parquet").to_pylist()
    nights = [r for r in rows if r["total_sleep_time_min"] is not None]
    assert [(r["window_start"].hour, r["window_partial"], r["window_hours_covered"]) for r in nights] == [
        (12, False, 24.0),
        (12, True, 14.0),
    ]
    assert all(r["mvpa_min"] is None for r in nights)  # activity days are other rows, other windows
    assert {r["window_time_zone"] for r in rows} == {"Europe/London"}  # the demo study names its zone
    assert nights[1]["total_sleep_time_min"] < nights[0]["total_sleep_time_min"]
    assert result.headline["total_sleep_time_min"] == nights[0]["total_sleep_time_min"]  # the cut night left out
    full_days = [r for r in rows if r["mvpa_min"] is not None and not r["window_partial"]]
    assert result.headline["mvpa_min"] == pytest.approx(np.mean([r["mvpa_min"] for r in full_days]))


def test_skdh_timestamp_text_with_nanoseconds_or_an_offset_is_local_wall_clock():
    assert parse_local("2024-03-04 12:00:00.123456789") == datetime(2024, 3, 4, 12, 0, 0, 123456)
    assert parse_local("2024-03-31 03:00:00.000000+02:00") == datetime(2024, 3, 31, 3, 0)
    assert parse_local("") is None and parse_local("not a time") is None


# As SKDH's ActivityLevelClassification reports three days in Europe/London around the clocks going back
# (Sun 2026-10-25 02:00 BST -> 01:00 GMT): its window text is local wall clock without an offset.
ACTIVITY_DST = {
    "Day N": [1, 2, 3],
    "Date": ["2026-10-24", "2026-10-25", "2026-10-26"],
    "Day Start Timestamp": ["2026-10-24 00:00:00", "2026-10-25 00:00:00", "2026-10-26 00:00:00"],
    "Day End Timestamp": ["2026-10-25 00:00:00", "2026-10-26 00:00:00", "2026-10-26 12:00:00"],
    "N wear hours": [24.0, 25.0, 12.0],
}


def test_windows_across_a_dst_change_count_real_hours_and_name_their_offset():
    days = day_rows({"Activity": pa.table(ACTIVITY_DST)}, {"Activity": (0, 24)}, "Europe/London")
    got = [
        (r["window_start"], r["window_start_utc_offset"], r["window_end_utc_offset"], r["window_hours_covered"],
         r["window_partial"])
        for r in days.values()
    ]  # fmt: skip
    assert got == [
        (datetime(2026, 10, 24), "+01:00", "+01:00", 24.0, False),
        (datetime(2026, 10, 25), "+01:00", "+00:00", 25.0, False),  # the fall-back day is 25 real hours
        (datetime(2026, 10, 26), "+00:00", "+00:00", 12.0, True),
    ]
    naive = day_rows({"Activity": pa.table(ACTIVITY_DST)}, {"Activity": (0, 24)})
    assert [r["window_hours_covered"] for r in naive.values()] == [24.0, 24.0, 12.0]  # a device clock has no DST
    assert naive[next(iter(naive))]["window_start_utc_offset"] is None
    spring = window_of(datetime(2026, 3, 28, 12), datetime(2026, 3, 29, 12), 12, 24, "Europe/London")
    assert (spring.covered_hours, spring.partial, spring.start_offset, spring.end_offset) == (
        23.0,
        False,
        "+00:00",
        "+01:00",
    )
    # started 00:30 GMT on the spring-forward night: 10.5 real hours to noon BST (11.5 on the wall clock)
    late = window_of(datetime(2026, 3, 29, 0, 30), datetime(2026, 3, 29, 12), 12, 24, "Europe/London")
    assert late.partial and late.covered_hours == 10.5
