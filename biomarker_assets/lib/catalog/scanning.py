"""Listing a study, the catalog table it produces, and what changed since the last one.

The catalog Parquet in S3 is the state the listing sensor diffs against: one GET
instead of one Dagster query per partition, and it is the table analysts read.
"""

from __future__ import annotations

import functools
import io
import json
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from biomarker_assets.lib.catalog.matching import classify, filename_fields
from biomarker_assets.lib.file_kinds import FILE_KINDS
from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.lib.study_config.loading import LoadedConfig
from biomarker_assets.lib.study_config.schema import StudyConfig

if TYPE_CHECKING:
    import pyarrow as pa

    from biomarker_assets.resources.study_store import StudyStore  # the resource is passed in; lib stays AWS-free

CATALOG_FOLDER = "_catalog"
# SQLite rejects statements with more than 32,766 variables; Dagster's partition insert uses one per key.
PARTITION_CHUNK = 10_000


@functools.cache
def catalog_schema() -> pa.Schema:
    """The catalog table's columns (Arrow is imported on use: the code location loads without it)."""
    import pyarrow as pa

    return pa.schema(
        [
            ("partition_key", pa.string()),
            ("kind", pa.string()),
            ("rule_index", pa.int32()),
            ("pipeline", pa.string()),
            ("bucket", pa.string()),
            ("key", pa.string()),
            ("size", pa.int64()),
            ("etag", pa.string()),
            ("last_modified", pa.timestamp("ms", tz="UTC")),
            ("subject", pa.string()),
            ("filename_fields", pa.string()),  # JSON object; null when the name does not match
        ]
    )


@dataclass(frozen=True)
class CatalogEntry:
    partition_key: str
    kind: str  # "data" or "metadata"
    rule_index: int
    pipeline: str | None
    bucket: str
    key: str
    size: int
    etag: str
    last_modified: datetime | None
    subject: str | None
    filename_fields: str | None

    @property
    def partitions_def_name(self) -> str:
        return FILE_KINDS[self.kind].partitions_def


def entry_for(
    config: StudyConfig, key: str, size: int, etag: str, last_modified: datetime | None
) -> CatalogEntry | None:
    """The catalog row for an object, or None when no rule of the config matches it."""
    match = classify(config, key)
    if match is None:
        return None
    fields = filename_fields(config, key) if match.kind == "data" else None
    return CatalogEntry(
        partition_key=file_partition_key(config.study, key),
        kind=match.kind,
        rule_index=match.rule_index,
        pipeline=getattr(match.rule, "pipeline", None),
        bucket=config.bucket,
        key=key,
        size=size,
        etag=etag.strip('"'),
        last_modified=last_modified,
        subject=(fields or {}).get("subject"),
        filename_fields=json.dumps(fields, sort_keys=True) if fields is not None else None,
    )


def list_prefix(
    config: StudyConfig, store: StudyStore, prefix: str, start_after: str | None = None, deadline: float = math.inf
) -> tuple[dict[str, CatalogEntry], int, str | None]:
    """Matched objects from ``start_after`` on, by key; stops after the first page past ``deadline``.

    Returns (entries, objects listed, last key listed, or None when the prefix was listed to its end).
    """
    entries: dict[str, CatalogEntry] = {}
    listed, last_key = 0, None
    for objects, more in store.list_pages(config.bucket, prefix, start_after):
        for obj in objects:
            entry = entry_for(config, obj["Key"], obj["Size"], obj["ETag"], obj["LastModified"])
            if entry is not None:
                entries[entry.key] = entry
        listed += len(objects)
        if objects:
            last_key = objects[-1]["Key"]
        if more and last_key is not None and time.monotonic() >= deadline:
            return entries, listed, last_key
    return entries, listed, None


def list_study(config: StudyConfig, store: StudyStore) -> tuple[dict[str, CatalogEntry], int]:
    """Matched objects under the study's prefixes by key, and how many objects were listed."""
    entries: dict[str, CatalogEntry] = {}
    listed = 0
    for prefix in config.prefixes:
        found, count, _ = list_prefix(config, store, prefix)
        entries.update(found)
        listed += count
    return entries, listed


def catalog_key(loaded: LoadedConfig) -> str:
    return f"{loaded.config.results_prefix}{CATALOG_FOLDER}/catalog.parquet"


def catalog_uri(loaded: LoadedConfig) -> str:
    return f"s3://{loaded.config.output_bucket}/{catalog_key(loaded)}"


def catalog_table(entries) -> pa.Table:
    """Catalog rows (any iterable of entries) as an Arrow table in key order."""
    ordered = sorted(entries, key=lambda entry: entry.key)
    # Column by column, not dataclasses.asdict per row: asdict deep-copies each row (about 20 us a file).
    import pyarrow as pa

    schema = catalog_schema()
    columns = {name: [getattr(entry, name) for entry in ordered] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)


def catalog_entries(table: pa.Table) -> dict[str, CatalogEntry]:
    return {row["key"]: CatalogEntry(**row) for row in table.to_pylist()}


def write_catalog_table(store: StudyStore, loaded: LoadedConfig, table: pa.Table) -> None:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    store.put_bytes(
        buffer.getvalue(), loaded.config.output_bucket, catalog_key(loaded), "application/vnd.apache.parquet"
    )


def write_catalog(store: StudyStore, loaded: LoadedConfig, entries: dict[str, CatalogEntry]) -> None:
    write_catalog_table(store, loaded, catalog_table(entries.values()))


def read_catalog_table(store: StudyStore, loaded: LoadedConfig) -> pa.Table:
    """The last catalog written for the study; an empty table when there is none yet."""
    import pyarrow.parquet as pq

    schema = catalog_schema()
    body = store.object_bytes(loaded.config.output_bucket, catalog_key(loaded))
    if body is None:
        return schema.empty_table()
    table = pq.read_table(io.BytesIO(body))
    if table.schema.names != schema.names:  # written by an older version: treat as new
        return schema.empty_table()
    return table.cast(schema)


@dataclass
class CatalogDiff:
    new: list[CatalogEntry] = field(default_factory=list)
    changed: list[CatalogEntry] = field(default_factory=list)
    removed: list[CatalogEntry] = field(default_factory=list)
    unchanged: int = 0

    @property
    def to_process(self) -> list[CatalogEntry]:
        return [*self.new, *self.changed]

    def extend(self, other: CatalogDiff) -> None:
        self.new += other.new
        self.changed += other.changed
        self.removed += other.removed
        self.unchanged += other.unchanged


def diff_catalogs(previous: dict[str, CatalogEntry], current: dict[str, CatalogEntry]) -> CatalogDiff:
    """A file is changed when its ETag differs, or when a config change moved it to another rule."""
    result = CatalogDiff()
    for key, entry in current.items():
        old = previous.get(key)
        if old is None:
            result.new.append(entry)
        elif (old.etag, old.kind, old.pipeline) != (entry.etag, entry.kind, entry.pipeline):
            result.changed.append(entry)
        else:
            result.unchanged += 1
    result.removed = [entry for key, entry in previous.items() if key not in current]
    return result


def chunks(keys: list[str], size: int = PARTITION_CHUNK):
    for start in range(0, len(keys), size):
        yield keys[start : start + size]
