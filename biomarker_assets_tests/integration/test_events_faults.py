"""The events sensor under hostile messages and AWS faults injected at the client, against moto.

One bad message or object never blocks the other files; a deleted bucket is never read as removed files.
"""

from __future__ import annotations

import pytest

from biomarker_assets.defs.catalog.events_sensor import study_files_events_sensor
from biomarker_assets.defs.partitions import data_files, studies
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.events_queue import EventsQueue
from biomarker_assets_tests.integration.test_aws_faults import BUCKET, KEY, PARTITION, STUDY, upload_config
from biomarker_assets_tests.support.aws_faults import error_response, for_key, inject
from biomarker_assets_tests.support.sensor_ticks import sensor_resources, tick

EVENTS_QUEUE = "faults-s3-events"
EVENTS = sensor_resources(events_queue=EventsQueue(visibility_seconds=1))


@pytest.fixture
def events_study(aws, instance):
    s3, sqs = aws_client("s3"), aws_client("sqs")
    queue_url = sqs.create_queue(QueueName=EVENTS_QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for bucket in (BUCKET, "faults-other"):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]
            },
        )
    upload_config(discovery={"mode": "events", "events_queue": EVENTS_QUEUE})
    instance.add_dynamic_partitions(studies.name, [STUDY])
    return s3, queue_url


def queue_size(queue_url: str) -> int:
    attributes = aws_client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    return sum(int(v) for v in attributes["Attributes"].values())


def test_malformed_messages_and_a_forbidden_object_never_block_the_other_files(events_study, instance):
    s3, queue_url = events_study
    sqs = aws_client("sqs")
    for body in ["[1, 2]", '"text"', "null", '{"Records": "x"}', '{"Records": [42, {"s3": {"bucket": {"name": 7}}}]}']:
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    forbidden, good = "raw/lumbar/DM009_V1_lumbar.npz", KEY
    s3.put_object(Bucket=BUCKET, Key=forbidden, Body=b"x")
    s3.put_object(Bucket=BUCKET, Key=good, Body=b"y")

    def deny(request, **_):
        return error_response(request, 403, "AccessDenied") if for_key(forbidden)(request) else None

    with inject("s3", "HeadObject", deny):
        _, requests, cursor = tick(study_files_events_sensor, instance, None, EVENTS)
        assert [r.partition_key for r in requests] == [PARTITION]  # the good file, despite the others
        assert instance.get_dynamic_partitions(data_files.name) == [PARTITION]
        _, requests, cursor = tick(study_files_events_sensor, instance, cursor, EVENTS)
        _, requests, cursor = tick(study_files_events_sensor, instance, cursor, EVENTS)
    # the malformed and the good messages are deleted; the forbidden object's stays for retry and the DLQ
    [left] = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=0, WaitTimeSeconds=2).get("Messages", [])
    assert "DM009_V1_lumbar.npz" in left["Body"] and queue_size(queue_url) == 1
    assert instance.get_dynamic_partitions(data_files.name) == [PARTITION]


def test_a_deleted_bucket_is_not_a_removal_and_does_not_stop_the_sensor(events_study, instance):
    s3, queue_url = events_study
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"x")
    _, _, cursor = tick(study_files_events_sensor, instance, None, EVENTS)
    assert instance.get_dynamic_partitions(data_files.name) == [PARTITION]

    s3.delete_object(Bucket=BUCKET, Key=KEY)  # moto queues the ObjectRemoved event
    s3.delete_bucket(Bucket=BUCKET)  # the study's bucket, which is also its results bucket, is gone
    for _ in range(3):
        result, requests, cursor = tick(study_files_events_sensor, instance, cursor, EVENTS)
        assert requests == []
    assert instance.get_dynamic_partitions(data_files.name) == [PARTITION]  # not treated as removed


def test_a_removal_marks_nothing_when_the_separate_results_bucket_is_gone(events_study, instance):
    s3, _ = events_study
    upload_config(discovery={"mode": "events", "events_queue": EVENTS_QUEUE}, results_bucket="faults-other")
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"x")
    _, _, cursor = tick(study_files_events_sensor, instance, None, EVENTS)
    s3.delete_bucket(Bucket="faults-other")
    s3.delete_object(Bucket=BUCKET, Key=KEY)  # really removed, from a bucket that still exists
    tick(study_files_events_sensor, instance, cursor, EVENTS)
    assert instance.get_dynamic_partitions(data_files.name) == []  # a real removal is still one
