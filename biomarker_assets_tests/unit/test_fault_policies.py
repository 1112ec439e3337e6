"""Plain-Python fault policies: messages that fit SQS, hostile S3-event bodies, what counts as transient."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from biomarker_assets.lib.biomarkers.publishing import LATEST_FILE, pointer, publish
from biomarker_assets.lib.catalog.s3_events import latest_records
from biomarker_assets.lib.notices import SQS_MAX_BYTES, encoded, fit_message
from biomarker_assets.lib.provenance import InputRecord
from biomarker_assets.resources.aws import aws_client, is_transient
from biomarker_assets.resources.notifier import Kind, make_message


def test_a_message_over_the_sqs_limit_is_shortened_to_valid_json_that_counts_what_it_left_out():
    errors = [f"pipelines.gait.skdh.Steps.{i}.parameters: value {i} is not allowed here" for i in range(20_000)]
    message = make_message(Kind.INVALID_CONFIG, "s", "s3://c/studies/s.yaml", "20000 error(s)", errors=errors)
    assert len(encoded(message)) > SQS_MAX_BYTES

    short = fit_message(message, full_copy="s3://c/_full_notices/x.json")
    body = encoded(short)
    assert len(body) <= SQS_MAX_BYTES
    parsed = json.loads(body)
    kept = parsed["details"]["errors"]
    assert kept[:-1] == errors[: len(kept) - 1]  # the first errors, verbatim
    assert kept[-1] == f"... and {len(errors) - (len(kept) - 1)} more"
    assert parsed["details"]["truncated"] is True
    assert parsed["details"]["full_message"] == "s3://c/_full_notices/x.json"
    assert (parsed["kind"], parsed["study"], parsed["file"], parsed["reason"]) == (
        "invalid_config",
        "s",
        "s3://c/studies/s.yaml",
        "20000 error(s)",
    )


def test_a_huge_string_or_many_keys_still_fit_and_a_small_message_is_untouched():
    small = make_message(Kind.QC_FAILED, "s", "s3://b/k", "ok", checks=["a"])
    assert fit_message(small) is small
    long_reason = make_message(Kind.PROCESSING_FAILED, "s", "s3://b/k", "x" * 600_000)
    short = json.loads(encoded(fit_message(long_reason)))
    assert short["reason"].startswith("x" * 200) and short["reason"].endswith("more characters)")
    many_keys = make_message(
        Kind.METADATA_ROWS_REJECTED, "s", "s3://b/k", "rows", **{f"row{i}": i for i in range(40_000)}
    )
    fitted = fit_message(many_keys)
    assert len(encoded(fitted)) <= SQS_MAX_BYTES and fitted["details"] == {"truncated": True}


def _s3_event(key: str, handle: str, bucket: str = "b") -> dict:
    record = {"s3": {"bucket": {"name": bucket}, "object": {"key": key, "sequencer": "0A"}}}
    return {"Body": json.dumps({"Records": [record]}), "ReceiptHandle": handle}


@pytest.mark.parametrize(
    "body",
    [
        "[1, 2]",  # valid JSON, not an object
        '"text"',
        "42",
        "null",
        '{"Records": "not a list"}',
        '{"Records": [42, null, {"s3": []}, {"s3": {"bucket": {"name": 7}, "object": {"key": "k"}}}]}',
        '{"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": ["k"], "sequencer": 5}}}]}',
        "[" * 100_000,  # too deep for the JSON parser's recursion
        None,  # no body at all
    ],
)
def test_any_malformed_s3_event_message_is_dropped_with_a_warning_and_the_good_ones_kept(body):
    warnings: list[str] = []
    sources: dict[tuple[str, str], list[str]] = {}
    hostile = {"ReceiptHandle": "bad"} if body is None else {"Body": body, "ReceiptHandle": "bad"}
    latest = latest_records([hostile, _s3_event("raw/a.npz", "good")], warnings.append, sources)
    assert list(latest) == [("b", "raw/a.npz")]
    assert sources == {("b", "raw/a.npz"): ["good"]}
    assert warnings and all(w.startswith("dropping") for w in warnings)


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")


def test_transient_means_what_botocore_standard_mode_retries():
    assert is_transient(_client_error("InternalError", 500))
    assert is_transient(_client_error("SlowDown", 503))
    assert is_transient(_client_error("ProvisionedThroughputExceededException", 400))
    assert is_transient(EndpointConnectionError(endpoint_url="https://sqs"))
    assert is_transient(ReadTimeoutError(endpoint_url="https://s3"))
    try:  # a cause counts too: an error raised while handling a throttle
        try:
            raise _client_error("Throttling", 400)
        except ClientError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError as wrapped:
        assert is_transient(wrapped)
    assert not is_transient(_client_error("AccessDenied", 403))
    assert not is_transient(_client_error("NoSuchKey", 404))
    assert not is_transient(ValueError("a bad file"))


def test_clients_use_standard_retries_unless_the_environment_says_otherwise(monkeypatch):
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert aws_client("s3").meta.config.retries == {"mode": "standard", "total_max_attempts": 5}
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    assert aws_client("sqs").meta.config.retries == {"mode": "adaptive", "total_max_attempts": 3}


class _Bucket:
    """An in-memory bucket with S3's conditional-write rule: a write names the ETag it read (or none)."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.writes = 0

    def object_with_etag(self, bucket: str, key: str) -> tuple[bytes, str] | None:
        return self.objects.get(key)

    def put_bytes_if(self, data: bytes, bucket: str, key: str, content_type: str, etag: str | None) -> bool:
        current = self.objects.get(key)
        if (current[1] if current else None) != etag:
            return False
        self.writes += 1
        self.objects[key] = (data, f'"{self.writes}"')
        return True


def _input(etag: str) -> InputRecord:
    return InputRecord(uri="s3://b/k", bucket="b", key="k", etag=etag, size=1, sha256="0" * 64)


def test_an_older_run_that_loses_the_race_for_latest_json_ends_superseded():
    store, v1, v2 = _Bucket(), _input("e1"), _input("e2")
    newer = pointer("b", "p/k/d2/", "d2", v2)
    heads = iter([{"ETag": '"e1"'}, {"ETag": '"e2"'}])  # v2 arrives between our first HEAD and our write

    def head_now() -> dict:
        head = next(heads)
        if head["ETag"] == '"e1"':  # the newer run publishes right after we read the (absent) pointer
            assert publish(store, "b", "p/k/", newer, v2, lambda: {"ETag": '"e2"'}).published
        return head

    outcome = publish(store, "b", "p/k/", pointer("b", "p/k/d1/", "d1", v1), v1, head_now)
    assert not outcome.published and outcome.latest == newer and "changed while this run processed it" in outcome.reason
    assert json.loads(store.objects["p/k/" + LATEST_FILE][0]) == newer and store.writes == 1


def test_republishing_the_same_version_writes_nothing_and_a_removed_input_publishes_nothing():
    store, v1 = _Bucket(), _input("e1")
    mine = pointer("b", "p/k/d1/", "d1", v1)
    assert publish(store, "b", "p/k/", mine, v1, lambda: {"ETag": '"e1"'}).published
    assert publish(store, "b", "p/k/", mine, v1, lambda: {"ETag": '"e1"'}).published and store.writes == 1
    assert not publish(store, "b", "p/k/", pointer("b", "p/k/d9/", "d9", v1), v1, lambda: None).published
