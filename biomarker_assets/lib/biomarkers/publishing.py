"""Results are published per version: a complete, immutable folder first, then one pointer to it.

Layout under a file's results prefix (``<results_prefix><pipeline>/<version>-<digest>/<key>/``):

- ``<data version>/``: the tables, ``summary_rows.parquet``, ``headline.json``, the plot and, written
  last, ``provenance.json``. Never overwritten by another input version, so a run killed mid-upload
  leaves a folder without provenance beside the intact previous one.
- ``latest.json``: which folder is current, with the input version it was made from. Written last,
  by compare-and-swap, and only while that input version is still the object's current one: an
  older version's run cannot publish over a newer one, it ends ``superseded``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from biomarker_assets.lib.provenance import InputRecord

LATEST_FILE = "latest.json"
PUBLISH_ATTEMPTS = 10  # compare-and-swap retries; each lost race means another run published meanwhile


class PublishStore(Protocol):
    """What publishing reads and writes through (the ``StudyStore`` resource)."""

    def object_with_etag(self, bucket: str, key: str) -> tuple[bytes, str] | None: ...

    def put_bytes_if(self, data: bytes, bucket: str, key: str, content_type: str, etag: str | None) -> bool: ...


def version_prefix(file_prefix: str, data_version: str) -> str:
    return f"{file_prefix}{data_version}/"


def same_version(record: InputRecord, head: dict | None) -> bool:
    """Whether ``head`` (S3's HEAD of the input now) serves the bytes ``record`` names.

    Compared by ETag, not VersionId: re-uploading the same bytes makes a new version with the
    same content, which the sensors' run keys (``<partition>@<ETag>``) rightly do not re-request.
    """
    return head is not None and bool(record.etag) and record.etag == str(head.get("ETag", "")).strip('"')


def pointer(bucket: str, folder: str, data_version: str, input_record: InputRecord) -> dict[str, Any]:
    """The ``latest.json`` body: no times or run ids, so republishing the same version rewrites nothing."""
    return {
        "data_version": data_version,
        "results": f"s3://{bucket}/{folder}",
        "provenance": f"s3://{bucket}/{folder}provenance.json",
        "input": {"uri": input_record.uri, "version_id": input_record.version_id, "etag": input_record.etag},
    }


@dataclass
class Outcome:
    published: bool
    latest: dict[str, Any] | None  # the pointer now in S3 (this run's when published)
    reason: str = ""


def publish(
    store: PublishStore,
    bucket: str,
    file_prefix: str,
    new: dict[str, Any],
    input_record: InputRecord,
    head_now: Any,
) -> Outcome:
    """Points ``latest.json`` at ``new`` unless the input changed since it was read; never over a newer version.

    Order matters: read the pointer, then HEAD the input, then write if the pointer is unchanged.
    A newer run's pointer written before our read is seen by our HEAD (S3 reads are consistent
    after writes); one written after our read makes our conditional write fail, and we look again.
    """
    key = file_prefix + LATEST_FILE
    for _ in range(PUBLISH_ATTEMPTS):
        found = store.object_with_etag(bucket, key)
        latest, etag = (json.loads(found[0]), found[1]) if found else (None, None)
        head = head_now()
        if not same_version(input_record, head):
            now = "removed" if head is None else f"now ETag {str(head.get('ETag', '')).strip(chr(34))}"
            return Outcome(False, latest, f"{input_record.uri} changed while this run processed it ({now})")
        if latest == new:
            return Outcome(True, latest)
        body = (json.dumps(new, indent=1, sort_keys=True) + "\n").encode()
        if store.put_bytes_if(body, bucket, key, "application/json", etag):
            return Outcome(True, new)
    raise RuntimeError(f"s3://{bucket}/{key} kept changing during {PUBLISH_ATTEMPTS} attempts to publish")
