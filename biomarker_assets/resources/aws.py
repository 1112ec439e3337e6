"""The one way this project makes an AWS client.

boto3 reads the standard ``AWS_ENDPOINT_URL`` (and per-service variants) itself,
so the same code talks to moto locally and to AWS in production; nothing here
passes an endpoint explicitly.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

DEFAULT_REGION = "us-east-1"
DEFAULT_MAX_ATTEMPTS = 5  # botocore's standard mode: exponential backoff with jitter, throttling and 5xx retried


def region_name() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def retry_settings() -> tuple[str, int]:
    """(mode, total attempts): ``AWS_RETRY_MODE``/``AWS_MAX_ATTEMPTS`` (or the AWS config file) when set.

    Otherwise botocore's standard mode with 5 attempts, so a 500, a throttle or a dropped connection
    is retried with backoff instead of failing a file for good.
    """
    session = botocore.session.get_session()
    mode = session.get_config_variable("retry_mode") or "standard"
    attempts = session.get_config_variable("max_attempts") or DEFAULT_MAX_ATTEMPTS
    return str(mode), int(attempts)


def _config() -> Config:
    mode, attempts = retry_settings()
    return Config(retries={"mode": mode, "total_max_attempts": attempts})


@cache
def _client(service: str, region: str, endpoint: str | None, retry_env: tuple[str | None, str | None]) -> Any:
    # endpoint and retries are part of the cache key only so a changed environment gets a new client
    del endpoint, retry_env
    return boto3.session.Session().client(service, region_name=region, config=_config())


def aws_client(service: str, region: str | None = None) -> Any:
    """A cached boto3 client for ``service`` (s3, sqs, dynamodb, ecs, ...)."""
    return _client(service, region or region_name(), os.environ.get("AWS_ENDPOINT_URL"), _retry_env())


def _retry_env() -> tuple[str | None, str | None]:
    return os.environ.get("AWS_RETRY_MODE"), os.environ.get("AWS_MAX_ATTEMPTS")


def aws_resource(service: str, region: str | None = None) -> Any:
    """A new boto3 resource (e.g. DynamoDB's ``Table`` with its ``batch_writer``), same settings as the clients.

    Not cached: boto3 resources are not thread-safe, so each caller gets its own.
    """
    return boto3.session.Session().resource(service, region_name=region or region_name(), config=_config())


def is_transient(exc: BaseException) -> bool:
    """Whether botocore's standard retry mode would retry ``exc`` (or what caused it): worth a later attempt.

    Throttling, 5xx, timeouts and dropped connections are; a 403, a missing key or a bad file are not.
    """
    from types import SimpleNamespace

    from botocore.exceptions import ClientError
    from botocore.retries.standard import RetryContext, ThrottledRetryableChecker, TransientRetryableChecker
    from s3transfer.exceptions import RetriesExceededError
    from s3transfer.utils import S3_RETRYABLE_DOWNLOAD_ERRORS

    checkers = (TransientRetryableChecker(), ThrottledRetryableChecker())
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ClientError):
            status = seen.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            context = RetryContext(1, parsed_response=seen.response, http_response=SimpleNamespace(status_code=status))
        elif isinstance(seen, RetriesExceededError):
            seen = seen.last_exception
            continue
        else:
            context = RetryContext(1, caught_exception=seen)
        if isinstance(seen, S3_RETRYABLE_DOWNLOAD_ERRORS) or any(c.is_retryable(context) for c in checkers):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
