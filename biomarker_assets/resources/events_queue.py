"""SQS queues of S3 event notifications, drained by the events sensor (studies in 'events' mode)."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from biomarker_assets.resources.aws import aws_client


class EventsQueue(ConfigurableResource):
    """Receives a tick's worth of S3 event messages and deletes them once their files are registered."""

    messages_per_tick: int = Field(default=2000, description="S3 event messages drained per tick and queue.")
    visibility_seconds: int = Field(
        default=300,
        description="Received messages stay invisible until the tick after the one that registered them "
        "deletes them; longer than a tick and its interval.",
    )

    def queue_url(self, queue_name: str) -> str:
        """Raises botocore's ClientError when there is no such queue."""
        return aws_client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]

    def receive(self, queue_url: str) -> list[dict]:
        """Up to ``messages_per_tick`` messages, without waiting for more (SQS returns 10 at most per call)."""
        sqs = aws_client("sqs")
        messages: list[dict] = []
        while len(messages) < self.messages_per_tick:
            batch = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=min(10, self.messages_per_tick - len(messages)),
                VisibilityTimeout=self.visibility_seconds,
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not batch:
                break
            messages += batch
        return messages

    def delete(self, queue_url: str, handles: list[str]) -> None:
        """Deleting an expired handle fails harmlessly: the message comes back and its run key dedupes it."""
        sqs = aws_client("sqs")
        for start in range(0, len(handles), 10):
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles[start : start + 10])],
            )
