"""The sensors' plain-Python policies (lib/catalog), without AWS or a Dagster instance."""

from __future__ import annotations

import json

from biomarker_assets.lib.catalog.problem_notices import first_notice
from biomarker_assets.lib.catalog.run_keys import configs_run_key, files_backfill_id
from biomarker_assets.lib.catalog.s3_events import latest_records
from biomarker_assets.lib.study_config.loading import ConfigError, ConfigNotFound


def _message(key: str, sequencer: str, bucket: str = "b") -> dict:
    record = {"s3": {"bucket": {"name": bucket}, "object": {"key": key, "sequencer": sequencer}}}
    return {"Body": json.dumps({"Records": [record]})}


def test_latest_event_per_object_by_sequencer_whatever_the_arrival_order():
    warnings: list[str] = []
    messages = [
        _message("raw/a+b.npz", "0B"),  # newest, arrives first; '+' is a space in S3 event keys
        {"Body": json.dumps({"Event": "s3:TestEvent"})},
        _message("raw/a+b.npz", "00000000000000000A"),  # older, though longer
        {"Body": "not json"},
        {"Body": json.dumps({"Records": [{"s3": {}}]})},
    ]
    latest = latest_records(messages, warnings.append)
    assert list(latest) == [("b", "raw/a b.npz")]
    assert latest[("b", "raw/a b.npz")]["s3"]["object"]["sequencer"] == "0B"
    assert len(warnings) == 2  # the unreadable body and the record without bucket/key


def test_a_problem_is_noticed_once_until_it_changes():
    notified: dict[str, str] = {}
    missing = ConfigNotFound("no study config s3://configs/studies/a.yaml")
    first = first_notice(notified, "a", missing)
    assert first is not None and first.kind == "missing_config"
    assert first_notice(notified, "a", missing) is None
    invalid = first_notice(notified, "a", ConfigError("a.yaml", ["study: required", "bucket: required"]))
    assert invalid is not None
    assert (invalid.kind, invalid.reason) == ("invalid_config", "2 error(s) in the study config")
    assert invalid.details == {"errors": ["study: required", "bucket: required"], "error_count": 2}
    bucket = first_notice(notified, "a", LookupError("bucket x does not exist"))
    assert bucket is not None and bucket.kind == "missing_bucket"


def test_keys_and_ids_depend_on_content_not_order_of_configs():
    assert configs_run_key({"a": "1", "b": "2"}) == configs_run_key({"b": "2", "a": "1"})
    assert configs_run_key({"a": "1"}) != configs_run_key({"a": "2"})
    assert len(files_backfill_id([("s/k", "e")])) == 16
