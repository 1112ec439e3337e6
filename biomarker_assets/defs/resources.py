"""The clients every asset, check and sensor uses, bound once for the whole code location."""

import os

import dagster as dg

from biomarker_assets.resources.discovery_tuning import DiscoveryTuning
from biomarker_assets.resources.events_queue import EventsQueue
from biomarker_assets.resources.metadata_table import MetadataTable
from biomarker_assets.resources.notifier import Notifier
from biomarker_assets.resources.study_store import StudyStore


def _ints_from_env(**variables: str) -> dict[str, int]:
    """Fields (field -> variable) whose variable is set, as ``dg.EnvVar.int``: resolved at launch and shown
    in the UI; a field whose variable is unset keeps the class default."""
    return {field: dg.EnvVar.int(name) for field, name in variables.items() if name in os.environ}


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "study_store": StudyStore(),
            "notifier": Notifier(),
            "metadata_table": MetadataTable(),
            "events_queue": EventsQueue(
                **_ints_from_env(
                    messages_per_tick="BIOMARKER_EVENTS_PER_TICK", visibility_seconds="BIOMARKER_EVENTS_VISIBILITY"
                )
            ),
            "discovery_tuning": DiscoveryTuning(
                **_ints_from_env(
                    backfill_threshold="BIOMARKER_BACKFILL_THRESHOLD",
                    listing_tick_seconds="BIOMARKER_LISTING_TICK_SECONDS",
                )
            ),
        }
    )
