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
from botocore.config import Config

DEFAULT_REGION = "us-east-1"


def region_name() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def _config() -> Config:
    return Config(retries={"max_attempts": 5, "mode": "standard"})


@cache
def _client(service: str, region: str, endpoint: str | None) -> Any:
    # endpoint is part of the cache key only so a changed AWS_ENDPOINT_URL gets a new client
    del endpoint
    return boto3.session.Session().client(service, region_name=region, config=_config())


def aws_client(service: str, region: str | None = None) -> Any:
    """A cached boto3 client for ``service`` (s3, sqs, dynamodb, ecs, ...)."""
    return _client(service, region or region_name(), os.environ.get("AWS_ENDPOINT_URL"))


def aws_resource(service: str, region: str | None = None) -> Any:
    """A new boto3 resource (e.g. DynamoDB's ``Table`` with its ``batch_writer``), same settings as the clients.

    Not cached: boto3 resources are not thread-safe, so each caller gets its own.
    """
    return boto3.session.Session().resource(service, region_name=region or region_name(), config=_config())
