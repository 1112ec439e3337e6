"""AWS faults injected at the client (botocore ``before-send`` hooks) against the real moto server.

Killed and concurrent runs never leave a mixed or stale result set; a failing queue loses no
message and hides no error; transient errors are retried, bad files are not.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import dagster as dg
import numpy as np
import pytest
import yaml
from botocore.exceptions import EndpointConnectionError

from biomarker_assets.definitions import defs
from biomarker_assets.defs.biomarkers.assets import file_biomarkers
from biomarker_assets.defs.metadata.assets import subject_metadata
from biomarker_assets.defs.partitions import data_files, metadata_files, studies
from biomarker_assets.lib.biomarkers.processing import results_prefix
from biomarker_assets.lib.biomarkers.publishing import LATEST_FILE
from biomarker_assets.lib.notices import SQS_MAX_BYTES
from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.local.aws_standin import drain_messages
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.platform.status import latest_outcome
from biomarker_assets.resources.aws import aws_client, region_name
from biomarker_assets.resources.notifier import Kind, Notifier
from biomarker_assets.resources.study_store import StudyStore
from biomarker_assets_tests.support.aws_faults import first_call_fails, for_key, inject

assert defs.resources is not None  # bound in defs/resources.py
RESOURCES = {key: defs.resources[key] for key in ("study_store", "notifier", "metadata_table", "processing_options")}
STUDY, BUCKET = "faults", "faults-data"
KEY = "raw/lumbar/DM001_V1_lumbar.npz"
PARTITION = file_partition_key(STUDY, KEY)


# ---------------------------------------------------------------- the study


def upload_config(pipeline_changes: dict | None = None, **changes) -> None:
    config = copy.deepcopy(yaml.safe_load((STUDY_FILES / "demo.yaml").read_text()))
    config.update(study=STUDY, bucket=BUCKET, **changes)
    for name, pipeline_change in (pipeline_changes or {}).items():
        config["pipelines"][name].update(pipeline_change)
    store = StudyStore()
    aws_client("s3").put_object(
        Bucket=store.config_bucket, Key=store.config_key(STUDY), Body=yaml.safe_dump(config).encode()
    )


@pytest.fixture
def study(aws, instance, samples):
    """The demo config over one bucket holding DM001's lumbar recording and the subjects' heights."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(samples / "gait_input.npz"), BUCKET, KEY)
    s3.put_object(Bucket=BUCKET, Key="raw/metadata/subjects.csv", Body=(STUDY_FILES / "subjects.csv").read_bytes())
    upload_config()
    instance.add_dynamic_partitions(studies.name, [STUDY])
    instance.add_dynamic_partitions(data_files.name, [PARTITION])
    metadata = file_partition_key(STUDY, "raw/metadata/subjects.csv")
    instance.add_dynamic_partitions(metadata_files.name, [metadata])
    assert dg.materialize([subject_metadata], instance=instance, resources=RESOURCES, partition_key=metadata).success
    drain_messages()  # the demo's deliberately unreadable heights
    return s3


def materialize(instance: dg.DagsterInstance, partition: str = PARTITION) -> dg.ExecuteInJobResult:
    return dg.materialize(
        [file_biomarkers], instance=instance, resources=RESOURCES, partition_key=partition, raise_on_error=False
    )


def shorter_recording(samples: Path, seconds_kept: float = 0.8) -> bytes:
    """A second version of the lumbar file: the same recording, cut to its first 80 %."""
    with np.load(samples / "gait_input.npz") as data:
        arrays = {name: data[name] for name in data.files}
    n = int(len(arrays["time"]) * seconds_kept)
    out = io.BytesIO()
    np.savez(out, **{name: a[:n] for name, a in arrays.items()})
    return out.getvalue()


def file_prefix(key: str = KEY) -> str:
    return results_prefix(StudyStore().load_config(STUDY).config, "gait", key)


def s3_json(uri_or_key: str) -> dict:
    key = uri_or_key.removeprefix(f"s3://{BUCKET}/")
    return json.loads(aws_client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())


def latest() -> dict | None:
    try:
        return s3_json(file_prefix() + LATEST_FILE)
    except aws_client("s3").exceptions.NoSuchKey:
        return None


def objects(prefix: str) -> dict[str, bytes]:
    s3 = aws_client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def assert_complete(folder_uri: str) -> dict[str, bytes]:
    """The folder holds exactly what its provenance lists, with the listed checksums."""
    folder = folder_uri.removeprefix(f"s3://{BUCKET}/")
    stored = objects(folder)
    record = json.loads(stored.pop(folder + "provenance.json"))
    listed = {o["uri"].removeprefix(f"s3://{BUCKET}/"): o["sha256"] for o in record["outputs"]}
    assert listed == {key: hashlib.sha256(data).hexdigest() for key, data in stored.items()}
    return stored


def materialized_results(instance: dg.DagsterInstance) -> str:
    """The results folder of the partition's latest materialization: what the summary and the UI read."""
    flt = dg.AssetRecordsFilter(asset_key=file_biomarkers.key, asset_partitions=[PARTITION])
    [record] = instance.fetch_materializations(flt, limit=1).records
    assert record.asset_materialization is not None
    return str(record.asset_materialization.metadata["results"].value)


def etag(key: str = KEY) -> str:
    return aws_client("s3").head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')


# ---------------------------------------------------------------- mixed result sets


class TaskKilled(Exception):
    """Stands for the task dying mid-upload: no object after it is written."""


def test_a_run_killed_mid_upload_leaves_the_previous_version_current_and_whole(study, instance, samples):
    assert materialize(instance).success
    first = latest()
    assert first is not None and first["input"]["etag"] == etag()
    first_objects = assert_complete(first["results"])

    study.put_object(Bucket=BUCKET, Key=KEY, Body=shorter_recording(samples))

    def die_at_headline(request, **_):
        if for_key("headline.json")(request):
            raise TaskKilled("task stopped mid-upload")

    with inject("s3", "PutObject", die_at_headline):
        assert not materialize(instance).success

    assert latest() == first  # still points at the first version's folder, which is untouched
    assert assert_complete(first["results"]) == first_objects
    folders = {k.rsplit("/", 2)[-2] for k in objects(file_prefix()) if k.count("/") > file_prefix().count("/")}
    [partial] = folders - {first["data_version"]}
    partial_names = {k.rsplit("/", 1)[1] for k in objects(file_prefix() + partial + "/")}
    assert "GaitLumbar.parquet" in partial_names and "provenance.json" not in partial_names  # visibly incomplete
    assert materialized_results(instance) == first["results"]  # the UI and the summary still read version 1
    drain_messages()

    assert materialize(instance).success  # the run again, not killed: the new version is published whole
    second = latest()
    assert second is not None and second["input"]["etag"] == etag() != first["input"]["etag"]
    assert second["results"] == f"s3://{BUCKET}/{file_prefix()}{partial}/"
    assert_complete(second["results"])
    assert materialized_results(instance) == second["results"]
    assert assert_complete(first["results"]) == first_objects  # the old version's results are kept as they were


# A run in its own process, SIGKILLed by the hook as it starts uploading headline.json: no handler runs.
KILLED_RUN = """
import os, signal, sys
import dagster as dg
from biomarker_assets.definitions import defs
from biomarker_assets.defs.biomarkers.assets import file_biomarkers
from biomarker_assets.defs.partitions import data_files
from biomarker_assets.resources.aws import aws_client

def die(request, **_):
    if request.url.split("?")[0].endswith("/headline.json"):
        os.kill(os.getpid(), signal.SIGKILL)

aws_client("s3").meta.events.register("before-send.s3.PutObject", die)
with dg.DagsterInstance.ephemeral() as instance:
    instance.add_dynamic_partitions(data_files.name, [sys.argv[1]])
    resources = {k: defs.resources[k] for k in ("study_store", "notifier", "metadata_table", "processing_options")}
    dg.materialize([file_biomarkers], instance=instance, resources=resources, partition_key=sys.argv[1])
"""


def test_a_task_sigkilled_mid_upload_publishes_nothing(study, instance, samples):
    assert materialize(instance).success
    first = latest()
    assert first is not None
    first_objects = assert_complete(first["results"])
    study.put_object(Bucket=BUCKET, Key=KEY, Body=shorter_recording(samples))

    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, PARTITION], capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    assert latest() == first and assert_complete(first["results"]) == first_objects
    partial = {k for k in objects(file_prefix()) if "/" + first["data_version"] + "/" not in k} - {
        file_prefix() + LATEST_FILE
    }
    assert partial and not any(k.endswith(("/provenance.json", "/headline.json")) for k in partial)
    assert materialized_results(instance) == first["results"]


def test_an_older_version_finishing_last_is_superseded_and_the_newer_stays_published(study, instance, samples):
    uploading, resume = threading.Event(), threading.Event()

    def hold_first_upload(request, **_):  # the older run has read and processed version 1 and starts uploading
        if not uploading.is_set():
            uploading.set()
            assert resume.wait(300)

    outcomes: dict[str, dg.ExecuteInJobResult] = {}
    with inject("s3", "PutObject", hold_first_upload):
        older = threading.Thread(target=lambda: outcomes.setdefault("older", materialize(instance)))
        older.start()
        assert uploading.wait(300)
        study.put_object(Bucket=BUCKET, Key=KEY, Body=shorter_recording(samples))  # version 2 arrives
        outcomes["newer"] = materialize(instance)  # its run starts and finishes meanwhile
        resume.set()
        older.join(300)

    newer, older_result = outcomes["newer"], outcomes["older"]
    assert newer.success and older_result.success  # superseded is no failure
    assert older_result.get_asset_materialization_events() == []
    logs = [e.user_message for e in instance.all_logs(older_result.run_id)]
    assert any("superseded, nothing published" in m and KEY in m for m in logs)
    published = latest()
    assert published is not None and published["input"]["etag"] == etag()  # version 2, not overwritten
    assert materialized_results(instance) == published["results"]
    outcome = latest_outcome(instance, file_biomarkers.key, PARTITION)  # no "superseded" after it: status is processed
    assert outcome is not None and outcome.asset_materialization is not None
    assert drain_messages() == []  # nothing for a person to do


def test_a_file_changed_before_its_download_ends_superseded_and_its_new_version_is_processed(study, instance, samples):
    other = boto3.client("s3", region_name=region_name())  # a second writer, outside the project's client and its hooks
    changed: list[str] = []

    def new_version_arrives(request, **_):
        if for_key(KEY)(request) and not changed:
            other.put_object(Bucket=BUCKET, Key=KEY, Body=shorter_recording(samples))
            changed.append(etag())

    with inject("s3", "GetObject", new_version_arrives):
        result = materialize(instance)
    assert result.success and result.get_asset_materialization_events() == []
    observation = latest_outcome(instance, file_biomarkers.key, PARTITION)
    assert observation is not None and observation.asset_observation is not None
    assert observation.asset_observation.metadata["status"].value == "superseded"
    assert latest() is None and objects(file_prefix()) == {}  # version 1 was never processed from version 2's bytes
    assert drain_messages() == []

    assert materialize(instance).success  # the run for the current version
    published = latest()
    assert published is not None and published["input"]["etag"] == changed[0]


# ---------------------------------------------------------------- a failing notifier


def test_with_sqs_unreachable_every_outcome_is_recorded_and_every_message_kept(study, instance, samples, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # fewer retries of the dead queue, for the test's time
    upload_config(pipeline_changes={"gait": {"qc": {"expected_fs": 100}}})  # gait runs at 50 Hz: QC fails
    waiting, broken = "raw/lumbar/DM003_V1_lumbar.npz", "raw/lumbar/DM002_V1_lumbar.npz"  # DM003 has no height
    study.upload_file(str(samples / "gait_input.npz"), BUCKET, waiting)
    study.put_object(Bucket=BUCKET, Key=broken, Body=b"not a numpy file")
    partitions = {k: file_partition_key(STUDY, k) for k in (KEY, waiting, broken)}
    instance.add_dynamic_partitions(data_files.name, list(partitions.values()))
    sends: list[str] = []

    def unreachable(request, **_):
        sends.append(request.url)
        raise EndpointConnectionError(endpoint_url=request.url)

    with inject("sqs", "", unreachable):
        results = {k: materialize(instance, p) for k, p in partitions.items()}
    assert sends  # the queue really was tried

    # processed with failing QC: materialized, message kept
    assert results[KEY].success and results[KEY].get_asset_materialization_events()
    # waiting: recorded, so the waiting sensor will re-request it
    assert results[waiting].success
    waiting_event = latest_outcome(instance, file_biomarkers.key, partitions[waiting])
    assert waiting_event is not None and waiting_event.asset_observation is not None
    assert waiting_event.asset_observation.metadata["status"].value == "waiting"
    # failing: recorded, and the run's error is the file's problem, not the queue's
    assert not results[broken].success
    [failure] = results[broken].get_step_failure_events()
    error = failure.step_failure_data.error
    assert error is not None and "not a valid .npz" in error.message  # the file's own problem
    assert "EndpointConnectionError" not in error.message
    failed_event = latest_outcome(instance, file_biomarkers.key, partitions[broken])
    assert failed_event is not None and failed_event.asset_observation is not None
    assert failed_event.asset_observation.metadata["status"].value == "failed"

    kept = {
        (m["kind"], m["file"]): m for m in (json.loads(v) for v in objects("results/_undelivered_notices/").values())
    }
    assert set(kept) == {
        ("qc_failed", f"s3://{BUCKET}/{KEY}"),
        ("requirement_unmet", f"s3://{BUCKET}/{waiting}"),
        ("processing_failed", f"s3://{BUCKET}/{broken}"),
    }
    assert all("EndpointConnectionError" in m["undelivered_because"] for m in kept.values())
    assert "sampling_rate" in kept[("qc_failed", f"s3://{BUCKET}/{KEY}")]["details"]["checks"]
    logged = [e.user_message for e in instance.all_logs(results[broken].run_id)]
    assert any("processing_failed message not delivered to SQS" in m and "_undelivered_notices/" in m for m in logged)
    assert drain_messages() == []  # nothing reached the queue, nothing is lost either


def test_a_sensor_message_with_sqs_unreachable_is_kept_in_the_config_bucket(aws, monkeypatch, caplog):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

    def unreachable(request, **_):
        raise EndpointConnectionError(endpoint_url=request.url)

    with inject("sqs", "", unreachable):
        message = Notifier().send(Kind.MISSING_CONFIG, "gone", "s3://c/studies/gone.yaml", "no study config")
    kept = aws_client("s3").list_objects_v2(Bucket=StudyStore().config_bucket, Prefix="_undelivered_notices/")
    [stored] = kept["Contents"]
    body = json.loads(aws_client("s3").get_object(Bucket=StudyStore().config_bucket, Key=stored["Key"])["Body"].read())
    assert {k: body[k] for k in message} == message and "EndpointConnectionError" in body["undelivered_because"]
    assert any(stored["Key"] in r.getMessage() for r in caplog.records)  # and in the process's log
    assert drain_messages() == []


def test_a_message_over_the_sqs_limit_is_sent_shortened_with_its_full_copy_in_s3(aws):
    errors = [f"Steps.{i}: not allowed" for i in range(30_000)]
    Notifier().send(Kind.INVALID_CONFIG, "big", "s3://c/studies/big.yaml", "30000 error(s)", errors=errors)
    [message] = drain_messages()
    assert len(json.dumps(message)) <= SQS_MAX_BYTES
    assert message["details"]["errors"][-1].startswith("... and ")
    bucket, key = message["details"]["full_message"].removeprefix("s3://").split("/", 1)
    assert key.startswith("_full_notices/")
    full = json.loads(aws_client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert full["details"]["errors"] == errors


# ---------------------------------------------------------------- transient errors


def test_a_500_on_get_object_is_retried_by_the_client(study, instance):
    calls: list[str] = []
    with inject("s3", "GetObject", first_call_fails(KEY, 500, "InternalError", calls)):
        result = materialize(instance)
    assert result.success and len(calls) == 2
    assert latest() is not None and drain_messages() == []


def test_a_transient_error_outlasting_the_client_retries_the_file_and_a_bad_file_is_not(study, instance, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the client gives up at once: the step's retry policy takes over
    calls: list[str] = []  # the file's first HEAD (resolving the partition) is throttled
    with inject("s3", "HeadObject", first_call_fails(KEY, 503, "SlowDown", calls)):
        result = materialize(instance)
    assert result.success and len(calls) >= 2
    assert [e.event_type_value for e in result.all_events].count("STEP_UP_FOR_RETRY") == 1
    assert result.get_asset_materialization_events() and drain_messages() == []

    study.put_object(Bucket=BUCKET, Key=KEY, Body=b"not a numpy file")
    result = materialize(instance)
    assert not result.success
    assert "STEP_UP_FOR_RETRY" not in [e.event_type_value for e in result.all_events]
    assert [m["kind"] for m in drain_messages()] == [Kind.PROCESSING_FAILED]  # once, not once per attempt
