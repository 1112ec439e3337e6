"""Files removed from a study: their partitions go, their results stay with the provenance marked."""

from __future__ import annotations

from collections import defaultdict

import dagster as dg

from biomarker_assets.lib.biomarkers.processing import mark_input_removed
from biomarker_assets.lib.catalog.scanning import CatalogEntry, chunks
from biomarker_assets.lib.study_config.loading import LoadedConfig
from biomarker_assets.resources.study_store import StudyStore


def removals(
    context: dg.SensorEvaluationContext, store: StudyStore, loaded: LoadedConfig, removed: list[CatalogEntry]
) -> list[dg.DeleteDynamicPartitionsRequest]:
    """Marks the provenance of the removed inputs' results; returns the requests deleting their partitions.

    Only registered partitions are deleted: a file added and removed between two ticks never was one.
    """
    for entry in removed:
        if entry.kind == "data" and entry.pipeline in loaded.config.pipelines:
            marked = mark_input_removed(store, loaded.config, entry.pipeline, entry.key)
            if marked:
                context.log.info(f"input of {marked} was removed; results kept, provenance marked")
    by_def: dict[str, list[str]] = defaultdict(list)
    for entry in removed:
        if context.instance.has_dynamic_partition(entry.partitions_def_name, entry.partition_key):
            by_def[entry.partitions_def_name].append(entry.partition_key)
    return [
        dg.DeleteDynamicPartitionsRequest(partitions_def_name=name, partition_keys=chunk)
        for name, keys in by_def.items()
        for chunk in chunks(keys)
    ]
