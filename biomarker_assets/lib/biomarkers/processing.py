"""Run a study pipeline on one local file and write results + provenance to a folder.

The Dagster asset, the ``process-file`` command and the container all call this,
so what runs on Fargate is exactly what runs in tests.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biomarker_assets import __version__
from biomarker_assets.lib.biomarkers.overview_plot import PLOT_FILE, overview_pngs
from biomarker_assets.lib.provenance import (
    PROVENANCE_FILE,
    CodeRecord,
    InputRecord,
    OutputRecord,
    ProvenanceRecord,
    sha256_file,
    utc_now,
)
from biomarker_assets.lib.skdh import runner as skdh_runner
from biomarker_assets.lib.study_config.loading import LoadedConfig
from biomarker_assets.lib.study_config.schema import StudyConfig
from biomarker_assets.lib.summary.rows import SUMMARY_ROWS_FILE, file_summary_rows
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.study_store import object_bytes
from biomarker_assets.skdh_processes import PROJECT_PROCESSES

log = logging.getLogger(__name__)


class ProcessingError(RuntimeError):
    """SKDH could not process the file; the message says why in a person's words."""


@dataclass
class ProcessingResult:
    result_files: list[Path]
    headline: dict[str, Any]
    provenance: ProvenanceRecord
    provenance_file: Path
    warnings: list[str] = field(default_factory=list)
    fs: float | None = None  # sampling rate of the signal the pipeline ended with
    thumbnail: bytes | None = None  # small overview PNG for the materialization page
    empty_tables: list[str] = field(default_factory=list)


def results_folder(pipeline_name: str, pipeline_version: str, spec: dict) -> str:
    """Results of different pipeline versions never overwrite each other."""
    return f"{pipeline_name}/{pipeline_version}-{skdh_runner.pipeline_digest(spec)[:12]}"


def results_prefix(config: StudyConfig, pipeline_name: str, key: str) -> str:
    """Where the results of ``key`` under the study's current pipeline go (in the output bucket)."""
    pipeline = config.pipelines[pipeline_name]
    return f"{config.results_prefix}{results_folder(pipeline_name, pipeline.version, pipeline.skdh)}/{key}/"


def mark_input_removed(config: StudyConfig, pipeline_name: str, key: str) -> str | None:
    """Results stay; their provenance now says the input version no longer exists. Returns the record's URI."""
    record_key = results_prefix(config, pipeline_name, key) + PROVENANCE_FILE
    body = object_bytes(config.output_bucket, record_key)
    if body is None:
        return None  # never processed: nothing to mark
    record = ProvenanceRecord.model_validate_json(body)
    if record.input_removed_at is None:
        record.input_removed_at = utc_now()
        aws_client("s3").put_object(
            Bucket=config.output_bucket, Key=record_key, Body=record.to_json().encode(), ContentType="application/json"
        )
    return f"s3://{config.output_bucket}/{record_key}"


def project_processes(spec: dict) -> list[str]:
    notes = []
    for step in spec.get("Steps", []):
        if step.get("package") == "biomarker_assets":
            cls = PROJECT_PROCESSES.get(step["process"])
            note = getattr(cls, "PROVENANCE_NOTE", "")
            notes.append(f"{step['module']}.{step['process']}" + (f": {note}" if note else ""))
    return notes


def process_local_file(
    path: Path,
    *,
    loaded: LoadedConfig,
    pipeline_name: str,
    inputs: dict[str, Any],
    out_dir: Path,
    input_record: InputRecord | None = None,
    partition_key: str | None = None,
    run_id: str | None = None,
    file_fields: dict[str, str] | None = None,
) -> ProcessingResult:
    pipeline_cfg = loaded.config.pipelines[pipeline_name]
    started = utc_now()
    if input_record is None:
        input_record = InputRecord(
            uri=path.resolve().as_uri(), key=path.name, size=path.stat().st_size, sha256=sha256_file(path)
        )
    pipeline = skdh_runner.load_pipeline(pipeline_cfg.skdh)
    log.info("running SKDH pipeline %s %s on %s", pipeline_name, pipeline_cfg.version, input_record.uri)
    skdh_warnings: list[str] = []
    try:
        signal: dict[str, Any] = {}
        results = skdh_runner.run_pipeline(
            pipeline, path, captured_warnings=skdh_warnings, final_inputs=signal, **inputs
        )
    except Exception as exc:  # SKDH raises many types; the cause is kept as __cause__
        raise ProcessingError(
            f"SKDH pipeline {pipeline_name!r} failed on {input_record.uri}: {type(exc).__name__}: {exc}"
        ) from exc
    tables = skdh_runner.results_to_tables(results)
    if not tables:
        raise ProcessingError(f"SKDH pipeline {pipeline_name!r} produced no results for {input_record.uri}")
    out_dir.mkdir(parents=True, exist_ok=True)
    files = skdh_runner.write_results(tables, out_dir)
    headline = skdh_runner.headline_biomarkers(results)
    pipeline_digest = skdh_runner.pipeline_digest(pipeline_cfg.skdh)
    identity = {
        "study": loaded.config.study,
        "subject": (file_fields or {}).get("subject"),
        "file_key": input_record.key,
        "file_fields": json.dumps(file_fields or {}, sort_keys=True),
        "pipeline": pipeline_name,
        "pipeline_version": pipeline_cfg.version,
        "pipeline_digest": pipeline_digest,
        "skdh_version": skdh_runner.SKDH_VERSION,
    }
    files += skdh_runner.write_results(
        {SUMMARY_ROWS_FILE.removesuffix(".parquet"): file_summary_rows(tables, identity)}, out_dir
    )
    # Bridge until the processing_options resource (branch h1-skdh) passes these in; read per call, not at import.
    embed_plots = os.environ.get("BIOMARKER_EMBED_PLOTS", "1") not in ("0", "false", "no")
    thumbnail = None
    if signal.get("time") is not None and signal.get("accel") is not None and len(signal["time"]) > 1:
        plot = out_dir / PLOT_FILE
        title = f"{loaded.config.study}: {input_record.key} ({pipeline_name})"
        # one pass over the recording for both sizes (a week at 100 Hz is 60 M samples)
        pngs = overview_pngs(
            signal["time"],
            signal["accel"],
            signal.get("wear"),
            signal.get("sleep"),
            title,
            dpis=(100, 48) if embed_plots else (100,),
        )
        plot.write_bytes(pngs[0])
        files.append(plot)
        if embed_plots:
            thumbnail = pngs[1]
    fs = float(signal["fs"]) if signal.get("fs") is not None else None
    empty = sorted(name for name, table in tables.items() if table.num_rows == 0)
    del signal  # the whole recording: free it before provenance and upload
    headline_file = out_dir / "headline.json"
    headline_file.write_text(json.dumps(headline, indent=2, sort_keys=True, default=float) + "\n")
    files.append(headline_file)
    record = ProvenanceRecord(
        study=loaded.config.study,
        partition_key=partition_key,
        input=input_record,
        config_source=loaded.source,
        config_digest=loaded.digest,
        subject={**inputs},
        code=CodeRecord(
            project_version=__version__,
            skdh_version=skdh_runner.SKDH_VERSION,
            pipeline_name=pipeline_name,
            pipeline_version=pipeline_cfg.version,
            pipeline_digest=pipeline_digest,
            project_processes=project_processes(pipeline_cfg.skdh),
            image=os.environ.get("BIOMARKER_IMAGE", "local"),
            dagster_run_id=run_id,
        ),
        outputs=[OutputRecord(uri=f.name, sha256=sha256_file(f), size=f.stat().st_size) for f in files],
        started_at=started,
        finished_at=utc_now(),
    )
    provenance_file = out_dir / PROVENANCE_FILE
    provenance_file.write_text(record.to_json())
    return ProcessingResult(files, headline, record, provenance_file, skdh_warnings, fs, thumbnail, empty)


def data_version(input_record: InputRecord, config_digest: str, spec: dict, subject_inputs: dict) -> str:
    """Same input, config, code and subject fields give the same version: Dagster's staleness follows it."""
    payload = json.dumps(
        [
            input_record.etag or input_record.sha256,
            input_record.version_id,
            config_digest,
            skdh_runner.pipeline_digest(spec),
            skdh_runner.SKDH_VERSION,
            __version__,
            subject_inputs,
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]
