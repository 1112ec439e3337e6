"""The one provenance record type: what went in, which code ran, what came out.

It is written as JSON next to the results and mirrored in the Dagster
materialization metadata, so a regulator can trace any output from either side.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

PROVENANCE_FILE = "provenance.json"
SCHEMA_VERSION = 2
#: set in the container (the stack/deploy resolves the image URI to its digest); recorded when present
IMAGE_DIGEST_ENV = "BIOMARKER_IMAGE_DIGEST"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def image_digest(image: str) -> str | None:
    """The run's image digest, where there is one.

    In order: ``BIOMARKER_IMAGE_DIGEST`` (set by whoever resolved the image), the digest an
    ``...@sha256:`` image URI names (stage and prod deploy by digest), and on ECS the container's
    ``ImageID`` from the task metadata endpoint v4 (``ECS_CONTAINER_METADATA_URI_V4``).
    """
    digest = os.environ.get(IMAGE_DIGEST_ENV)
    if digest:
        return digest
    if "@sha256:" in image:
        return image.split("@", 1)[1]
    metadata_uri = os.environ.get("ECS_CONTAINER_METADATA_URI_V4")
    if not metadata_uri:
        return None
    try:
        with urllib.request.urlopen(metadata_uri, timeout=2) as response:  # the task's own local endpoint
            image_id = json.load(response).get("ImageID")
    except (OSError, ValueError, AttributeError):
        return None  # provenance then says there was none; never fail a run over it
    return image_id if isinstance(image_id, str) and image_id.startswith("sha256:") else None


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


class ConfigRecord(BaseModel):
    """Which config was read, exactly: its S3 version when it came from S3, and its bytes."""

    uri: str
    bucket: str | None = None
    key: str | None = None
    version_id: str | None = None
    etag: str | None = None
    sha256: str
    text: str = Field(description="The config file as read (UTF-8): a copy that cannot change.")


class Correction(BaseModel):
    """A project process that replaces or fixes SKDH behaviour, with what it fixes."""

    process: str
    note: str


class SamplingRecord(BaseModel):
    """Rates of the signal the reader returned, before any resampling (what the sampling_rate QC compares)."""

    nominal_fs: float | None = Field(None, description="Rate the file declares (header), as the reader reports it.")
    measured_fs: float | None = Field(None, description="Samples per second of the read timestamps (gaps > 1 s out).")
    n_samples: int | None = None
    units: dict[str, str] = Field(
        default_factory=dict,
        description="Unit of each signal as the analysis steps receive it (gyro_in_file: as the file held it).",
    )


class CodeRecord(BaseModel):
    project_version: str
    skdh_version: str
    pipeline_name: str
    pipeline_version: str
    pipeline_digest: str
    project_processes: list[str] = Field(default_factory=list, description="Project SKDH processes and their notes.")
    resolved_pipeline: list[dict[str, Any]] = Field(
        default_factory=list, description="Every step with every parameter, SKDH's defaults filled in."
    )
    corrections: list[Correction] = Field(default_factory=list)
    packages: dict[str, str | None] = Field(
        default_factory=dict, description="Versions of every package that can change a number."
    )
    python_version: str | None = None
    image: str
    image_digest: str | None = None
    dagster_run_id: str | None = None


class OutputRecord(BaseModel):
    uri: str = Field(description="Where the output was published (a file name until it is uploaded).")
    sha256: str
    size: int

    @property
    def name(self) -> str:
        """The file name the pipeline wrote, whatever folder it was published under."""
        return self.uri.rstrip("/").rsplit("/", 1)[-1]


class ProvenanceRecord(BaseModel):
    schema_version: int = SCHEMA_VERSION
    study: str
    partition_key: str | None = None
    input: InputRecord
    config_source: str
    config_digest: str
    config: ConfigRecord | None = None
    subject: dict[str, Any] = Field(default_factory=dict, description="Subject fields the pipeline was given.")
    file_fields: dict[str, str] = Field(default_factory=dict, description="Fields extracted from the file name.")
    time_zone: str | None = Field(None, description="IANA zone of the day windows; None: the device's naive clock.")
    sampling: SamplingRecord | None = None
    code: CodeRecord
    outputs: list[OutputRecord] = Field(default_factory=list)
    execution: dict[str, Any] | None = Field(
        None, description='How the file ran: {"mode": "day_pieces", ...} or {"mode": "whole_file", "reason": ...}.'
    )
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
            "config_version_id": (self.config.version_id if self.config else None) or "",
            "time_zone": self.time_zone or "device clock (naive)",
            "skdh_version": self.code.skdh_version,
            "pipeline": f"{self.code.pipeline_name} {self.code.pipeline_version}",
            "pipeline_digest": self.code.pipeline_digest,
            "image": self.code.image,
            "image_digest": self.code.image_digest or "",
            "packages": ", ".join(f"{k} {v}" for k, v in self.code.packages.items() if v),
            "project_version": self.code.project_version,
        }
