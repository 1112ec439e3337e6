"""Metadata files run before data files: a data file started first would only wait for its subject and run again."""

from __future__ import annotations

import dagster as dg

from biomarker_assets.defs.catalog.listing_sensor import study_files_listing_sensor
from biomarker_assets.defs.partitions import studies
from biomarker_assets.lib.file_kinds import FILE_KINDS
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.platform.file_requests import PRIORITY_TAG
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.study_store import StudyStore
from biomarker_assets_tests.support.sensor_ticks import tick

BUCKET = "ordered-study"


def test_listing_tick_requests_metadata_first_and_at_a_higher_priority(aws, instance: dg.DagsterInstance, samples):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    config = (STUDY_FILES / "demo.yaml").read_text().replace("demo-study-data", BUCKET)
    s3.put_object(Bucket=StudyStore().config_bucket, Key=StudyStore().config_key("demo"), Body=config.encode())
    instance.add_dynamic_partitions(str(studies.name), ["demo"])
    # data files sort before the metadata file by key, so only the sensor's ordering puts metadata first
    for key in ("raw/lumbar/DM001_V1_lumbar.npz", "raw/lumbar/DM003_V1_lumbar.npz"):
        s3.upload_file(str(samples / "gait_input.npz"), BUCKET, key)
    s3.put_object(Bucket=BUCKET, Key="raw/metadata/subjects.csv", Body=(STUDY_FILES / "subjects.csv").read_bytes())

    _, requests, _ = tick(study_files_listing_sensor, instance)

    assert [r.job_name for r in requests] == [
        FILE_KINDS["metadata"].job,
        FILE_KINDS["data"].job,
        FILE_KINDS["data"].job,
    ]
    priority = [int(r.tags.get(PRIORITY_TAG, "0")) for r in requests]
    assert priority[0] > max(priority[1:])
