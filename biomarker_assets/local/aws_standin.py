"""The embedded AWS stand-in: moto's server on 127.0.0.1, plus the project's resources in it.

Runs in a thread for tests and the demo; `biomarker-assets local-aws` runs it as a
process for `dagster dev`. Everything talks to it through ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from biomarker_assets.resources.aws import aws_client

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_server(port: int | None = None) -> Iterator[str]:
    """Start moto on a free loopback port; yields its URL with ``AWS_ENDPOINT_URL`` pointing at it."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # the production image has no moto: it is the `local` extra
        raise SystemExit(
            "the local AWS stand-in needs moto: pip install -e '.[local]' (or 'biomarker-assets[local]')"
        ) from exc

    port = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in [*FAKE_CREDENTIALS, "AWS_ENDPOINT_URL"]}
    os.environ.update(FAKE_CREDENTIALS)
    os.environ["AWS_ENDPOINT_URL"] = url
    try:
        yield url
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def print_exports_and_wait(last_line: str) -> None:
    """What another shell needs to reach the stand-in, then block until Ctrl-C."""
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        print(f"  export {key}={os.environ[key]}")
    print(last_line)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


@dataclass(frozen=True)
class ProjectNames:
    config_bucket: str
    config_prefix: str
    queue: str
    table: str


def project_names() -> ProjectNames:
    """The names the code location will use: its resource bindings, resolved now (class defaults unless overridden)."""
    from biomarker_assets.defs.resources import metadata_table, notifier, study_store

    store = study_store().process_config_and_initialize()
    return ProjectNames(
        config_bucket=store.config_bucket,
        config_prefix=store.config_prefix,
        queue=notifier().process_config_and_initialize().queue_name,
        table=metadata_table().process_config_and_initialize().table_name,
    )


def create_project_resources() -> dict[str, str]:
    """The config bucket, notification queue and metadata table the code location expects."""
    names = project_names()
    s3, sqs, dynamodb = aws_client("s3"), aws_client("sqs"), aws_client("dynamodb")
    s3.create_bucket(Bucket=names.config_bucket)
    # versioned as in the stack: provenance records the config's VersionId and `reproduce` fetches it
    s3.put_bucket_versioning(Bucket=names.config_bucket, VersioningConfiguration={"Status": "Enabled"})
    queue_url = sqs.create_queue(QueueName=names.queue)["QueueUrl"]
    dynamodb.create_table(
        TableName=names.table,
        KeySchema=[{"AttributeName": "study", "KeyType": "HASH"}, {"AttributeName": "subject", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "study", "AttributeType": "S"},
            {"AttributeName": "subject", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return {"config_bucket": names.config_bucket, "queue_url": queue_url, "table": names.table}


def drain_messages(queue_url: str | None = None) -> list[dict]:
    """Every message on the notification queue (deleting them), as parsed JSON."""
    import json

    sqs = aws_client("sqs")
    queue_url = queue_url or sqs.get_queue_url(QueueName=project_names().queue)["QueueUrl"]
    messages: list[dict] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
