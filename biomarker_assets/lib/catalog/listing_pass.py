"""A listing of a study split across sensor ticks, so no tick outlives Dagster's sensor timeout.

A *pass* lists every prefix of the study in S3's key order. A tick lists pages until its
deadline, then diffs just the key range it listed, ``(start_after, last key]`` of one prefix,
against the same range of the catalog, so new and changed files in that range are processed
at once and files missing from it are removed. The catalog in S3 is rewritten with that range
replaced; the pass resumes next tick from the last key (``StartAfter``, which unlike a
continuation token never expires). Keys sort the same way in S3, Arrow and Python (UTF-8
byte order = code point order), so a range means the same thing to all three.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel

from biomarker_assets.lib.catalog.scanning import (
    CatalogDiff,
    catalog_entries,
    catalog_table,
    diff_catalogs,
    list_prefix,
    read_catalog_table,
    write_catalog_table,
)
from biomarker_assets.lib.study_config.loading import LoadedConfig

if TYPE_CHECKING:
    import pyarrow as pa

    from biomarker_assets.resources.study_store import StudyStore  # the resource is passed in; lib stays AWS-free


class ListingProgress(BaseModel):
    """Where an unfinished pass resumes; kept in the sensor's cursor."""

    prefixes: list[str]  # the pass restarts when the config's prefixes change
    prefix_index: int = 0
    start_after: str | None = None
    listed: int = 0  # objects listed so far in this pass
    ticks: int = 0
    started_at: float  # epoch seconds


@dataclass
class ListingStep:
    changes: CatalogDiff
    listed: int  # objects listed in this step
    progress: ListingProgress  # the pass so far, including this step
    complete: bool  # the pass reached the end of the last prefix
    cataloged: int  # rows in the catalog after this step


def _in_range(keys: pa.ChunkedArray, prefix: str, after: str | None, until: str | None) -> pa.ChunkedArray:
    import pyarrow as pa
    import pyarrow.compute as pc

    mask = pc.starts_with(keys, pattern=prefix)
    if after is not None:
        mask = pc.and_(mask, pc.greater(keys, pa.scalar(after)))
    if until is not None:
        mask = pc.and_(mask, pc.less_equal(keys, pa.scalar(until)))
    return mask


def _outside_prefixes(keys: pa.ChunkedArray, prefixes: list[str]) -> pa.ChunkedArray:
    import pyarrow.compute as pc

    inside = pc.starts_with(keys, pattern=prefixes[0])
    for prefix in prefixes[1:]:
        inside = pc.or_(inside, pc.starts_with(keys, pattern=prefix))
    return pc.invert(inside)


def listing_step(
    loaded: LoadedConfig, store: StudyStore, progress: ListingProgress | None, deadline: float
) -> ListingStep:
    """List from where the pass stopped until ``deadline`` (at least one page), diff, update the catalog."""
    import pyarrow as pa  # on use: the code location loads without Arrow
    import pyarrow.compute as pc

    prefixes = list(loaded.config.prefixes)
    if progress is None or progress.prefixes != prefixes:
        progress = ListingProgress(prefixes=prefixes, started_at=time.time())
    else:
        progress = progress.model_copy(deep=True)
    progress.ticks += 1
    table = read_catalog_table(store, loaded)
    changes, listed, dirty, complete = CatalogDiff(), 0, False, False
    while True:
        prefix = prefixes[progress.prefix_index]
        current, count, last_key = list_prefix(loaded.config, store, prefix, progress.start_after, deadline)
        listed += count
        in_range = _in_range(table.column("key"), prefix, progress.start_after, last_key)
        diff = diff_catalogs(catalog_entries(table.filter(in_range)), current)
        if diff.new or diff.changed or diff.removed:
            table = pa.concat_tables([table.filter(pc.invert(in_range)), catalog_table(current.values())])
            dirty = True
        changes.extend(diff)
        if last_key is not None:  # the deadline came first: resume after this key
            progress.start_after = last_key
            break
        progress.prefix_index, progress.start_after = progress.prefix_index + 1, None
        if progress.prefix_index == len(prefixes):
            complete = True
            break
        if time.monotonic() >= deadline:
            break
    progress.listed += listed
    if complete and table.num_rows:
        # rows under a prefix the config no longer lists
        outside = _outside_prefixes(table.column("key"), prefixes)
        gone = table.filter(outside)
        if gone.num_rows:
            changes.removed += list(catalog_entries(gone).values())
            table = table.filter(pc.invert(outside))
            dirty = True
    if dirty:
        write_catalog_table(store, loaded, table.sort_by("key"))
    return ListingStep(changes=changes, listed=listed, progress=progress, complete=complete, cataloged=table.num_rows)
