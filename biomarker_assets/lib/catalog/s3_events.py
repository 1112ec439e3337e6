"""S3 event notifications read from SQS message bodies: the newest event per object, and its study.

Events arrive duplicated and out of order; only the newest per object (by S3's ``sequencer``)
is kept, and the sensor then reads the object's state now, so order and duplicates stop mattering.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from urllib.parse import unquote_plus

from biomarker_assets.lib.study_config.loading import LoadedConfig


def sequencer(record: dict) -> str:
    """S3's per-key event order: hex strings compared after left-padding to one length."""
    return record.get("s3", {}).get("object", {}).get("sequencer", "").rjust(32, "0")


def latest_records(messages: Iterable[dict], warn: Callable[[str], object]) -> dict[tuple[str, str], dict]:
    """The newest event per (bucket, key); test events and unreadable bodies are dropped (and deleted)."""
    latest: dict[tuple[str, str], dict] = {}
    for message in messages:
        try:
            body = json.loads(message["Body"])
        except json.JSONDecodeError:
            warn(f"dropping a message that is not JSON: {message['Body'][:200]!r}")
            continue
        if body.get("Event") == "s3:TestEvent":
            continue
        for record in body.get("Records", []):
            try:
                obj = (record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"]))
            except (KeyError, TypeError):
                warn(f"dropping an S3 event without bucket/key: {record!r:.200}")
                continue
            if obj not in latest or sequencer(record) >= sequencer(latest[obj]):
                latest[obj] = record
    return latest


def owning_config(configs: Iterable[LoadedConfig], bucket: str, key: str) -> LoadedConfig | None:
    """The study whose bucket and prefixes hold the object (studies may share a queue)."""
    return next(
        (c for c in configs if c.config.bucket == bucket and any(key.startswith(p) for p in c.config.prefixes)),
        None,
    )
