"""S3 event notifications read from SQS message bodies: the newest event per object, and its study.

Events arrive duplicated and out of order; only the newest per object (by S3's ``sequencer``)
is kept, and the sensor then reads the object's state now, so order and duplicates stop mattering.
A message anyone could have put on the queue is hostile input: whatever its shape, it is dropped
with a warning and never stops the other messages.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_plus

from biomarker_assets.lib.study_config.loading import LoadedConfig

S3Object = tuple[str, str]  # (bucket, key)


def sequencer(record: dict) -> str:
    """S3's per-key event order: hex strings compared after left-padding to one length."""
    value = _path(record, "s3", "object", "sequencer")
    return (value if isinstance(value, str) else "").rjust(32, "0")


def _path(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _records(body: Any, warn: Callable[[str], object]) -> list[tuple[S3Object, dict]]:
    """The (object, record) pairs of one message body; anything malformed is warned about and left out."""
    try:
        parsed = json.loads(body)
    except (json.JSONDecodeError, TypeError, RecursionError):
        warn(f"dropping a message that is not JSON: {body[:200]!r}" if isinstance(body, str) else "dropping a message")
        return []
    if not isinstance(parsed, dict):
        warn(f"dropping a message that is not a JSON object: {body[:200]!r}")
        return []
    if parsed.get("Event") == "s3:TestEvent":
        return []
    records = parsed.get("Records", [])
    if not isinstance(records, list):
        warn(f"dropping a message whose Records is not a list: {body[:200]!r}")
        return []
    found = []
    for record in records:
        bucket, key = _path(record, "s3", "bucket", "name"), _path(record, "s3", "object", "key")
        if not (isinstance(bucket, str) and isinstance(key, str) and bucket and key):
            warn(f"dropping an S3 event without bucket/key: {record!r:.200}")
            continue
        found.append(((bucket, unquote_plus(key)), record))
    return found


def latest_records(
    messages: Iterable[dict], warn: Callable[[str], object], sources: dict[S3Object, list[str]] | None = None
) -> dict[S3Object, dict]:
    """The newest event per (bucket, key); test events and unreadable bodies are dropped (and deleted).

    ``sources``, when given, collects the receipt handles of the messages that named each object,
    so a message whose object could not be checked is left on the queue (retried, then dead-lettered).
    """
    latest: dict[S3Object, dict] = {}
    named: dict[S3Object, list[str]] = defaultdict(list) if sources is None else sources
    for message in messages:
        for obj, record in _records(message.get("Body"), warn):
            if "ReceiptHandle" in message:
                named.setdefault(obj, []).append(message["ReceiptHandle"])
            if obj not in latest or sequencer(record) >= sequencer(latest[obj]):
                latest[obj] = record
    return latest


def owning_config(configs: Iterable[LoadedConfig], bucket: str, key: str) -> LoadedConfig | None:
    """The study whose bucket and prefixes hold the object (studies may share a queue)."""
    return next(
        (c for c in configs if c.config.bucket == bucket and any(key.startswith(p) for p in c.config.prefixes)),
        None,
    )
