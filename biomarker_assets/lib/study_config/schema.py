"""The study configuration: one YAML file per study, validated before anything runs.

Every field a study team can get wrong is checked here, so a bad file fails with
its path in the document rather than deep inside a run.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from biomarker_assets.lib.partition_keys import STUDY_ID_PATTERN

# Subject fields the metadata cleaner produces; requirements may name any of them.
SUBJECT_FIELDS = ("height", "weight", "sex", "age")

# A batch run's event log, run config and launch-time HEADs grow with its files; 500 keeps each well under a minute.
MAX_FILES_PER_RUN = 500

_BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"

StudyId = Annotated[str, StringConstraints(pattern=STUDY_ID_PATTERN)]
BucketName = Annotated[str, StringConstraints(pattern=_BUCKET_PATTERN)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FilePattern(_Strict):
    """Which keys a rule applies to: a glob (``**`` crosses folders) or a regex, on the full key."""

    glob: str | None = None
    regex: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> FilePattern:
        if (self.glob is None) == (self.regex is None):
            raise ValueError("give exactly one of 'glob' or 'regex'")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex does not compile: {exc}") from exc
        return self


class FileNameRule(_Strict):
    """Fields extracted from a data file's name: the logistics requirements."""

    pattern: str = Field(description="Regex with named groups, matched against the file's base name.")
    required_fields: list[str] = Field(default_factory=lambda: ["subject"])

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"regex does not compile: {exc}") from exc
        if not compiled.groupindex:
            raise ValueError("regex has no named groups, e.g. (?P<subject>...)")
        return value

    @model_validator(mode="after")
    def _fields_are_groups(self) -> FileNameRule:
        groups = set(re.compile(self.pattern).groupindex)
        missing = [f for f in self.required_fields if f not in groups]
        if missing:
            raise ValueError(f"required_fields {missing} are not named groups of pattern {sorted(groups)}")
        if "subject" not in groups:
            raise ValueError("pattern must have a named group 'subject'")
        return self


class MetadataFiles(_Strict):
    """Subject metadata files (CSV/XLSX) and how to clean them."""

    match: FilePattern
    format: Literal["csv", "xlsx"] | None = Field(default=None, description="Default: from the extension.")
    columns: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Extra column-name aliases per subject field (subject, height, weight, sex, age).",
    )
    height_unit: Literal["auto", "m", "cm", "in"] = "auto"

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - {"subject", *SUBJECT_FIELDS})
        if unknown:
            raise ValueError(f"unknown subject fields {unknown}; known: subject, {', '.join(SUBJECT_FIELDS)}")
        return value


class QualityChecks(_Strict):
    """Per-file QC, shown as asset checks on file_biomarkers; a failure sends one SQS message."""

    min_wear_hours: float | None = Field(default=None, ge=0, description="Fail below this many worn hours.")
    expected_fs: float | None = Field(
        default=None,
        gt=0,
        description="Expected sampling rate (Hz) of the file. Compared with the rate measured from the timestamps "
        "the reader returns, before any resampling (not the header's nominal rate, which is recorded beside it).",
    )
    fs_tolerance: float = Field(default=0.05, ge=0, le=1, description="Relative tolerance on expected_fs.")


class PipelineConfig(_Strict):
    """An SKDH pipeline (SKDH's own saved-pipeline structure) and what it needs to run."""

    version: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]
    skdh: dict[str, Any] = Field(description="SKDH saved pipeline: {'Steps': [...], 'Version': ...}.")
    requires: list[Literal["height", "weight", "sex", "age"]] = Field(
        default_factory=list,
        description="Subject fields that must be in the metadata table; passed to the pipeline as inputs.",
    )
    qc: QualityChecks = Field(default_factory=QualityChecks)

    @field_validator("skdh")
    @classmethod
    def _safe_pipeline(cls, value: dict[str, Any]) -> dict[str, Any]:
        from biomarker_assets.lib.skdh.validation import validate_pipeline_spec

        problems = validate_pipeline_spec(value)
        if problems:
            raise ValueError("; ".join(problems))
        return value


class DataFiles(_Strict):
    """Sensor files and the pipeline that processes them."""

    match: FilePattern
    pipeline: str


class Discovery(_Strict):
    """How new, changed and removed files are noticed."""

    mode: Literal["listing", "events"] = Field(
        default="listing",
        description="listing: a sensor lists the prefixes each tick; events: a sensor drains S3 event "
        "notifications from events_queue, so a tick costs O(new events), not O(files).",
    )
    events_queue: str | None = Field(default=None, description="SQS queue that receives the bucket's S3 events.")

    @model_validator(mode="after")
    def _queue_for_events(self) -> Discovery:
        if self.mode == "events" and not self.events_queue:
            raise ValueError("mode 'events' needs events_queue (the SQS queue the bucket notifies)")
        return self


class StudyConfig(_Strict):
    """One study: where its files are, what they are, and how to process them."""

    study: StudyId
    description: str = ""
    bucket: BucketName = Field(description="Bucket holding the study's files.")
    prefixes: list[str] = Field(min_length=1, description="Key prefixes to catalog, e.g. 'raw/'.")
    results_bucket: BucketName | None = Field(default=None, description="Default: the study bucket.")
    results_prefix: str = "results/"
    time_zone: str | None = Field(
        default=None,
        description="IANA time zone of the study's recordings (e.g. Europe/London), passed to SKDH as tz_name: "
        "device clocks are read as local time in it and day windows follow its wall clock across DST changes. "
        "None: the device's naive clock (SKDH warns on every file).",
    )
    discovery: Discovery = Field(default_factory=Discovery)
    filename: FileNameRule
    metadata_files: list[MetadataFiles] = Field(default_factory=list)
    data_files: list[DataFiles] = Field(min_length=1)
    pipelines: dict[Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$")], PipelineConfig] = Field(
        min_length=1
    )
    max_run_memory_mib: int = Field(
        default=30720,
        ge=1024,
        le=122880,
        description="Largest Fargate task memory (MiB) a file of this study may get; a file whose estimated "
        "need is larger is refused (processing_failed) without being read. Default: a 4-vCPU task's 30 GiB.",
    )
    files_per_run: int = Field(
        default=1,
        ge=1,
        le=MAX_FILES_PER_RUN,
        description="Data files processed by one run (one Fargate task) when the sensors, the waiting-files "
        "sensor or backfill_study request them: 1 is a run per file; more share one task start and one "
        "run-worker start among that many files (job file_biomarkers_batch_job). Each file keeps its own "
        "results, provenance, status and checks; a bad file never fails the others.",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"time_zone {value!r} is not an IANA time zone name (e.g. Europe/London)") from exc
        return value

    @field_validator("prefixes", "results_prefix")
    @classmethod
    def _prefix_form(cls, value: Any) -> Any:
        for prefix in [value] if isinstance(value, str) else value:
            if prefix.startswith("/"):
                raise ValueError(f"prefix {prefix!r} must not start with '/'")
            if prefix and not prefix.endswith("/"):
                raise ValueError(f"prefix {prefix!r} must end with '/'")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> StudyConfig:
        for i, rule in enumerate(self.data_files):
            if rule.pipeline not in self.pipelines:
                raise ValueError(
                    f"data_files[{i}].pipeline {rule.pipeline!r} is not defined in pipelines {sorted(self.pipelines)}"
                )
        if self.output_bucket == self.bucket:
            for prefix in self.prefixes:
                if self.results_prefix.startswith(prefix) or prefix.startswith(self.results_prefix):
                    raise ValueError(
                        f"results_prefix {self.results_prefix!r} overlaps data prefix {prefix!r}: "
                        "results would be cataloged as input"
                    )
        return self

    @property
    def output_bucket(self) -> str:
        return self.results_bucket or self.bucket
