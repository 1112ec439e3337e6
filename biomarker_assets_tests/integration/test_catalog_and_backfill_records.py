"""What the sensors and backfills leave on the instance for the UI: the catalog's partition, job backfills."""

from __future__ import annotations

import copy

import dagster as dg
import pytest
import yaml
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from biomarker_assets.defs.catalog.listing_sensor import study_files_listing_sensor
from biomarker_assets.defs.partitions import studies
from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.platform.backfills import STUDY_TAG, submit_files_backfill
from biomarker_assets.platform.dagster_private import RemoteRepositoryOrigin
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.study_store import StudyStore
from biomarker_assets_tests.support.sensor_ticks import tick

BUCKET = "catalog-study"
CATALOG = dg.AssetKey("study_catalog")


@pytest.fixture
def study(aws, instance):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    config = copy.deepcopy(yaml.safe_load((STUDY_FILES / "demo.yaml").read_text()))
    config.update(study="listed", bucket=BUCKET)
    s3.put_object(Bucket=StudyStore().config_bucket, Key=StudyStore().config_key("listed"), Body=yaml.safe_dump(config))
    instance.add_dynamic_partitions(str(studies.name), ["listed"])
    return s3


def test_a_study_cataloged_by_the_listing_sensor_shows_as_cataloged(study, instance):
    """The sensor writes the catalog Parquet, so the study_catalog partition is materialized, once per change."""
    for n in range(3):
        study.put_object(Bucket=BUCKET, Key=f"raw/lumbar/DM00{n}_V1_lumbar.npz", Body=b"x")
    _, _, cursor = tick(study_files_listing_sensor, instance)
    assert instance.get_materialized_partitions(CATALOG) == {"listed"}
    [record] = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=CATALOG), limit=10).records
    metadata = record.asset_materialization.metadata if record.asset_materialization else {}
    assert metadata["cataloged_files"].value == 3 and metadata["new"].value == 3
    assert metadata["catalog"].value == f"s3://{BUCKET}/results/_catalog/catalog.parquet"
    aws_client("s3").head_object(Bucket=BUCKET, Key="results/_catalog/catalog.parquet")  # what it points at exists

    _, _, cursor = tick(study_files_listing_sensor, instance, cursor)  # nothing changed: no new catalog version
    assert len(instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=CATALOG), limit=10).records) == 1
    study.delete_object(Bucket=BUCKET, Key="raw/lumbar/DM000_V1_lumbar.npz")
    tick(study_files_listing_sensor, instance, cursor)
    latest = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=CATALOG), limit=1).records[0]
    assert latest.asset_materialization is not None
    assert latest.asset_materialization.metadata["removed"].value == 1
    assert latest.asset_materialization.metadata["cataloged_files"].value == 2


def test_backfills_in_a_code_location_are_job_backfills_metadata_first(instance):
    """A job backfill's outcome is its runs' statuses: a file that waits (a successful run) cannot fail it."""
    repository = RemoteRepositoryOrigin(
        InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="biomarker_assets.definitions")), "__repository__"
    )
    data = [file_partition_key("s", f"raw/lumbar/DM00{n}_V1_lumbar.npz") for n in range(2)]
    meta = file_partition_key("s", "raw/metadata/subjects.csv")
    pairs = [("data", k) for k in data] + [("metadata", meta)]
    backfill_id = submit_files_backfill(instance, "s", pairs, "t", "d", backfill_id="abc", repository=repository)
    backfills = sorted(instance.get_backfills(), key=lambda b: b.backfill_timestamp)
    assert [b.backfill_id for b in backfills] == ["abc-metadata", "abc"] and backfill_id == "abc"
    metadata_backfill, data_backfill = backfills
    assert metadata_backfill.partition_set_origin is not None and data_backfill.partition_set_origin is not None
    assert metadata_backfill.partition_set_origin.partition_set_name == "subject_metadata_job_partition_set"
    assert data_backfill.partition_set_origin.partition_set_name == "file_biomarkers_job_partition_set"
    assert data_backfill.partition_names == data and metadata_backfill.partition_names == [meta]
    assert not data_backfill.is_asset_backfill and data_backfill.tags == {STUDY_TAG: "s"}
    submit_files_backfill(instance, "s", pairs, "t", "d", backfill_id="abc", repository=repository)
    assert len(instance.get_backfills()) == 2  # a re-run tick does not submit them again
