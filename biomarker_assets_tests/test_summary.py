"""The study summary refreshes incrementally and from its sensor."""

import dagster as dg

from biomarker_assets.defs import sensors
from biomarker_assets.defs.biomarkers.assets import file_biomarkers
from biomarker_assets.defs.metadata.assets import subject_metadata
from biomarker_assets.defs.summary.assets import study_summary
from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets_tests.test_sensors import BUCKET, RESOURCES, study, tick  # noqa: F401 (fixture)


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
    tick(sensors.study_files_listing_sensor, instance)  # registers the partitions
    _materialize(subject_metadata, instance, file_partition_key("sensed", "raw/metadata/subjects.csv"))
    for subject in ("DM001", "DM002"):
        _materialize(file_biomarkers, instance, file_partition_key("sensed", f"raw/lumbar/{subject}_V1_lumbar.npz"))

    _, requests, cursor = tick(sensors.study_summary_sensor, instance)
    assert [r.partition_key for r in requests] == ["sensed"]
    first = _summary(instance)
    assert first["files_read"] == 2 and first["files_total"] == 2 and first["rows"] == 4  # 2 gait bouts each

    s3.upload_file(str(samples / "gait_input.npz"), BUCKET, "raw/lumbar/DM004_V1_lumbar.npz")
    instance.add_dynamic_partitions("data_files", [file_partition_key("sensed", "raw/lumbar/DM004_V1_lumbar.npz")])
    _materialize(file_biomarkers, instance, file_partition_key("sensed", "raw/lumbar/DM004_V1_lumbar.npz"))
    _, requests, cursor = tick(sensors.study_summary_sensor, instance, cursor)
    assert [r.partition_key for r in requests] == ["sensed"]
    second = _summary(instance)
    assert second["files_read"] == 1 and second["files_total"] == 3 and second["rows"] == 6
    result, requests, cursor = tick(sensors.study_summary_sensor, instance, cursor)
    assert isinstance(result, dg.SkipReason)  # nothing new: no refresh

    from biomarker_assets.defs.summary.assets import _read_parquet

    table = _read_parquet(BUCKET, "results/_summary/study_summary.parquet").to_pylist()
    heights = {r["subject"]: r["height_m"] for r in table}
    assert heights == {"DM001": 1.88, "DM002": round(65 * 0.0254, 4), "DM004": round(70 * 0.0254, 4)}
