"""The DynamoDB table of cleaned subject metadata, keyed by study and subject.

Items go through boto3's own ``TypeSerializer``/``TypeDeserializer`` and ``Table.batch_writer()``
(batches of 25, unprocessed items resent). The only conversions here are the ones DynamoDB's
types need: a float is stored as the decimal of its shortest repr (``1.88`` -> ``N "1.88"``, ``2.0`` ->
``N "2.0"``), and a number read back is an int when it has no decimal point, else a float.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from dagster import ConfigurableResource

from biomarker_assets.lib.metadata.merging import merged_item, same_item, sources_of
from biomarker_assets.resources.aws import aws_client, aws_resource

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item_value(value: Any) -> Any:
    """A subject field as boto3 stores it: bool, int and Decimal as they are, float as Decimal, maps and lists
    converted inside, the rest as text."""
    if isinstance(value, (bool, int, Decimal)):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {str(k): to_item_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_item_value(v) for v in value]
    return str(value)


def from_item_value(value: Any) -> Any:
    """A value read back: a number written without a decimal point is an int, any other a float (also inside)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    if isinstance(value, dict):
        return {k: from_item_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_item_value(v) for v in value]
    return value


def to_item(study: str, subject: dict[str, Any]) -> dict[str, Any]:
    """The item for one subject (None fields left out), in the resource API's Python form."""
    return {k: to_item_value(v) for k, v in {**subject, "study": study}.items() if v is not None}


def _from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_item_value(_deserializer.deserialize(v)) for k, v in item.items()}


_THROTTLED = ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded")


class MetadataThrottled(RuntimeError):
    """DynamoDB kept throttling after botocore's retries; ``written`` of ``total`` subjects were stored."""

    def __init__(self, table: str, written: int, total: int, code: str) -> None:
        self.written, self.total, self.code = written, total, code
        super().__init__(
            f"DynamoDB throttled writes to table {table!r} ({code}) after retries: "
            f"{written} of {total} subject(s) written; the file can be retried as it is"
        )


@dataclass
class MergeOutcome:
    written: int = 0  # items put (new or changed)
    deleted: int = 0  # items whose last source no longer names the subject
    conflicts: dict[str, dict[str, str]] = field(default_factory=dict)  # subject -> field -> who said what


class MetadataTable(ConfigurableResource):
    """Subjects live under partition key ``study`` and sort key ``subject``."""

    table_name: str = "biomarker-subject-metadata"

    def put_subjects(self, study: str, subjects: list[dict[str, Any]]) -> None:
        table = aws_resource("dynamodb").Table(self.table_name)
        with table.batch_writer() as batch:
            for subject in subjects:
                batch.put_item(Item=to_item(study, subject))

    def merge_source(
        self, study: str, source: str, etag: str, records: list[dict[str, Any]], attempts: int = 5
    ) -> MergeOutcome:
        """Store what file ``source`` says about each subject, resolved against the other files (``merging.py``).

        Each write is conditional on the item's ``revision``, so two metadata files of one study cleaned
        at once cannot lose each other's values: a lost race re-reads the item and merges again.
        """
        by_subject = {r["subject"]: r for r in records}
        try:
            existing = {s["subject"]: s for s in self.subjects(study)}
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _THROTTLED:
                raise MetadataThrottled(self.table_name, 0, len(by_subject), code) from exc
            raise
        touched = sorted(set(by_subject) | {s for s, item in existing.items() if source in sources_of(item)})
        outcome = MergeOutcome()
        for subject in touched:
            try:
                item = self._merge_one(
                    study, subject, existing.get(subject), source, etag, by_subject.get(subject), attempts
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in _THROTTLED:
                    raise MetadataThrottled(self.table_name, outcome.written, len(touched), code) from exc
                raise
            if item is None:
                outcome.deleted += subject in existing
            else:
                outcome.written += not same_item(existing.get(subject), item)
                if item.get("conflicts"):
                    outcome.conflicts[subject] = item["conflicts"]
        return outcome

    def _merge_one(
        self, study: str, subject: str, old: dict | None, source: str, etag: str, record: dict | None, attempts: int
    ) -> dict[str, Any] | None:
        client = aws_client("dynamodb")
        for _ in range(attempts):
            new = merged_item(subject, old, source, record, etag)
            if same_item(old, new):
                return new
            revision = (old or {}).get("revision")
            condition = (
                {"ConditionExpression": "attribute_not_exists(subject)"}
                if old is None
                else {"ConditionExpression": "attribute_not_exists(revision)"}
                if revision is None
                else {"ConditionExpression": "revision = :r", "ExpressionAttributeValues": {":r": {"N": str(revision)}}}
            )
            try:
                if new is None:
                    key = {"study": {"S": study}, "subject": {"S": subject}}
                    client.delete_item(TableName=self.table_name, Key=key, **condition)
                else:
                    item = to_item(study, {**new, "revision": int(revision or 0) + 1})
                    attributes = {k: _serializer.serialize(v) for k, v in item.items()}
                    client.put_item(TableName=self.table_name, Item=attributes, **condition)
                return new
            except client.exceptions.ConditionalCheckFailedException:
                old = self.get_subject(study, subject)  # another file's run wrote it meanwhile: merge again
        raise RuntimeError(f"subject {subject!r} of study {study!r} kept changing during {attempts} attempts")

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
