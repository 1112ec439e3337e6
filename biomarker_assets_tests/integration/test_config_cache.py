"""Sensors read a study config once per version: an unchanged config costs one HEAD a tick, a changed
one is read and parsed at the next tick, an invalid one is reported once and not re-parsed.

Requests are counted at the project's boto3 client against the real moto server (aws_faults hooks).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
import yaml

from biomarker_assets.defs.catalog.events_sensor import study_files_events_sensor
from biomarker_assets.defs.catalog.listing_sensor import study_files_listing_sensor
from biomarker_assets.defs.partitions import data_files, studies
from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.lib.study_config.cache import PARSED_CONFIGS
from biomarker_assets.local.aws_standin import drain_messages
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.study_store import StudyStore
from biomarker_assets_tests.integration.test_sensors import upload_config
from biomarker_assets_tests.support.aws_faults import for_key, inject
from biomarker_assets_tests.support.sensor_ticks import tick

BUCKET = "cached-config-study"
STORE = StudyStore()
CONFIG_KEY = STORE.config_key("cached")
FIRST, SECOND = "raw/lumbar/first/", "raw/lumbar/second/"  # the config lists FIRST, then both
SECOND_FILE = f"{SECOND}DM002_V1_lumbar.npz"


@contextmanager
def config_requests() -> Iterator[dict[str, int]]:
    """Counts of GetObject and HeadObject requests for the study's config, as sent by the project's client."""
    counts = {"GetObject": 0, "HeadObject": 0}

    def counter(operation: str):
        def handler(request, **_: object) -> None:
            if for_key(CONFIG_KEY)(request):
                counts[operation] += 1

        return handler

    with ExitStack() as stack:
        for operation in counts:
            stack.enter_context(inject("s3", operation, counter(operation)))
        yield counts


@pytest.fixture
def study(aws, instance):
    PARSED_CONFIGS.clear()  # another test may have kept this very version (moto gives equal bytes equal ETags)
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    upload_config("cached", BUCKET, prefixes=[FIRST])
    instance.add_dynamic_partitions(studies.name, ["cached"])
    s3.put_object(Bucket=BUCKET, Key=f"{FIRST}DM001_V1_lumbar.npz", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key=SECOND_FILE, Body=b"y")
    return s3


def test_an_unchanged_config_is_not_read_again_and_a_changed_one_is_used_at_the_next_tick(study, instance):
    cursor = None
    with config_requests() as counts:
        for _ in range(3):
            _, _, cursor = tick(study_files_listing_sensor, instance, cursor)
            tick(study_files_events_sensor, instance)  # the other sensor of the code server shares the cache
        assert counts == {"GetObject": 1, "HeadObject": 6}
        assert instance.get_dynamic_partitions(data_files.name) == [
            file_partition_key("cached", f"{FIRST}DM001_V1_lumbar.npz")
        ]

        upload_config("cached", BUCKET, prefixes=[FIRST, SECOND])
        _, requests, cursor = tick(study_files_listing_sensor, instance, cursor)
        assert counts["GetObject"] == 2  # the new ETag is read, once
        new = file_partition_key("cached", SECOND_FILE)
        assert [r.partition_key for r in requests] == [new]  # the changed config's new prefix is listed
        _, requests, cursor = tick(study_files_listing_sensor, instance, cursor)
        assert requests == [] and counts["GetObject"] == 2
    assert PARSED_CONFIGS.hits >= 5


def test_an_invalid_new_config_is_reported_once_and_parsed_once_until_it_is_fixed(study, instance):
    _, _, cursor = tick(study_files_listing_sensor, instance)
    drain_messages()
    bad = yaml.safe_load(STORE.object_bytes(STORE.config_bucket, CONFIG_KEY) or b"")
    bad["prefixes"] = ["raw"]  # no trailing slash: invalid
    aws_client("s3").put_object(Bucket=STORE.config_bucket, Key=CONFIG_KEY, Body=yaml.safe_dump(bad).encode())
    with config_requests() as counts:
        for _ in range(3):
            _, requests, cursor = tick(study_files_listing_sensor, instance, cursor)
            assert requests == []
        assert counts == {"GetObject": 1, "HeadObject": 3}
    messages = drain_messages()
    assert [(m["kind"], m["study"]) for m in messages] == [("invalid_config", "cached")]
    assert any("prefixes" in e and "must end with '/'" in e for e in messages[0]["details"]["errors"])

    upload_config("cached", BUCKET, prefixes=[FIRST, SECOND])  # fixed
    _, requests, cursor = tick(study_files_listing_sensor, instance, cursor)
    assert [r.partition_key for r in requests] == [file_partition_key("cached", SECOND_FILE)]
    assert drain_messages() == []


def test_a_deleted_config_is_missing_at_the_next_tick_not_served_from_the_cache(study, instance):
    _, _, cursor = tick(study_files_listing_sensor, instance)
    drain_messages()
    aws_client("s3").delete_object(Bucket=STORE.config_bucket, Key=CONFIG_KEY)
    aws_client("s3").put_object(Bucket=BUCKET, Key=f"{FIRST}DM003_V1_lumbar.npz", Body=b"z")
    _, requests, cursor = tick(study_files_listing_sensor, instance, cursor)
    assert requests == []
    assert [(m["kind"], m["study"]) for m in drain_messages()] == [("missing_config", "cached")]
