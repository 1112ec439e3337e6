"""Sensors against a real Dagster instance and the real moto server (build_sensor_context)."""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
import time

import dagster as dg
import pyarrow.parquet as pq
import pytest
import yaml

from biomarker_assets.definitions import defs
from biomarker_assets.defs.biomarkers.waiting_files_sensor import waiting_files_sensor
from biomarker_assets.defs.catalog.events_sensor import study_files_events_sensor
from biomarker_assets.defs.catalog.listing_sensor import study_files_listing_sensor
from biomarker_assets.defs.configs.study_configs_sensor import study_configs_sensor
from biomarker_assets.defs.partitions import data_files, metadata_files, studies
from biomarker_assets.lib.partition_keys import file_partition_key, parse_file_partition_key
from biomarker_assets.local.aws_standin import drain_messages
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.platform.backfills import STUDY_TAG
from biomarker_assets.platform.dagster_private import DATA_VERSION_TAG
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.discovery_tuning import DiscoveryTuning
from biomarker_assets.resources.events_queue import EventsQueue
from biomarker_assets.resources.study_store import StudyStore
from biomarker_assets_tests.support.sensor_ticks import requested_partitions, sensor_resources, tick

RESOURCES = sensor_resources()
DEMO = yaml.safe_load((STUDY_FILES / "demo.yaml").read_text())
BUCKET = "sensor-study"


def upload_config(study: str, bucket: str, **changes) -> dict:
    config = copy.deepcopy(DEMO)
    config.update(study=study, bucket=bucket, **changes)
    aws_client("s3").put_object(
        Bucket=StudyStore().config_bucket, Key=StudyStore().config_key(study), Body=yaml.safe_dump(config).encode()
    )
    return config


@pytest.fixture
def study(aws, instance, samples):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    upload_config("sensed", BUCKET)
    instance.add_dynamic_partitions(studies.name, ["sensed"])
    return s3


def test_listing_new_changed_unchanged_removed(study, instance, samples):
    s3 = study
    s3.upload_file(str(samples / "gait_input.npz"), BUCKET, "raw/lumbar/DM001_V1_lumbar.npz")
    s3.put_object(Bucket=BUCKET, Key="raw/metadata/subjects.csv", Body=(STUDY_FILES / "subjects.csv").read_bytes())
    s3.put_object(Bucket=BUCKET, Key="raw/notes.txt", Body=b"matches no rule")

    _, requests, cursor = tick(study_files_listing_sensor, instance)
    data_key = file_partition_key("sensed", "raw/lumbar/DM001_V1_lumbar.npz")
    meta_key = file_partition_key("sensed", "raw/metadata/subjects.csv")
    assert instance.get_dynamic_partitions(data_files.name) == [data_key]
    assert instance.get_dynamic_partitions(metadata_files.name) == [meta_key]
    assert [(r.job_name, r.partition_key) for r in requests] == [  # metadata first
        ("subject_metadata_job", meta_key),
        ("file_biomarkers_job", data_key),
    ]
    etag = s3.head_object(Bucket=BUCKET, Key="raw/lumbar/DM001_V1_lumbar.npz")["ETag"].strip('"')
    assert {r.run_key for r in requests} >= {f"{data_key}@{etag}"}
    assert all(r.tags[STUDY_TAG] == "sensed" for r in requests)

    _, requests, cursor = tick(study_files_listing_sensor, instance, cursor)
    assert requests == []  # unchanged: never re-processed

    s3.put_object(
        Bucket=BUCKET, Key="raw/lumbar/DM001_V1_lumbar.npz", Body=(samples / "gait_input.npz").read_bytes() + b"\0"
    )
    result, requests, cursor = tick(study_files_listing_sensor, instance, cursor)
    new_etag = s3.head_object(Bucket=BUCKET, Key="raw/lumbar/DM001_V1_lumbar.npz")["ETag"].strip('"')
    assert [(r.partition_key, r.run_key) for r in requests] == [(data_key, f"{data_key}@{new_etag}")]
    observed = instance.fetch_observations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("raw_data_file"), asset_partitions=[data_key]), limit=1
    ).records[0]
    assert observed.asset_observation.tags[DATA_VERSION_TAG] == new_etag

    s3.delete_object(Bucket=BUCKET, Key="raw/lumbar/DM001_V1_lumbar.npz")
    _, requests, cursor = tick(study_files_listing_sensor, instance, cursor)
    assert requests == [] and instance.get_dynamic_partitions(data_files.name) == []


def test_removed_file_keeps_results_and_marks_provenance(study, instance, samples):
    from biomarker_assets.defs.biomarkers.assets import file_biomarkers
    from biomarker_assets.defs.metadata.assets import subject_metadata

    s3 = study
    s3.upload_file(str(samples / "gait_input.npz"), BUCKET, "raw/lumbar/DM001_V1_lumbar.npz")
    s3.put_object(Bucket=BUCKET, Key="raw/metadata/subjects.csv", Body=(STUDY_FILES / "subjects.csv").read_bytes())
    _, requests, cursor = tick(study_files_listing_sensor, instance)
    for request in requests:  # the sensor requests metadata first
        asset = subject_metadata if request.job_name == "subject_metadata_job" else file_biomarkers
        assert dg.materialize(
            [asset], instance=instance, resources=RESOURCES, partition_key=request.partition_key
        ).success
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="results/gait/")["Contents"]
    provenance_key = next(o["Key"] for o in listed if o["Key"].endswith("/provenance.json"))
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=provenance_key)["Body"].read())["input_removed_at"] is None

    s3.delete_object(Bucket=BUCKET, Key="raw/lumbar/DM001_V1_lumbar.npz")
    tick(study_files_listing_sensor, instance, cursor)
    after = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="results/gait/")["Contents"]}
    assert after == {o["Key"] for o in listed}  # every result object is still there
    record = json.loads(s3.get_object(Bucket=BUCKET, Key=provenance_key)["Body"].read())
    assert record["input_removed_at"] and record["input"]["key"] == "raw/lumbar/DM001_V1_lumbar.npz"


# A listing pass split across ticks: 2 objects a page, and every tick's time is up after its first page.
NO_TIME = DiscoveryTuning(listing_tick_seconds=0)
PAGED = sensor_resources(study_store=StudyStore(list_page_size=2), discovery_tuning=NO_TIME)


def _pass_ticks(
    instance: dg.DagsterInstance, cursor: str | None, study: str = "sensed"
) -> tuple[list[tuple[list[str], list[str], list[str]]], str | None]:
    """Ticks until the study's listing pass completes: [(registered keys, run request keys)], cursor."""
    ticks = []
    while True:
        result, requests, cursor = tick(study_files_listing_sensor, instance, cursor, PAGED)
        assert isinstance(result, dg.SensorResult) and cursor is not None, "the listing sensor never skips"
        partition_requests = result.dynamic_partitions_requests or []
        added = [
            k for r in partition_requests if isinstance(r, dg.AddDynamicPartitionsRequest) for k in r.partition_keys
        ]
        removed = [
            k for r in partition_requests if isinstance(r, dg.DeleteDynamicPartitionsRequest) for k in r.partition_keys
        ]
        ticks.append((added, removed, requested_partitions(requests)))
        assert len(ticks) < 50
        if study not in json.loads(cursor)["listing"]:
            return ticks, cursor


def _lumbar(n: int) -> str:
    return f"raw/lumbar/DM{n:03d}_V1_lumbar.npz"


def test_listing_pass_spans_ticks_and_sees_changes_on_both_sides_of_its_position(study, instance):
    s3 = study
    for n in range(7):
        s3.put_object(Bucket=BUCKET, Key=_lumbar(n), Body=b"v1")

    ticks, cursor = _pass_ticks(instance, None)
    assert len(ticks) == 4  # pages of 2, 2, 2, 1
    assert [len(added) for added, _, _ in ticks] == [2, 2, 2, 1]
    expected = [file_partition_key("sensed", _lumbar(n)) for n in range(7)]
    assert [k for _, _, requested in ticks for k in requested] == expected  # each file once, in key order
    assert sorted(instance.get_dynamic_partitions(data_files.name)) == sorted(expected)
    catalog = pq.read_table(
        io.BytesIO(s3.get_object(Bucket=BUCKET, Key="results/_catalog/catalog.parquet")["Body"].read())
    )
    assert catalog.column("key").to_pylist() == [_lumbar(n) for n in range(7)]

    # second pass: one tick in, change things behind and ahead of where it stands
    _, requests, cursor = tick(study_files_listing_sensor, instance, cursor, PAGED)
    assert cursor is not None
    assert requests == [] and json.loads(cursor)["listing"]["sensed"]["start_after"] == _lumbar(1)
    s3.delete_object(Bucket=BUCKET, Key=_lumbar(0))  # behind: seen by the next pass
    s3.delete_object(Bucket=BUCKET, Key=_lumbar(5))  # ahead
    s3.put_object(Bucket=BUCKET, Key=_lumbar(3), Body=b"v2")  # ahead, changed
    s3.put_object(Bucket=BUCKET, Key=_lumbar(9), Body=b"v1")  # ahead, new
    ticks, cursor = _pass_ticks(instance, cursor)
    assert sorted(k for _, _, requested in ticks for k in requested) == [
        file_partition_key("sensed", _lumbar(3)),
        file_partition_key("sensed", _lumbar(9)),
    ]
    assert [k for _, removed, _ in ticks for k in removed] == [file_partition_key("sensed", _lumbar(5))]

    ticks, cursor = _pass_ticks(instance, cursor)  # third pass: the removal behind, and nothing else
    assert [k for _, removed, _ in ticks for k in removed] == [file_partition_key("sensed", _lumbar(0))]
    assert [k for added, _, requested in ticks for k in added + requested] == []
    assert sorted(instance.get_dynamic_partitions(data_files.name)) == sorted(
        file_partition_key("sensed", _lumbar(n)) for n in (1, 2, 3, 4, 6, 9)
    )


def test_listing_pass_restarts_when_prefixes_change_and_drops_files_outside_them(study, instance):
    s3 = study
    for n in range(3):
        s3.put_object(Bucket=BUCKET, Key=_lumbar(n), Body=b"v1")
    s3.put_object(Bucket=BUCKET, Key="raw/metadata/subjects.csv", Body=(STUDY_FILES / "subjects.csv").read_bytes())
    _, cursor = _pass_ticks(instance, None)
    assert len(instance.get_dynamic_partitions(metadata_files.name)) == 1

    _, _, cursor = tick(study_files_listing_sensor, instance, cursor, PAGED)  # a pass under way
    upload_config("sensed", BUCKET, prefixes=["raw/lumbar/"])
    ticks, cursor = _pass_ticks(instance, cursor)
    assert [k for _, removed, _ in ticks for k in removed] == [
        file_partition_key("sensed", "raw/metadata/subjects.csv")
    ]
    assert instance.get_dynamic_partitions(metadata_files.name) == []
    assert len(instance.get_dynamic_partitions(data_files.name)) == 3
    assert [k for added, _, requested in ticks for k in added + requested] == []


def test_a_large_study_does_not_starve_the_next_one(study, instance):
    s3 = study
    for n in range(6):
        s3.put_object(Bucket=BUCKET, Key=_lumbar(n), Body=b"v1")
    s3.create_bucket(Bucket="other-study")
    upload_config("other", "other-study")
    instance.add_dynamic_partitions(studies.name, ["other"])
    s3.put_object(Bucket="other-study", Key=_lumbar(0), Body=b"v1")

    order, cursor = [], None
    for _ in range(5):
        _, requests, cursor = tick(study_files_listing_sensor, instance, cursor, PAGED)
        order.append(sorted({parse_file_partition_key(k)[0] for k in requested_partitions(requests)}))
    # "sensed" (first) takes three ticks for its 6 files, then "other" has its turn before "sensed" again
    assert order == [["sensed"], ["sensed"], ["sensed"], ["other"], []]


def test_missing_config_and_bucket_are_reported_once(study, instance):
    instance.add_dynamic_partitions(studies.name, ["no-config", "no-bucket"])
    upload_config("no-bucket", "bucket-that-is-not-there")
    cursor = None
    for _ in range(3):
        _, _, cursor = tick(study_files_listing_sensor, instance, cursor)
    kinds = sorted((m["kind"], m["study"]) for m in drain_messages())
    assert kinds == [("missing_bucket", "no-bucket"), ("missing_config", "no-config")]
    # fixed, then broken again: a new message
    aws_client("s3").create_bucket(Bucket="bucket-that-is-not-there")
    _, _, cursor = tick(study_files_listing_sensor, instance, cursor)
    aws_client("s3").delete_bucket(Bucket="bucket-that-is-not-there")
    _, _, cursor = tick(study_files_listing_sensor, instance, cursor)
    assert [(m["kind"], m["study"]) for m in drain_messages()] == [("missing_bucket", "no-bucket")]


ODD_NAMES = [
    "raw/lumbar/DM001_V1_lumbar with space.npz",
    "raw/lumbar/ünïcødé 漢字/DM002_V1_lumbar.npz",
    "raw/lumbar/dots.../DM003_V1_lumbar.npz",
    "raw/lumbar/pipe|and,comma/DM004_V1_lumbar.npz",
    "raw/lumbar/100%/DM005_V1_lumbar.npz",
    "raw/lumbar/a+b/DM006_V1_lumbar.npz",
    "raw/lumbar/" + "deep-folder/" * 73 + "DM007_V1_lumbar.npz",
]


@pytest.mark.parametrize("page_size", [1000, 1], ids=["one-page", "a-tick-per-key"])
def test_odd_keys_round_trip_to_the_right_object(study, instance, page_size):
    assert len(ODD_NAMES[-1]) > 900
    for number, key in enumerate(ODD_NAMES):
        study.put_object(Bucket=BUCKET, Key=key, Body=f"object {number}".encode())
    # one key a page and a tick a page: every odd key is a StartAfter and a range bound once
    resources = sensor_resources(study_store=StudyStore(list_page_size=page_size), discovery_tuning=NO_TIME)
    cursor, requested = None, []
    for _ in range(2):  # two whole passes: the second finds nothing new, changed or removed
        while True:
            result, requests, cursor = tick(study_files_listing_sensor, instance, cursor, resources)
            assert isinstance(result, dg.SensorResult) and cursor is not None, "the listing sensor never skips"
            requested += requested_partitions(requests)
            assert not [
                r for r in result.dynamic_partitions_requests or [] if isinstance(r, dg.DeleteDynamicPartitionsRequest)
            ]
            if "sensed" not in json.loads(cursor)["listing"]:
                break
    assert sorted(requested) == sorted(file_partition_key("sensed", key) for key in ODD_NAMES)
    partitions = instance.get_dynamic_partitions(data_files.name)
    assert len(partitions) == len(ODD_NAMES)
    for partition in partitions:
        study_id, key = parse_file_partition_key(partition)
        body = study.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        assert study_id == "sensed" and body == f"object {ODD_NAMES.index(key)}"


# ---------------------------------------------------------------- events mode

EVENTS_QUEUE = "sensed-s3-events"
# Received messages come back after 1 s instead of 300 s, so a crashed tick can be replayed.
EVENTS = sensor_resources(events_queue=EventsQueue(visibility_seconds=1))


def events_tick(instance, cursor=None):
    return tick(study_files_events_sensor, instance, cursor, EVENTS)


@pytest.fixture
def events_study(aws, instance):
    s3, sqs = aws_client("s3"), aws_client("sqs")
    s3.create_bucket(Bucket=BUCKET)
    queue_url = sqs.create_queue(QueueName=EVENTS_QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]
        },
    )
    upload_config("sensed", BUCKET, discovery={"mode": "events", "events_queue": EVENTS_QUEUE})
    instance.add_dynamic_partitions(studies.name, ["sensed"])
    return s3, queue_url


def _queue_size(queue_url: str) -> int:
    attributes = aws_client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    return sum(int(v) for v in attributes["Attributes"].values())


def test_events_register_files_ignore_test_event_and_delete_after_registration(events_study, instance):
    s3, queue_url = events_study
    keys = ["raw/lumbar/DM001_V1_lumbar.npz", "raw/lumbar/with space+plus/DM002_V1_lumbar.npz"]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="raw/notes.txt", Body=b"no rule")
    assert _queue_size(queue_url) == 4  # the s3:TestEvent comes first

    _, requests, cursor = events_tick(instance)
    expected = sorted(file_partition_key("sensed", k) for k in keys)
    assert sorted(instance.get_dynamic_partitions(data_files.name)) == expected
    assert sorted(r.partition_key for r in requests) == expected
    assert _queue_size(queue_url) == 4  # not deleted until the registration is stored
    _, requests, cursor = events_tick(instance, cursor)
    assert requests == [] and _queue_size(queue_url) == 0


def test_events_crash_before_deletion_loses_nothing(events_study, instance):
    s3, queue_url = events_study
    s3.put_object(Bucket=BUCKET, Key="raw/lumbar/DM001_V1_lumbar.npz", Body=b"x")
    _, first, _lost_cursor = events_tick(instance)
    # The daemon died before storing the cursor: the next tick starts from the old one.
    time.sleep(1.5)  # visibility timeout (patched to 1 s) passes; the messages come back
    _, again, cursor = events_tick(instance, None)
    assert [r.run_key for r in again] == [r.run_key for r in first]  # Dagster drops the duplicate by run key
    _, _, cursor = events_tick(instance, cursor)
    assert _queue_size(queue_url) == 0


def test_events_duplicates_and_out_of_order(events_study, instance):
    s3, queue_url = events_study
    key = "raw/lumbar/DM001_V1_lumbar.npz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"version 1")
    _, requests, cursor = events_tick(instance)
    assert len(requests) == 1
    # a duplicate notification of the same version, then a removal delivered before its creation
    sqs = aws_client("sqs")
    created = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": BUCKET},
                    "object": {"key": key.replace(" ", "+"), "sequencer": "00000000000000000A"},
                },
            }
        ]
    }
    removed = {
        "Records": [
            {
                "eventName": "ObjectRemoved:Delete",
                "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "sequencer": "00000000000000000B"}},
            }
        ]
    }
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(created))
    _, requests, cursor = events_tick(instance, cursor)
    etag = s3.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
    assert [r.run_key for r in requests] == [f"{file_partition_key('sensed', key)}@{etag}"]  # same key: deduped
    s3.delete_object(Bucket=BUCKET, Key=key)  # moto queues the real ObjectRemoved event
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(removed))
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(created))  # stale creation, arrives last
    _, requests, cursor = events_tick(instance, cursor)
    assert requests == [] and instance.get_dynamic_partitions(data_files.name) == []


# ---------------------------------------------------------------- waiting files


def test_waiting_file_proceeds_after_metadata_with_one_message(study, instance, samples):
    from biomarker_assets.defs.biomarkers.assets import file_biomarkers
    from biomarker_assets.defs.metadata.assets import subject_metadata

    s3 = study
    s3.upload_file(str(samples / "gait_input.npz"), BUCKET, "raw/lumbar/DM003_V1_lumbar.npz")
    s3.put_object(Bucket=BUCKET, Key="raw/metadata/subjects.csv", Body=(STUDY_FILES / "subjects.csv").read_bytes())
    tick(study_files_listing_sensor, instance)
    data_key = file_partition_key("sensed", "raw/lumbar/DM003_V1_lumbar.npz")
    meta_key = file_partition_key("sensed", "raw/metadata/subjects.csv")

    def run(asset, partition):
        assert dg.materialize([asset], instance=instance, resources=RESOURCES, partition_key=partition).success

    run(subject_metadata, meta_key)
    run(file_biomarkers, data_key)  # waits: DM003 has no height
    run(file_biomarkers, data_key)  # asked again (e.g. a retry): still waiting, no second message
    _, requests, cursor = tick(waiting_files_sensor, instance)
    assert requests == []
    run(subject_metadata, meta_key)  # metadata changed, but DM003 still has no height
    _, requests, cursor = tick(waiting_files_sensor, instance, cursor)
    assert requests == []

    fixed = (STUDY_FILES / "subjects.csv").read_text().replace("DM003,  ,", "DM003, 180 cm,")
    s3.put_object(Bucket=BUCKET, Key="raw/metadata/subjects.csv", Body=fixed.encode())
    run(subject_metadata, meta_key)
    _, requests, cursor = tick(waiting_files_sensor, instance, cursor)
    assert [r.partition_key for r in requests] == [data_key]
    run(file_biomarkers, requests[0].partition_key)
    _, requests, cursor = tick(waiting_files_sensor, instance, cursor)
    assert requests == []  # processed: no longer waiting
    unmet = [m for m in drain_messages() if m["kind"] == "requirement_unmet"]
    assert len(unmet) == 1 and unmet[0]["file"].endswith("DM003_V1_lumbar.npz")


def test_large_batches_become_one_backfill(study, instance):
    resources = sensor_resources(discovery_tuning=DiscoveryTuning(backfill_threshold=5))
    for number in range(12):
        study.put_object(Bucket=BUCKET, Key=f"raw/lumbar/DM{number:03d}_V1_lumbar.npz", Body=b"x")
    context = dg.build_sensor_context(instance=instance, definitions=defs, resources=resources)
    result = study_files_listing_sensor(context)  # evaluated, not yet applied by the sensor daemon
    assert isinstance(result, dg.SensorResult)
    assert result.run_requests == [] and result.dynamic_partitions_requests == []
    [backfill] = instance.get_backfills()
    targeted = {ap.partition_key for ap in backfill.asset_backfill_data.target_subset.iterate_asset_partitions()}
    # already registered, so a backfill daemon iteration before the sensor daemon applies the tick can load it
    assert targeted <= set(instance.get_dynamic_partitions(data_files.name)) and len(targeted) == 12
    assert backfill.tags == {STUDY_TAG: "sensed"}
    # the same tick again (the daemon died before storing its cursor): no second backfill
    instance.delete_dynamic_partition(data_files.name, sorted(targeted)[0])
    aws_client("s3").delete_object(Bucket=BUCKET, Key="results/_catalog/catalog.parquet")
    tick(study_files_listing_sensor, instance, None, resources)
    assert len(instance.get_backfills()) == 1


def test_config_run_key_is_the_same_in_every_process():
    """A tick retried by a restarted code server must request the same run key, or Dagster runs it twice."""
    code = (
        "from biomarker_assets.lib.catalog.run_keys import configs_run_key; "
        "print(configs_run_key({'studies/a.yaml': 'e1'}))"
    )
    keys = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(keys) == 1, keys


def test_new_config_triggers_discovery_once(aws, instance):
    _, requests, cursor = tick(study_configs_sensor, instance)
    assert isinstance(_, dg.SkipReason) or requests == []
    upload_config("another", BUCKET)
    _, requests, cursor = tick(study_configs_sensor, instance, cursor)
    assert len(requests) == 1
    result, requests, cursor = tick(study_configs_sensor, instance, cursor)
    assert isinstance(result, dg.SkipReason)


def test_backfill_study_targets_exactly_that_studys_files(study, instance):
    backfill_study = defs.resolve_job_def("backfill_study")  # with its resources: it reads the study's config
    for number in range(3):
        study.put_object(Bucket=BUCKET, Key=f"raw/lumbar/DM{number:03d}_V1_lumbar.npz", Body=b"x")
    tick(study_files_listing_sensor, instance)
    instance.add_dynamic_partitions(data_files.name, ["other/raw/lumbar/DM001_V1_lumbar.npz"])
    result = backfill_study.execute_in_process(
        run_config={"ops": {"launch_study_backfill": {"config": {"study": "sensed"}}}}, instance=instance
    )
    [backfill] = instance.get_backfills()
    assert backfill.backfill_id == result.output_for_node("launch_study_backfill")
    assert backfill.tags == {STUDY_TAG: "sensed"}
    targeted = {ap.partition_key for ap in backfill.asset_backfill_data.target_subset.iterate_asset_partitions()}
    assert targeted == {p for p in instance.get_dynamic_partitions(data_files.name) if p.startswith("sensed/")}
    assert len(targeted) == 3


def test_instance_limits_runs_per_study_by_the_tag_the_sensors_set():
    from pathlib import Path

    from dagster._core.run_coordinator import QueuedRunCoordinator

    instance_yaml = yaml.safe_load((Path(__file__).resolve().parents[2] / "dagster.yaml").read_text())
    config = instance_yaml["run_coordinator"]["config"]
    [limit] = [rule for rule in config["tag_concurrency_limits"] if rule["key"] == STUDY_TAG]
    assert limit["value"] == {"applyLimitPerUniqueValue": True} and limit["limit"] < config["max_concurrent_runs"]
    QueuedRunCoordinator(**{k: v for k, v in config.items()})  # Dagster accepts the configuration
