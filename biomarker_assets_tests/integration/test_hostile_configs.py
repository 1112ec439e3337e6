"""Hostile and unreadable study configs through Dagster and moto: each is that study's invalid_config alone.

Beside every bad config sits a good one, which must still be registered, listed and processed.
S3 faults are injected at the client (botocore's event hooks), so the real code path sees a real
``ClientError``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator

import dagster as dg
import numpy as np
import pytest
import yaml
from botocore.exceptions import ClientError

from biomarker_assets.definitions import defs
from biomarker_assets.defs.biomarkers.assets import file_biomarkers
from biomarker_assets.defs.catalog.events_sensor import study_files_events_sensor
from biomarker_assets.defs.catalog.listing_sensor import study_files_listing_sensor
from biomarker_assets.defs.configs.assets import study_configs
from biomarker_assets.defs.partitions import data_files, studies
from biomarker_assets.lib.catalog.problem_notices import MAX_ERRORS_IN_MESSAGE
from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.lib.study_config.loading import MAX_CONFIG_BYTES
from biomarker_assets.local.aws_standin import drain_messages
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.study_store import StudyStore
from biomarker_assets_tests.support.sensor_ticks import tick

assert defs.resources is not None
RESOURCES = {key: defs.resources[key] for key in ("study_store", "notifier", "metadata_table", "processing_options")}
DEMO_TEXT = (STUDY_FILES / "demo.yaml").read_text()
DEMO = yaml.safe_load(DEMO_TEXT)
STORE = StudyStore()
SQS_LIMIT = 256 * 1024


def _config(study: str, bucket: str | None = None, **changes: object) -> dict:
    config = copy.deepcopy(DEMO)
    config.update(study=study, bucket=bucket or f"{study}-data", **changes)
    return config


def _put_config(study: str, body: str | bytes) -> None:
    data = body.encode() if isinstance(body, str) else body
    aws_client("s3").put_object(Bucket=STORE.config_bucket, Key=STORE.config_key(study), Body=data)


@pytest.fixture
def s3_fault() -> Iterator[dict[str, tuple[int, str]]]:
    """Config keys -> (HTTP status, S3 error code) that GetObject fails with, at the client."""
    faults: dict[str, tuple[int, str]] = {}

    def fail(params: dict, **_kwargs: object) -> None:
        if params.get("Key") in faults:
            status, code = faults[params["Key"]]
            error = {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}
            raise ClientError(error, "GetObject")

    events = aws_client("s3").meta.events
    events.register("provide-client-params.s3.GetObject", fail, unique_id="hostile-config-fault")
    yield faults
    events.unregister("provide-client-params.s3.GetObject", unique_id="hostile-config-fault")


def _payload_yaml(marker: str) -> str:
    """The demo config plus a tag that, under an unsafe loader, writes ``marker``."""
    payload = json.dumps(f"open({marker!r}, 'w').write('payload ran')")
    return (
        DEMO_TEXT.replace("study: demo", "study: evil-tag")
        + f"\nextra: !!python/object/apply:builtins.exec [{payload}]\n"
    )


def _hostile_configs(tmp_path) -> dict[str, tuple[bytes, str]]:
    """study -> (config body, a fragment its invalid_config message must contain)."""
    deep = "study: too-deep\nnested: " + "[" * 1000 + "]" * 1000 + "\n"
    bomb = (
        yaml.safe_dump(_config("alias-bomb"))
        + "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
    )
    huge = yaml.safe_dump(_config("huge", description="x" * (2 * MAX_CONFIG_BYTES)))
    duplicate = yaml.safe_dump(_config("duplicate-key")) + "bucket: someone-elses-bucket\n"
    many = _config("many-errors")
    many["data_files"] = [{"match": {"glob": "x"}, "pipeline": "p", f"bad{i}": "y" * 100} for i in range(3000)]
    pickled = _config("allow-pickle")
    pickled["pipelines"]["gait"]["skdh"]["Steps"][0]["parameters"] = {"allow_pickle": True}
    return {
        "evil-tag": (_payload_yaml(str(tmp_path / "payload.marker")).encode(), "could not determine a constructor"),
        "too-deep": (deep.encode(), "nested deeper than 64 levels"),
        "alias-bomb": (bomb.encode(), "expands to more than 100,000 values"),
        "huge": (huge.encode(), f"over the {MAX_CONFIG_BYTES:,} limit"),
        "duplicate-key": (duplicate.encode(), "found duplicate key 'bucket'"),
        "many-errors": (yaml.safe_dump(many).encode(), "data_files[0].bad0: Extra inputs are not permitted"),
        "allow-pickle": (yaml.safe_dump(pickled).encode(), "parameter 'allow_pickle' must be False"),
    }


def test_each_hostile_or_unreadable_config_is_its_study_invalid_config_alone(aws, instance, tmp_path, s3_fault):
    for study, (body, _) in _hostile_configs(tmp_path).items():
        _put_config(study, body)
    for study in ("good-study", "forbidden", "server-error"):
        _put_config(study, yaml.safe_dump(_config(study)))
    s3_fault[STORE.config_key("forbidden")] = (403, "AccessDenied")
    s3_fault[STORE.config_key("server-error")] = (500, "InternalError")

    result = dg.materialize([study_configs], instance=instance, resources=RESOURCES)

    assert result.success
    assert not (tmp_path / "payload.marker").exists()
    assert instance.get_dynamic_partitions(studies.name) == ["good-study"]
    messages = {m["study"]: m for m in drain_messages()}
    expected = {study: fragment for study, (_, fragment) in _hostile_configs(tmp_path).items()}
    expected["forbidden"] = "(document): cannot be read: S3 GetObject failed: AccessDenied"
    expected["server-error"] = "(document): cannot be read: S3 GetObject failed: InternalError"
    assert set(messages) == set(expected)
    for study, fragment in expected.items():
        message = messages[study]
        assert message["kind"] == "invalid_config" and message["file"] == STORE.config_uri(study)
        assert len(json.dumps(message)) < 16 * 1024, study  # far below SQS's 256 KiB
        assert any(fragment in e for e in message["details"]["errors"]), (study, message["details"]["errors"])
    many = messages["many-errors"]["details"]
    assert many["error_count"] == 3000 and len(many["errors"]) == MAX_ERRORS_IN_MESSAGE + 1
    assert many["errors"][-1].startswith(f"... and {3000 - MAX_ERRORS_IN_MESSAGE} more")


def test_sensors_carry_on_for_other_studies_when_one_config_is_unreadable(aws, instance, s3_fault, samples):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="good-data")
    s3.upload_file(str(samples / "gait_input.npz"), "good-data", "raw/lumbar/DM001_V1_lumbar.npz")
    _put_config("good", yaml.safe_dump(_config("good", "good-data")))
    _put_config("forbidden", yaml.safe_dump(_config("forbidden", "good-data")))
    _put_config("too-deep", "study: too-deep\nnested: " + "[" * 1000 + "]" * 1000 + "\n")
    instance.add_dynamic_partitions(studies.name, ["forbidden", "good", "too-deep"])  # registered before they broke
    s3_fault[STORE.config_key("forbidden")] = (403, "AccessDenied")

    _, requests, cursor = tick(study_files_listing_sensor, instance)
    key = file_partition_key("good", "raw/lumbar/DM001_V1_lumbar.npz")
    assert instance.get_dynamic_partitions(data_files.name) == [key]
    assert [r.partition_key for r in requests] == [key]
    messages = drain_messages()
    assert sorted((m["kind"], m["study"]) for m in messages) == [
        ("invalid_config", "forbidden"),
        ("invalid_config", "too-deep"),
    ]
    _, requests, cursor = tick(study_files_listing_sensor, instance, cursor)
    assert requests == [] and drain_messages() == []  # reported once, not once per tick

    # the events sensor skips the unreadable configs and still serves the good events study
    queue_url = aws_client("sqs").create_queue(QueueName="good-events")["QueueUrl"]
    events = _config("good", "good-data", discovery={"mode": "events", "events_queue": "good-events"})
    _put_config("good", yaml.safe_dump(events))
    s3.upload_file(str(samples / "gait_input.npz"), "good-data", "raw/lumbar/DM002_V1_lumbar.npz")
    record = {
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "good-data"}, "object": {"key": "raw/lumbar/DM002_V1_lumbar.npz"}},
    }
    aws_client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps({"Records": [record]}))
    _, requests, _ = tick(study_files_events_sensor, instance)
    assert [r.partition_key for r in requests] == [file_partition_key("good", "raw/lumbar/DM002_V1_lumbar.npz")]


def test_an_npz_with_a_pickle_fails_its_file_and_never_runs(aws, instance, tmp_path):
    """A valid study (allow_pickle left false) given an .npz whose pickle writes a marker when loaded."""
    marker = tmp_path / "payload.marker"

    class Payload:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').write('payload ran')",))

    accel = np.empty(1, dtype=object)
    accel[0] = Payload()
    np.savez(tmp_path / "evil.npz", time=np.arange(5000.0), accel=accel)  # over SKDH's 1 kB minimum
    config = _config("pickles", "pickles-data")
    config["pipelines"]["gait"]["requires"] = []  # nothing to wait for: the file goes straight to its reader
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="pickles-data")
    key = "raw/lumbar/DM001_V1_lumbar.npz"
    s3.upload_file(str(tmp_path / "evil.npz"), "pickles-data", key)
    _put_config("pickles", yaml.safe_dump(config))
    instance.add_dynamic_partitions(studies.name, ["pickles"])
    partition = file_partition_key("pickles", key)
    instance.add_dynamic_partitions(data_files.name, [partition])

    result = dg.materialize(
        [file_biomarkers], instance=instance, resources=RESOURCES, partition_key=partition, raise_on_error=False
    )

    assert not result.success
    assert not marker.exists()
    (message,) = drain_messages()
    assert message["kind"] == "processing_failed" and message["file"] == f"s3://pickles-data/{key}"
    # refused from the zip directory before NumPy reads it (lib/skdh/isolation.py); np.load never unpickles either
    assert "holds pickled Python objects" in message["reason"], message
