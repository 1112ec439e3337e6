"""The one provenance record type: what went in, which code ran, what came out.

It is written as JSON next to the results and mirrored in the Dagster
materialization metadata, so a regulator can trace any output from either side.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

PROVENANCE_FILE = "provenance.json"
SCHEMA_VERSION = 1


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class InputRecord(BaseModel):
    uri: str
    bucket: str | None = None
    key: str
    version_id: str | None = None
    etag: str | None = None
    size: int
    sha256: str


class CodeRecord(BaseModel):
    project_version: str
    skdh_version: str
    pipeline_name: str
    pipeline_version: str
    pipeline_digest: str
    project_processes: list[str] = Field(default_factory=list, description="Project SKDH processes and their notes.")
    image: str
    dagster_run_id: str | None = None


class OutputRecord(BaseModel):
    uri: str
    sha256: str
    size: int


class ProvenanceRecord(BaseModel):
    schema_version: int = SCHEMA_VERSION
    study: str
    partition_key: str | None = None
    input: InputRecord
    config_source: str
    config_digest: str
    subject: dict[str, Any] = Field(default_factory=dict, description="Subject fields the pipeline was given.")
    code: CodeRecord
    outputs: list[OutputRecord] = Field(default_factory=list)
    started_at: str
    finished_at: str | None = None
    input_removed_at: str | None = Field(
        default=None, description="Set when the input object was deleted after these results were computed."
    )

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    def dagster_metadata(self) -> dict[str, Any]:
        """Flat, typed values for the materialization page."""
        return {
            "input_uri": self.input.uri,
            "input_etag": self.input.etag or "",
            "input_version_id": self.input.version_id or "",
            "input_size": self.input.size,
            "input_sha256": self.input.sha256,
            "config_digest": self.config_digest,
            "skdh_version": self.code.skdh_version,
            "pipeline": f"{self.code.pipeline_name} {self.code.pipeline_version}",
            "pipeline_digest": self.code.pipeline_digest,
            "image": self.code.image,
            "project_version": self.code.project_version,
        }
