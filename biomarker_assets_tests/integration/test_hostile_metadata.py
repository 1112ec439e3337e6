"""Hostile metadata files through the subject_metadata asset, moto's DynamoDB and SQS.

Asserted on what is stored (DynamoDB items, the problems file in S3), what is sent (SQS) and what
Dagster keeps (the materialization's metadata), never on log text alone.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator

import dagster as dg
import pytest
import yaml
from botocore.exceptions import ClientError

from biomarker_assets.definitions import defs
from biomarker_assets.defs.biomarkers.assets import file_biomarkers
from biomarker_assets.defs.metadata.assets import subject_metadata
from biomarker_assets.defs.partitions import data_files, metadata_files, studies
from biomarker_assets.lib.metadata.reporting import MAX_REPORTED_PROBLEMS
from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.local.aws_standin import drain_messages
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.metadata_table import MetadataTable
from biomarker_assets.resources.study_store import StudyStore

assert defs.resources is not None
RESOURCES = {key: defs.resources[key] for key in ("study_store", "notifier", "metadata_table", "processing_options")}
STUDY, BUCKET = "meta", "meta-data"
SQS_LIMIT = 256 * 1024


@pytest.fixture
def study(aws, instance):
    config = copy.deepcopy(yaml.safe_load((STUDY_FILES / "demo.yaml").read_text()))
    config.update(study=STUDY, bucket=BUCKET)
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(
        Bucket=StudyStore().config_bucket, Key=StudyStore().config_key(STUDY), Body=yaml.safe_dump(config).encode()
    )
    instance.add_dynamic_partitions(studies.name, [STUDY])
    return s3


def _clean(instance, s3, name: str, body: str, ok: bool = True) -> dg.ExecuteInProcessResult:
    key = f"raw/metadata/{name}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode())
    partition = file_partition_key(STUDY, key)
    instance.add_dynamic_partitions(metadata_files.name, [partition])
    result = dg.materialize(
        [subject_metadata], instance=instance, resources=RESOURCES, partition_key=partition, raise_on_error=False
    )
    assert result.success is ok, [e.message for e in result.all_events if e.is_failure]
    return result


def test_two_files_disagreeing_on_a_height_store_none_and_the_gait_file_waits_with_the_reason(study, instance, samples):
    table = MetadataTable()
    _clean(instance, study, "a.csv", "subject,height,sex\nDM001,188 cm,M\nDM002,1.70,F\n")
    assert drain_messages() == []
    _clean(instance, study, "b.csv", "subject,height\nDM001,6'0\"\n")  # 1.83 m: not the 1.88 m of a.csv

    dm001 = table.get_subject(STUDY, "DM001")
    assert dm001 is not None and "height_m" not in dm001 and dm001["sex"] == "M"
    a_uri, b_uri = f"s3://{BUCKET}/raw/metadata/a.csv", f"s3://{BUCKET}/raw/metadata/b.csv"
    assert dm001["conflicts"] == {"height_m": f"1.88 in {a_uri}; 1.8288 in {b_uri}"}
    dm002 = table.get_subject(STUDY, "DM002")
    assert dm002 is not None and dm002["height_m"] == 1.7  # untouched by b.csv
    (message,) = drain_messages()
    assert message["kind"] == "metadata_rows_rejected" and message["file"] == b_uri
    assert message["details"]["conflicts_across_files"] == [
        {"subject": "DM001", "field": "height_m", "values": f"1.88 in {a_uri}; 1.8288 in {b_uri}"}
    ]

    # the gait file of DM001 waits, saying why, instead of running with either height
    key = "raw/lumbar/DM001_V1_lumbar.npz"
    study.upload_file(str(samples / "gait_input.npz"), BUCKET, key)
    partition = file_partition_key(STUDY, key)
    instance.add_dynamic_partitions(data_files.name, [partition])
    dg.materialize([file_biomarkers], instance=instance, resources=RESOURCES, partition_key=partition)
    (waiting,) = drain_messages()
    assert waiting["kind"] == "requirement_unmet"
    assert (
        f"conflicting height values in its metadata (1.88 in {a_uri}; 1.8288 in {b_uri}), none used"
        in (waiting["reason"])
    )

    # correcting b.csv resolves the conflict: the agreed height is stored again
    _clean(instance, study, "b.csv", "subject,height\nDM001,1.88\n")
    fixed = table.get_subject(STUDY, "DM001")
    assert fixed is not None and fixed["height_m"] == 1.88 and "conflicts" not in fixed
    assert sorted(fixed["sources"]) == [a_uri, b_uri]


def test_long_and_formula_ids_are_rejected_per_row_and_the_rest_is_written(study, instance):
    long_id = "S" * 1100
    body = f"subject,height\nDM001,1.80\n{long_id},1.70\n\"=cmd|' /C calc'!A0\",1.60\n@SUM(A1),1.5\nDM002,1.75\n"
    _clean(instance, study, "ids.csv", body)
    subjects = {s["subject"]: s for s in MetadataTable().subjects(STUDY)}
    assert sorted(subjects) == ["DM001", "DM002"]
    (message,) = drain_messages()
    assert message["kind"] == "metadata_rows_rejected"
    reasons = [r["reason"] for r in message["details"]["rejected_rows"]]
    assert reasons[0] == "subject id is 1,100 bytes; DynamoDB keys allow at most 1,024 (the subject sort key)"
    assert "'=cmd|' /C calc'!A0" in reasons[1] and "'@SUM(A1)" in reasons[2]


def test_a_file_of_many_bad_rows_sends_a_bounded_message_and_keeps_a_small_preview(study, instance):
    n = 100_000
    body = "subject,height\nDM001,1.8\n" + "".join(f'=HYPERLINK("http://x/{i}"),1.7\n' for i in range(n))
    result = _clean(instance, study, "huge.csv", body)
    (message,) = drain_messages()
    raw = json.dumps(message)
    assert len(raw) < 64 * 1024 < SQS_LIMIT
    assert message["details"]["counts"]["rejected_rows"] == n
    assert len(message["details"]["rejected_rows"]) == MAX_REPORTED_PROBLEMS
    # every problem is kept in S3, where the message points
    bucket, key = message["details"]["all_problems"].removeprefix("s3://").split("/", 1)
    stored = json.loads(aws_client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert len(stored["rejected_rows"]) == n
    (materialization,) = result.asset_materializations_for_node("subject_metadata")
    stored_metadata = json.dumps({k: str(v.value) for k, v in materialization.metadata.items()})
    assert len(stored_metadata) < 32 * 1024
    assert f"{n:,} row(s), the first 100 shown" in str(materialization.metadata["problems"].value)


@pytest.fixture
def throttled_writes() -> Iterator[None]:
    def throttle(**_kwargs: object) -> None:
        error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "injected"}}
        raise ClientError(error, "PutItem")

    events = aws_client("dynamodb").meta.events
    events.register("provide-client-params.dynamodb.PutItem", throttle, unique_id="throttle-metadata")
    yield
    events.unregister("provide-client-params.dynamodb.PutItem", unique_id="throttle-metadata")


def test_dynamodb_throttling_is_a_clear_retryable_failure_with_a_message(study, instance, throttled_writes):
    result = _clean(instance, study, "a.csv", "subject,height\nDM001,1.80\nDM002,1.70\n", ok=False)
    (message,) = drain_messages()
    assert message["kind"] == "processing_failed"
    assert message["reason"] == (
        "DynamoDB throttled writes to table 'biomarker-subject-metadata' (ProvisionedThroughputExceededException) "
        "after retries: 0 of 2 subject(s) written; the file can be retried as it is"
    )
    failures = [e for e in result.all_events if e.is_step_failure]
    user_failure = failures[0].step_failure_data.user_failure_data
    assert user_failure is not None and user_failure.description == message["reason"]
