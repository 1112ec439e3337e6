"""Fixtures: one real moto server for the session, reset between tests that need a clean slate."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from biomarker_assets.local.aws_standin import create_project_resources, drain_messages, moto_server
from biomarker_assets.local.demo import find_samples

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def samples() -> Path:
    return find_samples()


@pytest.fixture(scope="session")
def moto_url():
    with moto_server() as url:
        yield url


@pytest.fixture
def aws(moto_url):
    """A clean stand-in holding the project's config bucket, queue and table."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).read()
    create_project_resources()
    return moto_url


class _ImportRecorder:
    """A meta-path finder that records every import attempt and finds nothing."""

    def __init__(self):
        self.names: list[str] = []

    def find_spec(self, name, path=None, target=None):
        self.names.append(name)
        return None


@pytest.fixture
def record_imports(monkeypatch):
    """Call it to start recording: returns the list of every module name looked up from then on."""

    def start() -> list[str]:
        recorder = _ImportRecorder()
        monkeypatch.setattr(sys, "meta_path", [recorder, *sys.meta_path])
        return recorder.names

    return start


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def messages() -> list[dict]:
    return drain_messages()


def put_yaml(bucket: str, key: str, text: str) -> None:
    from biomarker_assets.resources.aws import aws_client

    aws_client("s3").put_object(Bucket=bucket, Key=key, Body=text.encode())


def dumps(obj) -> str:
    return json.dumps(obj, indent=1, default=str)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test is marked by its folder (unit/, integration/, e2e/), so ``-m unit`` selects a level."""
    for item in items:
        level = Path(str(item.path)).parent.name
        if level in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, level))
