"""The DynamoDB table of cleaned subject metadata, keyed by study and subject.

Items go through boto3's own ``TypeSerializer``/``TypeDeserializer`` and ``Table.batch_writer()``
(batches of 25, unprocessed items resent). The only conversions here are the ones DynamoDB's
types need: a float is stored as the decimal of its shortest repr (``1.88`` -> ``N "1.88"``, ``2.0`` ->
``N "2.0"``), and a number read back is an int when it has no decimal point, else a float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from dagster import ConfigurableResource

from biomarker_assets.resources.aws import aws_client, aws_resource

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item_value(value: Any) -> Any:
    """A subject field as boto3 stores it: bool, int and Decimal as they are, float as Decimal, the rest as text."""
    if isinstance(value, (bool, int, Decimal)):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    return str(value)


def from_item_value(value: Any) -> Any:
    """A value read back: a number written without a decimal point is an int, any other a float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    return value


def to_item(study: str, subject: dict[str, Any]) -> dict[str, Any]:
    """The item for one subject (None fields left out), in the resource API's Python form."""
    return {k: to_item_value(v) for k, v in {**subject, "study": study}.items() if v is not None}


def _from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_item_value(_deserializer.deserialize(v)) for k, v in item.items()}


class MetadataTable(ConfigurableResource):
    """Subjects live under partition key ``study`` and sort key ``subject``."""

    table_name: str = "biomarker-subject-metadata"

    def put_subjects(self, study: str, subjects: list[dict[str, Any]]) -> None:
        table = aws_resource("dynamodb").Table(self.table_name)
        with table.batch_writer() as batch:
            for subject in subjects:
                batch.put_item(Item=to_item(study, subject))

    def get_subject(self, study: str, subject: str) -> dict[str, Any] | None:
        key = {"study": _serializer.serialize(study), "subject": _serializer.serialize(subject)}
        item = aws_client("dynamodb").get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        return _from_attributes(item) if item else None

    def subjects(self, study: str) -> list[dict[str, Any]]:
        paginator = aws_client("dynamodb").get_paginator("query")
        items: list[dict[str, Any]] = []
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="study = :s",
            ExpressionAttributeValues={":s": _serializer.serialize(study)},
        ):
            items.extend(_from_attributes(item) for item in page["Items"])
        return items
