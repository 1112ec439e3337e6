"""SQS notifications: the design's channel for everything a person must act on.

Message body (JSON, stable): ``kind``, ``study``, ``file`` (s3:// URI or null),
``reason`` (one sentence), ``time`` (UTC ISO 8601), ``details`` (object).

Sending never raises: the client retries transient errors (standard retry mode); a message SQS
still refuses is written to S3 under ``_undelivered_notices/`` and logged, so a failing queue
never loses a message nor replaces the error the message reports.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from dagster import ConfigurableResource

from biomarker_assets.lib.notices import encoded, fit_message
from biomarker_assets.resources.aws import aws_client

log = logging.getLogger(__name__)

UNDELIVERED_FOLDER = "_undelivered_notices/"
FULL_FOLDER = "_full_notices/"


class Kind(StrEnum):
    MISSING_CONFIG = "missing_config"
    INVALID_CONFIG = "invalid_config"
    MISSING_BUCKET = "missing_bucket"
    REQUIREMENT_UNMET = "requirement_unmet"
    PROCESSING_FAILED = "processing_failed"
    METADATA_ROWS_REJECTED = "metadata_rows_rejected"
    QC_FAILED = "qc_failed"


def make_message(kind: Kind, study: str | None, file: str | None, reason: str, **details: Any) -> dict[str, Any]:
    return {
        "kind": str(kind),
        "study": study,
        "file": file,
        "reason": reason,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "details": details,
    }


@dataclass
class Delivery:
    message: dict[str, Any]  # as sent (shortened when the full one was over SQS's limit)
    sent: bool  # on the queue
    stored_at: str | None = None  # s3:// URI of the undelivered message, when not sent


class Notifier(ConfigurableResource):
    """Sends one JSON message per problem to the notification queue."""

    queue_name: str = "biomarker-notifications"
    # Where undelivered and full-length messages go when the caller names no study results location.
    fallback_bucket: str = "biomarker-study-configs"
    fallback_prefix: str = ""

    def queue_url(self) -> str:
        return aws_client("sqs").get_queue_url(QueueName=self.queue_name)["QueueUrl"]

    def send(self, kind: Kind, study: str | None, file: str | None, reason: str, **details: Any) -> dict[str, Any]:
        """The message as sent; never raises (see :meth:`deliver`)."""
        return self.deliver(make_message(kind, study, file, reason, **details)).message

    def deliver(self, message: dict[str, Any], fallback: tuple[str, str] | None = None, logger: Any = None) -> Delivery:
        """Sends ``message`` (shortened to SQS's limit); else stores it in S3 and logs it. Never raises.

        ``fallback`` is (bucket, prefix) for the stored copies, e.g. the study's results location;
        ``logger`` (e.g. a Dagster context's ``log``) also gets the undelivered message, into the event log.
        """
        bucket, prefix = fallback or (self.fallback_bucket, self.fallback_prefix)
        name = f"{message['time'].replace(':', '')}-{message['kind']}-{uuid.uuid4().hex[:12]}.json"
        body = fit_message(message)
        if body is not message:  # over the limit: keep the whole message next to the results
            full_key = f"{prefix}{FULL_FOLDER}{name}"
            if self._store(encoded(message), bucket, full_key):
                body = fit_message(message, full_copy=f"s3://{bucket}/{full_key}")
        try:
            aws_client("sqs").send_message(QueueUrl=self.queue_url(), MessageBody=encoded(body).decode())
            return Delivery(body, sent=True)
        except Exception as exc:  # any failure to send (after the client's retries) goes to the fallback
            key = f"{prefix}{UNDELIVERED_FOLDER}{name}"
            stored = self._store(encoded({**message, "undelivered_because": repr(exc)}), bucket, key)
            where = f"s3://{bucket}/{key}" if stored else None
            text = (
                f"{message['kind']} message not delivered to SQS queue {self.queue_name!r} ({exc!r}); "
                f"{f'kept at {where}' if where else 'not stored either: it is only in this log'}: "
                f"{encoded(message).decode()}"
            )
            for sink in (log, logger) if logger is not None else (log,):
                sink.error(text)
            return Delivery(body, sent=False, stored_at=where)

    def _store(self, data: bytes, bucket: str, key: str) -> bool:
        try:
            aws_client("s3").put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/json")
            return True
        except Exception as exc:  # the caller falls back to the log
            log.error("could not store a notification at s3://%s/%s: %r", bucket, key, exc)
            return False
