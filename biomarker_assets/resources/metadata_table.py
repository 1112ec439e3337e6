"""The DynamoDB table of cleaned subject metadata, keyed by study and subject."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dagster import ConfigurableResource

from biomarker_assets import settings
from biomarker_assets.resources.aws import aws_client


def _to_dynamo(value: Any) -> dict:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float, Decimal)):
        return {"N": str(value)}
    return {"S": str(value)}


def _from_dynamo(attr: dict) -> Any:
    ((kind, value),) = attr.items()
    if kind == "N":
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() and "." not in value else float(number)
    if kind == "BOOL":
        return value
    return value


class MetadataTable(ConfigurableResource):
    """Subjects live under partition key ``study`` and sort key ``subject``."""

    table_name: str = settings.METADATA_TABLE

    def put_subjects(self, study: str, subjects: list[dict[str, Any]]) -> None:
        client = aws_client("dynamodb")
        for start in range(0, len(subjects), 25):
            batch = [
                {"PutRequest": {"Item": {k: _to_dynamo(v) for k, v in {**s, "study": study}.items() if v is not None}}}
                for s in subjects[start : start + 25]
            ]
            pending = {self.table_name: batch}
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    def get_subject(self, study: str, subject: str) -> dict[str, Any] | None:
        item = (
            aws_client("dynamodb")
            .get_item(
                TableName=self.table_name,
                Key={"study": {"S": study}, "subject": {"S": subject}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        return {k: _from_dynamo(v) for k, v in item.items()} if item else None

    def subjects(self, study: str) -> list[dict[str, Any]]:
        paginator = aws_client("dynamodb").get_paginator("query")
        items: list[dict[str, Any]] = []
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="study = :s",
            ExpressionAttributeValues={":s": {"S": study}},
        ):
            items.extend({k: _from_dynamo(v) for k, v in item.items()} for item in page["Items"])
        return items
