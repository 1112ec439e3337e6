"""Catalog and requirement behaviour on small studies, with materialize() against moto."""

from __future__ import annotations

import copy

import dagster as dg
import yaml

from biomarker_assets.definitions import defs
from biomarker_assets.defs.biomarkers.assets import file_biomarkers
from biomarker_assets.defs.catalog.assets import study_catalog
from biomarker_assets.defs.configs.assets import study_configs
from biomarker_assets.defs.metadata.assets import subject_metadata
from biomarker_assets.defs.partitions import data_files, metadata_files, studies
from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.local.aws_standin import drain_messages
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.study_store import StudyStore

assert defs.resources is not None
RESOURCES = {key: defs.resources[key] for key in ("study_store", "notifier", "metadata_table", "processing_options")}
DEMO = yaml.safe_load((STUDY_FILES / "demo.yaml").read_text())


def small_study(study: str, bucket: str) -> dict:
    config = copy.deepcopy(DEMO)
    config.update(study=study, bucket=bucket)
    return config


def upload_config(config: dict) -> None:
    aws_client("s3").put_object(
        Bucket=StudyStore().config_bucket,
        Key=StudyStore().config_key(config["study"]),
        Body=yaml.safe_dump(config).encode(),
    )


def run(asset, instance, partition=None, ok=True):
    result = dg.materialize(
        [asset], instance=instance, resources=RESOURCES, partition_key=partition, raise_on_error=False
    )
    assert result.success is ok, [e.message for e in result.all_events if e.is_failure]
    return result


def test_catalog_registers_files_and_missing_bucket_fails_only_that_study(aws, instance, samples):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="study-a")
    for key in [
        "raw/lumbar/DM001_V1_lumbar.npz",
        "raw/lumbar/sub/DM002_V2_lumbar.npz",
        "raw/other/x.txt",
        "results/old.parquet",
    ]:
        s3.upload_file(str(samples / "gait_input.npz"), "study-a", key)
    s3.put_object(Bucket="study-a", Key="raw/metadata/subjects.csv", Body=(STUDY_FILES / "subjects.csv").read_bytes())
    upload_config(small_study("study-a", "study-a"))
    upload_config(small_study("study-b", "study-b-missing"))

    run(study_configs, instance)
    assert sorted(instance.get_dynamic_partitions(studies.name)) == ["study-a", "study-b"]
    run(study_catalog, instance, "study-b", ok=False)
    run(study_catalog, instance, "study-a")
    assert sorted(instance.get_dynamic_partitions(data_files.name)) == [
        "study-a/raw/lumbar/DM001_V1_lumbar.npz",
        "study-a/raw/lumbar/sub/DM002_V2_lumbar.npz",
    ]
    assert instance.get_dynamic_partitions(metadata_files.name) == ["study-a/raw/metadata/subjects.csv"]
    messages = drain_messages()
    assert [(m["kind"], m["study"], m["file"]) for m in messages] == [
        ("missing_bucket", "study-b", "s3://study-b-missing")
    ]
    # a second catalog run registers nothing new
    run(study_catalog, instance, "study-a")
    assert len(instance.get_dynamic_partitions(data_files.name)) == 2


def test_missing_config_is_a_message_and_a_failure(aws, instance):
    instance.add_dynamic_partitions(studies.name, ["gone"])
    result = run(study_catalog, instance, "gone", ok=False)
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "no study config at s3://" in failure.step_failure_data.error.message
    assert [m["kind"] for m in drain_messages()] == ["missing_config"]


def test_waiting_file_proceeds_once_its_height_arrives(aws, instance, samples):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="study-c")
    s3.upload_file(str(samples / "gait_input.npz"), "study-c", "raw/lumbar/DM003_V1_lumbar.npz")
    s3.put_object(Bucket="study-c", Key="raw/metadata/subjects.csv", Body=(STUDY_FILES / "subjects.csv").read_bytes())
    upload_config(small_study("study-c", "study-c"))
    instance.add_dynamic_partitions(studies.name, ["study-c"])
    run(study_catalog, instance, "study-c")
    metadata_partition = file_partition_key("study-c", "raw/metadata/subjects.csv")
    data_partition = file_partition_key("study-c", "raw/lumbar/DM003_V1_lumbar.npz")
    run(subject_metadata, instance, metadata_partition)
    drain_messages()

    waiting = run(file_biomarkers, instance, data_partition)
    assert not waiting.get_asset_materialization_events()
    observation = next(e for e in waiting.all_events if e.event_type_value == "ASSET_OBSERVATION")
    assert observation.asset_observation_data.asset_observation.metadata["status"].value == "waiting"
    [message] = drain_messages()
    assert message["kind"] == "requirement_unmet" and "'DM003' has no height" in message["reason"]
    assert message["file"] == "s3://study-c/raw/lumbar/DM003_V1_lumbar.npz"

    fixed = (STUDY_FILES / "subjects.csv").read_text().replace("DM003,  ,", "DM003, 188cm ,")
    s3.put_object(Bucket="study-c", Key="raw/metadata/subjects.csv", Body=fixed.encode())
    run(subject_metadata, instance, metadata_partition)
    drain_messages()  # DM006's unreadable height is reported again: still wrong
    done = run(file_biomarkers, instance, data_partition)
    [materialization] = done.get_asset_materialization_events()
    metadata = materialization.materialization.metadata
    assert metadata["status"].value == "processed"
    assert metadata["biomarker/gait_speed_m_s"].value > 0.5
    assert drain_messages() == []
    listed = s3.list_objects_v2(Bucket="study-c", Prefix="results/gait/")["Contents"]
    assert any(o["Key"].endswith("raw/lumbar/DM003_V1_lumbar.npz/latest.json") for o in listed)  # published
