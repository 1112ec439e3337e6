"""Cursors stored before the sensors were split still work: a deployed instance keeps its cursors.

Until then every sensor stored one model holding the fields of all five; each sensor's own
cursor type now reads such a cursor, keeps its own fields and drops the others.
"""

from __future__ import annotations

import json
from typing import Any

import dagster as dg

from biomarker_assets.defs.biomarkers.waiting_files_sensor import Waiting, WaitingCursor, waiting_files_sensor
from biomarker_assets.defs.catalog.events_sensor import EventsCursor, study_files_events_sensor
from biomarker_assets.defs.catalog.listing_sensor import ListingCursor, study_files_listing_sensor
from biomarker_assets.defs.configs.study_configs_sensor import ConfigsCursor, study_configs_sensor
from biomarker_assets.defs.summary.summary_sensor import SummaryCursor, study_summary_sensor
from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets_tests.integration.test_sensors import BUCKET, study  # noqa: F401 (study is a fixture)
from biomarker_assets_tests.support.sensor_ticks import tick

WAITING_KEY = "sensed/raw/lumbar/DM003_V1_lumbar.npz"
RESUME_AFTER = "raw/lumbar/DM001_V1_lumbar.npz"
# What the combined cursor dumped (its model_dump_json), with every field set.
OLD: dict[str, Any] = {
    "problems": {"no-config": "no study config s3://biomarker-study-configs/studies/no-config.yaml"},
    "config_etags": {"studies/sensed.yaml": '"e1"'},
    "pending_deletes": {"http://localhost/123456789012/sensed-s3-events": ["handle-1"]},
    "after_observation": 11,
    "after_materialization": 12,
    "after_metadata": 13,
    "after_biomarkers": 14,
    "waiting": {WAITING_KEY: {"subject": "DM003", "fields": ["height"]}},
    "listing": {
        "sensed": {
            "prefixes": ["raw/"],
            "prefix_index": 0,
            "start_after": RESUME_AFTER,
            "listed": 2,
            "ticks": 1,
            "started_at": 1767225600.0,
        }
    },
    "listing_next": "sensed",
}


def test_an_old_combined_cursor_loads_into_each_sensors_cursor():
    raw = json.dumps(OLD)
    listing = ListingCursor.load(raw)
    assert listing.problems == OLD["problems"] and listing.listing_next == "sensed"
    assert listing.listing["sensed"].model_dump() == OLD["listing"]["sensed"]
    assert ConfigsCursor.load(raw).config_etags == OLD["config_etags"]
    assert EventsCursor.load(raw).pending_deletes == OLD["pending_deletes"]
    waiting = WaitingCursor.load(raw)
    assert (waiting.after_observation, waiting.after_materialization, waiting.after_metadata) == (11, 12, 13)
    assert waiting.waiting == {WAITING_KEY: Waiting(subject="DM003", fields=["height"])}
    assert SummaryCursor.load(raw).after_biomarkers == 14
    # from the next tick on, each stores only its own fields
    assert json.loads(SummaryCursor.load(raw).dump()) == {"after_biomarkers": 14}
    assert set(json.loads(ListingCursor.load(raw).dump())) == {"problems", "listing", "listing_next"}


def test_every_sensor_ticks_from_an_old_combined_cursor(study, instance):  # noqa: F811 (the fixture, imported)
    for name in ("DM000", "DM002"):  # before and after where the stored listing pass stands
        study.put_object(Bucket=BUCKET, Key=f"raw/lumbar/{name}_V1_lumbar.npz", Body=b"x")
    raw = json.dumps({**OLD, "pending_deletes": {}})  # no receipt handles of a queue this test has

    _, requests, cursor = tick(study_files_listing_sensor, instance, raw)
    assert cursor is not None
    # the stored pass resumed after RESUME_AFTER (a new pass would have found DM000 too)
    assert [r.partition_key for r in requests] == [file_partition_key("sensed", "raw/lumbar/DM002_V1_lumbar.npz")]
    assert json.loads(cursor)["listing"] == {} and json.loads(cursor)["problems"] == OLD["problems"]

    _, requests, _ = tick(study_configs_sensor, instance, raw)
    assert len(requests) == 1  # the stored ETags are not the configs' now
    result, _, _ = tick(study_summary_sensor, instance, raw)
    assert isinstance(result, dg.SkipReason)  # nothing materialized after storage id 14
    _, requests, cursor = tick(waiting_files_sensor, instance, raw)
    assert cursor is not None
    assert requests == [] and WAITING_KEY in json.loads(cursor)["waiting"]
    _, requests, cursor = tick(study_files_events_sensor, instance, raw)
    assert cursor is not None
    assert requests == [] and json.loads(cursor) == {"pending_deletes": {}}
