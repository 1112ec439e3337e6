"""The clients every asset, check and sensor uses, bound once for the whole code location.

This is the one place that names the deployment's environment variables. A field whose variable is
set is bound to ``dg.EnvVar`` (the UI shows where the value comes from; Dagster resolves it at launch);
when the variable is unset the resource class's own default applies, so the defaults live on the classes.
Code outside a run (the run launcher, the local stand-in) calls e.g.
``study_store().process_config_and_initialize()`` for the same values, resolved now.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

import dagster as dg

from biomarker_assets.platform.executor import one_step_in_process_executor
from biomarker_assets.resources.discovery_tuning import DiscoveryTuning
from biomarker_assets.resources.events_queue import EventsQueue
from biomarker_assets.resources.metadata_table import MetadataTable
from biomarker_assets.resources.notifier import Notifier
from biomarker_assets.resources.processing_options import ProcessingOptions
from biomarker_assets.resources.study_store import StudyStore

R = TypeVar("R", bound=dg.ConfigurableResource)


def from_env(resource: type[R], **variables: str) -> R:
    """``resource`` with each ``field=VARIABLE`` that is set (even to "") bound to ``dg.EnvVar``; int fields
    get ``dg.EnvVar.int``. Checked when the definitions load: an unset variable leaves the class default."""
    fields: dict[str, Any] = {}
    for field, variable in variables.items():
        if variable in os.environ:
            annotation = resource.model_fields[field].annotation
            if annotation is bool:  # Dagster has no boolean EnvVar: read when the definitions load
                fields[field] = os.environ[variable].strip().lower() not in ("0", "false", "no", "")
            else:
                fields[field] = dg.EnvVar.int(variable) if annotation is int else dg.EnvVar(variable)
    return resource(**fields)


def study_store() -> StudyStore:
    return from_env(StudyStore, config_bucket="BIOMARKER_CONFIG_BUCKET", config_prefix="BIOMARKER_CONFIG_PREFIX")


def notifier() -> Notifier:
    # undeliverable messages without a study (sensors, config checks) are kept in the config bucket
    return from_env(Notifier, queue_name="BIOMARKER_NOTIFICATION_QUEUE", fallback_bucket="BIOMARKER_CONFIG_BUCKET")


def metadata_table() -> MetadataTable:
    return from_env(MetadataTable, table_name="BIOMARKER_METADATA_TABLE")


def events_queue() -> EventsQueue:
    return from_env(
        EventsQueue, messages_per_tick="BIOMARKER_EVENTS_PER_TICK", visibility_seconds="BIOMARKER_EVENTS_VISIBILITY"
    )


def discovery_tuning() -> DiscoveryTuning:
    return from_env(
        DiscoveryTuning,
        backfill_threshold="BIOMARKER_BACKFILL_THRESHOLD",
        listing_tick_seconds="BIOMARKER_LISTING_TICK_SECONDS",
    )


def processing_options() -> ProcessingOptions:
    return from_env(ProcessingOptions, image="BIOMARKER_IMAGE", embed_plots="BIOMARKER_EMBED_PLOTS")


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        executor=one_step_in_process_executor,  # every job, and asset backfills' runs: one step runs in-process
        resources={
            "study_store": study_store(),
            "notifier": notifier(),
            "metadata_table": metadata_table(),
            "events_queue": events_queue(),
            "discovery_tuning": discovery_tuning(),
            "processing_options": processing_options(),
        },
    )
