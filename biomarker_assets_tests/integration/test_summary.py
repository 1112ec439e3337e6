"""The study summary refreshes incrementally and from its sensor."""

import dagster as dg

from biomarker_assets.defs.biomarkers.assets import file_biomarkers
from biomarker_assets.defs.catalog.listing_sensor import study_files_listing_sensor
from biomarker_assets.defs.metadata.assets import subject_metadata
from biomarker_assets.defs.summary.assets import study_summary
from biomarker_assets.defs.summary.summary_sensor import study_summary_sensor
from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets_tests.integration.test_sensors import BUCKET, RESOURCES, study, tick  # noqa: F401 (fixture)


def _materialize(asset, instance, partition):
    result = dg.materialize([asset], instance=instance, resources=RESOURCES, partition_key=partition)
    assert result.success
    return result


def _summary(instance):
    [event] = _materialize(study_summary, instance, "sensed").get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_summary_reads_only_changed_files_and_follows_metadata(study, instance, samples):  # noqa: F811 (pytest fixture)
    s3 = study
    s3.put_object(Bucket=BUCKET, Key="raw/metadata/subjects.csv", Body=(STUDY_FILES / "subjects.csv").read_bytes())
    for subject in ("DM001", "DM002"):
        s3.upload_file(str(samples / "gait_input.npz"), BUCKET, f"raw/lumbar/{subject}_V1_lumbar.npz")
    tick(study_files_listing_sensor, instance)  # registers the partitions
    _materialize(subject_metadata, instance, file_partition_key("sensed", "raw/metadata/subjects.csv"))
    for subject in ("DM001", "DM002"):
        _materialize(file_biomarkers, instance, file_partition_key("sensed", f"raw/lumbar/{subject}_V1_lumbar.npz"))

    _, requests, cursor = tick(study_summary_sensor, instance)
    assert [r.partition_key for r in requests] == ["sensed"]
    first = _summary(instance)
    assert first["files_read"] == 2 and first["files_total"] == 2 and first["rows"] == 4  # 2 gait bouts each

    s3.upload_file(str(samples / "gait_input.npz"), BUCKET, "raw/lumbar/DM004_V1_lumbar.npz")
    instance.add_dynamic_partitions("data_files", [file_partition_key("sensed", "raw/lumbar/DM004_V1_lumbar.npz")])
    _materialize(file_biomarkers, instance, file_partition_key("sensed", "raw/lumbar/DM004_V1_lumbar.npz"))
    _, requests, cursor = tick(study_summary_sensor, instance, cursor)
    assert [r.partition_key for r in requests] == ["sensed"]
    second = _summary(instance)
    assert second["files_read"] == 1 and second["files_total"] == 3 and second["rows"] == 6
    result, requests, cursor = tick(study_summary_sensor, instance, cursor)
    assert isinstance(result, dg.SkipReason)  # nothing new: no refresh

    from biomarker_assets.lib.summary.study_table import read_parquet
    from biomarker_assets.resources.study_store import StudyStore

    table = read_parquet(StudyStore().object_bytes(BUCKET, "results/_summary/study_summary.parquet"))
    assert table is not None
    assert b"wall clock" in table.schema.field("window_start").metadata[b"description"]  # units and meaning stored
    assert second["time_zones"] == "Europe/London" and "window_partial" in second["columns"]  # the study's zone
    bouts = table.to_pylist()
    assert {(r["window_start"].hour, r["window_end"].day - r["window_start"].day) for r in bouts} == {(0, 1)}
    heights = {r["subject"]: r["height_m"] for r in table.to_pylist()}
    assert heights == {"DM001": 1.88, "DM002": round(65 * 0.0254, 4), "DM004": round(70 * 0.0254, 4)}


# ---------------------------------------------------------------- per-file summary rows (no AWS)


def test_gait_bout_rows_average_each_bout_over_its_own_strides():
    """Two steps' gait tables, bouts on two days: each row's means come from its own bout's strides.

    Pins the fix for ruff's B023 (a per-bout closure over the loop's mask and columns): the closure
    was called in the iteration that defined it, so its late binding never changed a value; the
    means are now computed by a function given the mask (``_bout_mean``).
    """
    import pyarrow as pa

    from biomarker_assets.lib.summary.rows import SUMMARY_SCHEMA, file_summary_rows, gait_bout_rows

    nan = float("nan")
    first = pa.table(
        {
            "Day N": [1, 1, 1, 2, 2],
            "Bout N": [1, 1, 2, 1, 1],
            "Date": ["d1", "d1", "d1", "d2", "d2"],
            "gait speed": [1.0, 2.0, nan, 3.0, 5.0],
            "cadence": [100.0, 110.0, 90.0, nan, nan],
            "stride length": [1.0, 1.2, 0.8, 1.4, 1.6],
        }
    )
    second = pa.table({"Bout N": [7, 7], "gait speed": [0.5, 1.5], "Bout Duration": [12.0, 12.0]})
    rows = gait_bout_rows({"GaitLumbar": first, "Other": second})
    got = [(r["day_n"], r["gait_bout_n"], r["gait_strides"], r["gait_speed_m_s"], r["cadence_steps_min"]) for r in rows]
    assert got == [(1, 1, 2, 1.5, 105.0), (1, 2, 1, None, 90.0), (2, 1, 2, 4.0, None), (1, 7, 2, 1.0, None)]
    assert [r["date"] for r in rows] == ["d1", "d1", "d2", None]
    assert rows[2]["stride_length_m"] == 1.5 and rows[3]["gait_bout_duration_s"] == 12.0
    table = file_summary_rows({"GaitLumbar": first}, {"study": "s", "file_key": "k"})
    assert table.schema == SUMMARY_SCHEMA and table.num_rows == 3


def test_summary_schema_and_day_columns_come_from_the_biomarker_kinds():
    """Column names, order and types as the stored summary tables have them (kinds.py declares them)."""
    import pyarrow as pa

    from biomarker_assets.lib.biomarkers.kinds import DAY_COLUMNS
    from biomarker_assets.lib.summary.rows import SUMMARY_SCHEMA, day_rows

    f, i, s = pa.float64(), pa.int64(), pa.string()
    expected = [
        *[(n, s) for n in ("row_type", "study", "subject", "file_key", "file_fields", "pipeline")],
        *[(n, s) for n in ("pipeline_version", "pipeline_digest", "skdh_version", "date")],
        ("day_n", i),
        *[(n, pa.timestamp("s")) for n in ("window_start", "window_end")],
        *[(n, s) for n in ("window_time_zone", "window_start_utc_offset", "window_end_utc_offset")],
        ("window_hours_covered", f),
        ("window_partial", pa.bool_()),
        *[(n, f) for n in ("wear_hours", "total_sleep_time_min", "sleep_opportunity_min")],
        *[(n, f) for n in ("sleep_onset_latency_min", "wake_after_sleep_onset_min", "mvpa_min", "light_min")],
        ("sedentary_min", f),
        ("gait_bout_n", i),
        ("gait_bout_duration_s", f),
        ("gait_strides", i),
        *[(n, f) for n in ("gait_speed_m_s", "cadence_steps_min", "stride_length_m")],
    ]
    assert [(field.name, field.type) for field in SUMMARY_SCHEMA] == expected
    assert list(DAY_COLUMNS) == [
        "N wear hours",
        "total sleep time",
        "TSO Duration",
        "sleep onset latency",
        "wake after sleep onset",
        "wake MVPA 5s epoch [min]",
        "wake light 5s epoch [min]",
        "wake sed 5s epoch [min]",
    ]
    activity = pa.table({"Day N": [1, 2], "Date": ["a", "b"], "N wear hours": [20.0, 3.5]})
    sleep = pa.table({"Day N": [1], "total sleep time": [400.0]})
    days = day_rows({"Activity": activity, "Sleep": sleep})
    assert days[1]["wear_hours"] == 20.0 and days[1]["total_sleep_time_min"] == 400.0 and days[2]["date"] == "b"
