"""SQS notifications: the design's channel for everything a person must act on.

Message body (JSON, stable): ``kind``, ``study``, ``file`` (s3:// URI or null),
``reason`` (one sentence), ``time`` (UTC ISO 8601), ``details`` (object).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from dagster import ConfigurableResource

from biomarker_assets.resources.aws import aws_client


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


class Notifier(ConfigurableResource):
    """Sends one JSON message per problem to the notification queue."""

    queue_name: str = "biomarker-notifications"

    def queue_url(self) -> str:
        return aws_client("sqs").get_queue_url(QueueName=self.queue_name)["QueueUrl"]

    def send(self, kind: Kind, study: str | None, file: str | None, reason: str, **details: Any) -> dict[str, Any]:
        message = make_message(kind, study, file, reason, **details)
        aws_client("sqs").send_message(QueueUrl=self.queue_url(), MessageBody=json.dumps(message, default=str))
        return message
