"""Re-make a result from its provenance record alone and say whether every output is the same, byte for byte.

The record names the exact input version and config version (S3 VersionId), keeps a copy
of the config, the subject inputs and file-name fields the pipeline was given, the code
and package versions, and every output with its sha256 and where it was published. This
module fetches what the record names, runs the same ``process_local_file`` the asset runs,
and compares. Nothing is taken from the working directory or the current study config:
where results are published comes from the record's output URIs, never re-derived.

Objects are fetched through :class:`ObjectSource` (S3 in the command, see ``cli.py``), so
this module needs no AWS client.
"""

from __future__ import annotations

import platform
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

from biomarker_assets import __version__
from biomarker_assets.lib.provenance import ProvenanceRecord, sha256_bytes, sha256_file
from biomarker_assets.lib.skdh.version import SKDH_VERSION, package_versions


class ReproduceError(RuntimeError):
    """The record cannot be reproduced at all (an input gone, a config changed under its version, ...)."""


class ObjectSource(Protocol):
    """Reads one exact object version; ``None`` when there is no such object (or version)."""

    def get_bytes(self, bucket: str, key: str, version_id: str | None) -> bytes | None: ...

    def download(self, bucket: str, key: str, version_id: str | None, path: Path) -> None: ...


@dataclass
class ReproduceReport:
    matched: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    environment: list[str] = field(default_factory=list)  # recorded vs here, first one first
    notes: list[str] = field(default_factory=list)

    def ok(self, allow_environment_differences: bool = False) -> bool:
        return not self.mismatches and (allow_environment_differences or not self.environment)

    def lines(self) -> list[str]:
        out = [f"match     {name}" for name in self.matched]
        out += [f"MISMATCH  {text}" for text in self.mismatches]
        out += [f"note      {text}" for text in self.notes]
        if self.environment:
            out.append(f"first environment difference: {self.environment[0]}")
            out += [f"  also: {text}" for text in self.environment[1:]]
        else:
            out.append("environment: as recorded (packages, SKDH, project, Python)")
        return out


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ReproduceError(f"not an s3://bucket/key URI: {uri}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def load_record(ref: str, source: ObjectSource) -> ProvenanceRecord:
    """The record at a local path or an ``s3://`` URI (its current version)."""
    if ref.startswith("s3://"):
        body = source.get_bytes(*split_s3_uri(ref), None)
        if body is None:
            raise ReproduceError(f"no provenance record at {ref}")
    else:
        body = Path(ref).read_bytes()
    return ProvenanceRecord.model_validate_json(body)


def environment_differences(record: ProvenanceRecord) -> list[str]:
    """What differs between the environment the record names and this one, in the record's order."""
    code = record.code
    here = package_versions(tuple(code.packages)) if code.packages else {}
    pairs: list[tuple[str, str | None, str | None]] = [
        ("scikit-digital-health (SKDH)", code.skdh_version, SKDH_VERSION),
        *((name, recorded, here.get(name)) for name, recorded in code.packages.items()),
        ("biomarker-assets", code.project_version, __version__),
        ("Python", code.python_version, platform.python_version() if code.python_version else None),
    ]
    if not code.packages:
        return ["the record names no package versions (schema 1): the numeric stack cannot be compared"]
    return [f"{name}: recorded {old}, here {new}" for name, old, new in pairs if old != new]


def _config_bytes(record: ProvenanceRecord, source: ObjectSource, report: ReproduceReport) -> bytes:
    config = record.config
    if config is None:
        raise ReproduceError("the record keeps no config (schema 1 record): it cannot be reproduced from itself")
    body = None
    if config.bucket and config.key:
        body = source.get_bytes(config.bucket, config.key, config.version_id)
        where = f"s3://{config.bucket}/{config.key}" + (f"?versionId={config.version_id}" if config.version_id else "")
        if body is None:
            report.notes.append(f"config {where} is gone; using the copy in the record")
        elif sha256_bytes(body) != config.sha256:
            if config.version_id:
                raise ReproduceError(f"config {where} does not have the recorded sha256")
            report.notes.append(f"config {where} changed since (no VersionId recorded); using the copy in the record")
            body = None
    if body is None:
        body = config.text.encode("utf-8")
        if sha256_bytes(body) != config.sha256:
            raise ReproduceError("the config copy in the record does not have the recorded sha256")
    return body


def _fetch_input(record: ProvenanceRecord, source: ObjectSource, folder: Path) -> Path:
    inp = record.input
    local = folder / PurePosixPath(inp.key).name  # the same name the asset gives it: readers go by extension
    if inp.bucket:
        try:
            source.download(inp.bucket, inp.key, inp.version_id, local)
        except Exception as exc:  # boto3 raises ClientError and transfer errors alike
            raise ReproduceError(f"input {inp.uri} (version {inp.version_id}) cannot be read: {exc}") from exc
    elif inp.uri.startswith("file://"):
        path = Path(urllib.parse.unquote(urllib.parse.urlparse(inp.uri).path))
        if not path.is_file():
            raise ReproduceError(f"input {inp.uri} is not on this machine")
        local.write_bytes(path.read_bytes())
    else:
        raise ReproduceError(f"input {inp.uri}: neither an S3 object nor a local file")
    if sha256_file(local) != inp.sha256:
        raise ReproduceError(f"input {inp.uri} (version {inp.version_id}) does not have the recorded sha256")
    return local


def reproduce(record: ProvenanceRecord, source: ObjectSource) -> ReproduceReport:
    """Fetch what ``record`` names, re-run its pipeline in a temporary folder, compare every output."""
    from biomarker_assets.lib.biomarkers.processing import ProcessingError, process_local_file
    from biomarker_assets.lib.skdh.digest import pipeline_digest
    from biomarker_assets.lib.study_config.loading import parse_config

    report = ReproduceReport(environment=environment_differences(record))
    loaded = parse_config(_config_bytes(record, source, report), record.config_source)
    pipeline = loaded.config.pipelines.get(record.code.pipeline_name)
    if pipeline is None or pipeline_digest(pipeline.skdh) != record.code.pipeline_digest:
        raise ReproduceError(f"the config has no pipeline {record.code.pipeline_name!r} with the recorded digest")
    with tempfile.TemporaryDirectory(prefix="reproduce-") as tmp:
        folder = Path(tmp)
        (folder / "input").mkdir()
        local = _fetch_input(record, source, folder / "input")
        try:
            result = process_local_file(
                local,
                loaded=loaded,
                pipeline_name=record.code.pipeline_name,
                inputs=dict(record.subject),
                out_dir=folder / "results",
                input_record=record.input.model_copy(),
                partition_key=record.partition_key,
                run_id=record.code.dagster_run_id,
                file_fields=dict(record.file_fields),
                image=record.code.image,
                embed_plots=False,
            )
        except ProcessingError as exc:
            raise ReproduceError(f"re-running failed: {exc}") from exc
        remade = {path.name: sha256_file(path) for path in result.result_files}
    for output in record.outputs:
        problems = []
        got = remade.pop(output.name, None)
        if got is None:
            problems.append(f"{output.uri}: recorded, not made again")
        elif got != output.sha256:
            problems.append(f"{output.uri}: re-made sha256 {got[:16]}..., recorded {output.sha256[:16]}...")
        if output.uri.startswith("s3://"):  # where it was published, as recorded (never re-derived)
            published = source.get_bytes(*split_s3_uri(output.uri), None)
            if published is None:
                problems.append(f"{output.uri}: the published object is gone")
            elif sha256_bytes(published) != output.sha256:
                problems.append(f"{output.uri}: the published object differs from the record")
        report.mismatches += problems
        if not problems:
            report.matched.append(output.uri)
    report.mismatches += [f"{name}: made again, not in the record" for name in sorted(remade)]
    return report
