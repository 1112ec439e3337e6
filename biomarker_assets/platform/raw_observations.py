"""Observations of new or changed raw files, carrying their ETag as the data version."""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from biomarker_assets.lib.catalog.scanning import CatalogEntry
from biomarker_assets.lib.file_kinds import FILE_KINDS
from biomarker_assets.platform.dagster_private import DATA_VERSION_TAG


def raw_observations(entries: Iterable[CatalogEntry]) -> list[dg.AssetObservation]:
    """A changed object gets a new data version, so its downstream shows stale in the UI."""
    return [
        dg.AssetObservation(
            asset_key=FILE_KINDS[e.kind].raw_asset,
            partition=e.partition_key,
            metadata={"etag": e.etag, "size": e.size},
            tags={DATA_VERSION_TAG: e.etag},
        )
        for e in entries
    ]
