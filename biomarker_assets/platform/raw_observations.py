"""Asset events the file sensors report: raw files observed with their ETag, the catalog materialized.

The sensors do the catalog's work themselves (list, diff, write the Parquet), so they also tell Dagster,
or the UI would show raw files with no new version and a study's catalog as never materialized.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from biomarker_assets.lib.catalog.listing_pass import ListingStep
from biomarker_assets.lib.catalog.scanning import CatalogEntry, catalog_uri
from biomarker_assets.lib.file_kinds import FILE_KINDS
from biomarker_assets.lib.study_config.loading import LoadedConfig
from biomarker_assets.platform.dagster_private import DATA_VERSION_TAG

CATALOG_ASSET = dg.AssetKey("study_catalog")


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


def catalog_materializations(study: str, loaded: LoadedConfig, step: ListingStep) -> list[dg.AssetMaterialization]:
    """The study's ``study_catalog`` partition, materialized when a listing step rewrote its Parquet.

    One event per new catalog version, not per tick: a step that found nothing new reports nothing.
    """
    changes = step.changes
    if not (changes.new or changes.changed or changes.removed):
        return []
    return [
        dg.AssetMaterialization(
            asset_key=CATALOG_ASSET,
            partition=study,
            description="cataloged by study_files_listing_sensor",
            metadata={
                "catalog": dg.MetadataValue.path(catalog_uri(loaded)),
                "cataloged_files": step.cataloged,
                "new": len(changes.new),
                "changed": len(changes.changed),
                "removed": len(changes.removed),
                "pass_complete": step.complete,
                "config_digest": loaded.digest,
            },
        )
    ]
