"""A study config added or changed: re-validate the configs (and register new studies)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from biomarker_assets.defs.configs.jobs import configs_job
from biomarker_assets.lib.catalog.run_keys import configs_run_key
from biomarker_assets.platform.sensor_cursor import SensorCursor
from biomarker_assets.platform.sensor_interval import SENSOR_INTERVAL_S
from biomarker_assets.resources.study_store import StudyStore


class ConfigsCursor(SensorCursor):
    config_etags: dict[str, str] = Field(default_factory=dict)  # config key -> ETag


@dg.sensor(
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    job=configs_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-validates study configs (and registers new studies) when a config file changes.",
)
def study_configs_sensor(
    context: dg.SensorEvaluationContext, study_store: StudyStore
) -> dg.SensorResult | dg.SkipReason:
    cursor = ConfigsCursor.load(context.cursor)
    current = {
        o["Key"]: o["ETag"] for o in study_store.list_objects(study_store.config_bucket, study_store.config_prefix)
    }
    if current == cursor.config_etags:
        return dg.SkipReason("no study config changed")
    cursor.config_etags = current
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=configs_run_key(current))], cursor=cursor.dump())
