"""One subject's item from every metadata file that names it: values agree, or the field is a conflict.

Each item keeps what each file said (``sources``: file URI -> its fields and ETag), and the
top-level fields (``height_m``, ...) only where every file agrees (at ``AGREEMENT_DECIMALS``).
Where files disagree the field is left out and ``conflicts`` says who said what, so a gait run
waits with that reason instead of using a guessed height; correcting or removing either file
re-resolves the item by itself. Plain data: the table resource reads and writes the items.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from biomarker_assets.lib.metadata.cleaning import RECORD_FIELD, agreement_value

FIELDS = tuple(RECORD_FIELD.values())


def sources_of(item: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """What each file said about the subject; an item written before ``sources`` existed counts as one file."""
    if not item:
        return {}
    if isinstance(item.get("sources"), Mapping):
        return {str(k): dict(v) for k, v in item["sources"].items()}
    if "source_file" in item:
        legacy = {f: item[f] for f in FIELDS if f in item}
        return {str(item["source_file"]): {**legacy, "etag": item.get("source_etag", "")}}
    return {}


def resolve(subject: str, sources: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The item for ``subject``: agreed fields, the sources, and ``conflicts`` (field -> who said what)."""
    item: dict[str, Any] = {"subject": subject, "sources": {k: dict(v) for k, v in sorted(sources.items())}}
    conflicts: dict[str, str] = {}
    for fld in FIELDS:
        said = [
            (source, value)
            for source, record in sorted(sources.items())
            if fld in record
            for value in (record[fld] if isinstance(record[fld], list) else [record[fld]])
        ]
        if not said:
            continue
        if len({agreement_value(fld, value) for _, value in said}) == 1:
            item[fld] = said[0][1]
        else:
            conflicts[fld] = "; ".join(f"{value} in {source}" for source, value in said)
    if conflicts:
        item["conflicts"] = conflicts
    latest = sorted(sources)[-1] if sources else None
    if latest is not None:
        item["source_file"] = latest
    return item


def merged_item(
    subject: str, existing: Mapping[str, Any] | None, source: str, record: Mapping[str, Any] | None, etag: str
) -> dict[str, Any] | None:
    """The subject's item once ``source`` says ``record`` (None: the file no longer names it); None: delete it."""
    sources = sources_of(existing)
    if record is None:
        sources.pop(source, None)
    else:
        sources[source] = {**{k: v for k, v in record.items() if k in FIELDS}, "etag": etag}
    return resolve(subject, sources) if sources else None


def same_item(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Equal apart from the bookkeeping attributes DynamoDB adds (``study``, ``revision``)."""
    strip = ("study", "revision", "source_etag")
    return {k: v for k, v in (a or {}).items() if k not in strip} == {
        k: v for k, v in (b or {}).items() if k not in strip
    }
