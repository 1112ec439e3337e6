"""New asset events from the instance's event log, all pages of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg


def new_records(fetch: Callable[..., Any], asset_key: dg.AssetKey, after: int) -> list[dg.EventLogRecord]:
    """Every record of ``asset_key`` after storage id ``after``, oldest first.

    ``fetch`` is ``instance.fetch_materializations`` or ``instance.fetch_observations``; one call
    returns at most ``limit`` records, so a sensor that fell behind pages until it has them all.
    """
    records: list[dg.EventLogRecord] = []
    cursor = None
    while True:
        result = fetch(
            dg.AssetRecordsFilter(asset_key=asset_key, after_storage_id=after),
            limit=1000,
            cursor=cursor,
            ascending=True,
        )
        records += result.records
        if not result.has_more:
            return records
        cursor = result.cursor
