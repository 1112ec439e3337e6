"""Run a study pipeline on one local file and write results + provenance to a folder.

The Dagster asset, the ``process-file`` command and the container all call this,
so what runs on Fargate is exactly what runs in tests.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from biomarker_assets import __version__
from biomarker_assets.lib.biomarkers.kinds import headline_biomarkers
from biomarker_assets.lib.biomarkers.overview_plot import PLOT_FILE
from biomarker_assets.lib.biomarkers.publishing import LATEST_FILE
from biomarker_assets.lib.provenance import (
    PROVENANCE_FILE,
    CodeRecord,
    ConfigRecord,
    Correction,
    InputRecord,
    OutputRecord,
    ProvenanceRecord,
    SamplingRecord,
    image_digest,
    sha256_file,
    utc_now,
)
from biomarker_assets.lib.skdh.digest import pipeline_digest
from biomarker_assets.lib.skdh.units import signal_units
from biomarker_assets.lib.skdh.version import SKDH_VERSION, package_versions
from biomarker_assets.lib.study_config.loading import LoadedConfig
from biomarker_assets.lib.study_config.schema import StudyConfig

# SKDH (and SciPy, LightGBM, Matplotlib behind it) is imported inside the functions that run
# it: this module is imported by the code location, which must load without them.

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
    nominal_fs: float | None = None  # the file's declared rate, as read (before any resampling)
    measured_fs: float | None = None  # the rate of the read timestamps (what the sampling_rate QC compares)


def results_folder(pipeline_name: str, pipeline_version: str, spec: dict) -> str:
    """Results of different pipeline versions never overwrite each other."""
    return f"{pipeline_name}/{pipeline_version}-{pipeline_digest(spec)[:12]}"


def results_prefix(config: StudyConfig, pipeline_name: str, key: str) -> str:
    """Where the results of ``key`` under the study's current pipeline go (in the output bucket)."""
    pipeline = config.pipelines[pipeline_name]
    return f"{config.results_prefix}{results_folder(pipeline_name, pipeline.version, pipeline.skdh)}/{key}/"


class ResultStore(Protocol):
    """What :func:`mark_input_removed` reads and writes through (the ``StudyStore`` resource)."""

    def object_bytes(self, bucket: str, key: str) -> bytes | None: ...

    def put_bytes(self, data: bytes, bucket: str, key: str, content_type: str) -> None: ...


def mark_input_removed(store: ResultStore, config: StudyConfig, pipeline_name: str, key: str) -> str | None:
    """Results stay; their provenance now says the input version no longer exists. Returns the record's URI.

    The record marked is the published one (``latest.json``'s), or the one beside the results
    under the layout before per-version folders. A missing results bucket marks nothing.
    """
    prefix = results_prefix(config, pipeline_name, key)
    try:
        latest = store.object_bytes(config.output_bucket, prefix + LATEST_FILE)
        record_key = (
            json.loads(latest)["provenance"].removeprefix(f"s3://{config.output_bucket}/")
            if latest
            else prefix + PROVENANCE_FILE
        )
        body = store.object_bytes(config.output_bucket, record_key)
    except LookupError as exc:  # the StudyStore's BucketMissing: nothing left to mark
        log.warning("results of %s not marked as removed: %s", key, exc)
        return None
    if body is None:
        return None  # never processed: nothing to mark
    record = ProvenanceRecord.model_validate_json(body)
    if record.input_removed_at is None:
        record.input_removed_at = utc_now()
        store.put_bytes(record.to_json().encode(), config.output_bucket, record_key, "application/json")
    return f"s3://{config.output_bucket}/{record_key}"


def project_processes(spec: dict) -> list[str]:
    """``module.Process: note`` of each project process in ``spec``, for provenance."""
    return [f"{c.process}: {c.note}" if c.note else c.process for c in corrections(spec)]


def corrections(spec: dict) -> list[Correction]:
    """Each project process in ``spec`` with its ``PROVENANCE_NOTE`` (what it changes from SKDH; "" if none)."""
    from biomarker_assets.skdh_processes import PROJECT_PROCESSES

    found = []
    for step in spec.get("Steps", []):
        if step.get("package") == "biomarker_assets":
            cls = PROJECT_PROCESSES.get(step["process"])
            found.append(
                Correction(process=f"{step['module']}.{step['process']}", note=getattr(cls, "PROVENANCE_NOTE", ""))
            )
    return found


def config_record(loaded: LoadedConfig) -> ConfigRecord:
    """The config as read: its S3 version when it came from S3, its sha256 and a copy of its text."""
    where = loaded.location
    return ConfigRecord(
        uri=loaded.source,
        bucket=where.bucket if where else None,
        key=where.key if where else None,
        version_id=where.version_id if where else None,
        etag=where.etag if where else None,
        sha256=loaded.digest,
        text=loaded.raw.decode("utf-8", errors="replace"),
    )


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
    image: str = "local",
    embed_plots: bool = True,
) -> ProcessingResult:
    """Run the study's pipeline on ``path`` and write results, summary rows, plot and provenance to ``out_dir``.

    ``image`` is recorded in provenance (the container image the run used); ``embed_plots``
    also renders a small thumbnail for the materialization page. Both come from the
    ``processing_options`` resource in the code location.
    """
    # SKDH, NumPy, Arrow and Matplotlib load here, in the process that runs a pipeline, not with the code location
    from biomarker_assets.lib.biomarkers.overview_plot import overview_pngs
    from biomarker_assets.lib.skdh.file_run import run_file
    from biomarker_assets.lib.skdh.pipeline import load_pipeline
    from biomarker_assets.lib.skdh.resolved import day_windows, resolved_steps
    from biomarker_assets.lib.skdh.tables import results_to_tables, write_results
    from biomarker_assets.lib.summary.rows import SUMMARY_ROWS_FILE, file_summary_rows
    from biomarker_assets.lib.summary.windows import without_partial_windows

    pipeline_cfg = loaded.config.pipelines[pipeline_name]
    started = utc_now()
    if input_record is None:
        input_record = InputRecord(
            uri=path.resolve().as_uri(), key=path.name, size=path.stat().st_size, sha256=sha256_file(path)
        )
    pipeline = load_pipeline(pipeline_cfg.skdh)
    log.info("running SKDH pipeline %s %s on %s", pipeline_name, pipeline_cfg.version, input_record.uri)
    skdh_warnings: list[str] = []
    try:
        signal: dict[str, Any] = {}
        zone_input = {"tz_name": loaded.config.time_zone} if loaded.config.time_zone and "tz_name" not in inputs else {}
        # day pieces when the pipeline and file allow it (memory flat in recording length), else whole-file
        results, execution = run_file(
            pipeline,
            pipeline_cfg.skdh,
            path,
            captured_warnings=skdh_warnings,
            final_inputs=signal,
            **inputs,
            **zone_input,
        )
    except Exception as exc:  # SKDH raises many types; the cause is kept as __cause__
        raise ProcessingError(
            f"SKDH pipeline {pipeline_name!r} failed on {input_record.uri}: {type(exc).__name__}: {exc}"
        ) from exc
    tables = results_to_tables(results)
    if not tables:
        raise ProcessingError(f"SKDH pipeline {pipeline_name!r} produced no results for {input_record.uri}")
    out_dir.mkdir(parents=True, exist_ok=True)
    files = write_results(tables, out_dir)
    steps = resolved_steps(pipeline_cfg.skdh)
    windows = day_windows(steps)
    zone = inputs.get("tz_name") or loaded.config.time_zone  # an IANA name, when one is given
    time_zone = zone if isinstance(zone, str) else None
    # partial days not averaged in; an endpoint SKDH could not compute is None with not_computed/<key>: the reason
    headline = headline_biomarkers(without_partial_windows(results, windows, time_zone), recorded=results)
    digest = pipeline_digest(pipeline_cfg.skdh)
    identity = {
        "study": loaded.config.study,
        "subject": (file_fields or {}).get("subject"),
        "file_key": input_record.key,
        "file_fields": json.dumps(file_fields or {}, sort_keys=True),
        "pipeline": pipeline_name,
        "pipeline_version": pipeline_cfg.version,
        "pipeline_digest": digest,
        "skdh_version": SKDH_VERSION,
    }
    rows = file_summary_rows(tables, identity, windows, time_zone)
    files += write_results({SUMMARY_ROWS_FILE.removesuffix(".parquet"): rows}, out_dir)
    thumbnail = None
    envelope = signal.get("overview_envelope")  # a day-piece run: the envelope, and timestamps at the edges
    whole = signal.get("time") is not None and signal.get("accel") is not None and len(signal["time"]) > 1
    if whole or (envelope is not None and signal.get("file_n_samples", 0) > 1):
        plot = out_dir / PLOT_FILE
        title = f"{loaded.config.study}: {input_record.key} ({pipeline_name})"
        # one pass over the recording for both sizes (a week at 100 Hz is 60 M samples)
        pngs = overview_pngs(
            signal["time"] if whole else signal["overview_times"],
            signal["accel"] if whole else None,
            signal.get("wear"),
            signal.get("sleep"),
            title,
            dpis=(100, 48) if embed_plots else (100,),
            envelope=None if whole else envelope,
        )
        plot.write_bytes(pngs[0])
        files.append(plot)
        if embed_plots:
            thumbnail = pngs[1]
    fs = float(signal["fs"]) if signal.get("fs") is not None else None
    sampling = SamplingRecord(
        nominal_fs=signal.get("file_fs_nominal"),
        measured_fs=signal.get("file_fs_measured"),
        n_samples=signal.get("file_n_samples"),
        units=signal_units(pipeline_cfg.skdh),
    )
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
        config=config_record(loaded),
        subject={**inputs},
        file_fields=dict(file_fields or {}),
        time_zone=time_zone,
        sampling=sampling,
        code=CodeRecord(
            project_version=__version__,
            skdh_version=SKDH_VERSION,
            pipeline_name=pipeline_name,
            pipeline_version=pipeline_cfg.version,
            pipeline_digest=digest,
            project_processes=project_processes(pipeline_cfg.skdh),
            resolved_pipeline=steps,
            corrections=corrections(pipeline_cfg.skdh),
            packages=package_versions(),
            python_version=platform.python_version(),
            image=image,
            image_digest=image_digest(image),
            dagster_run_id=run_id,
        ),
        outputs=[OutputRecord(uri=f.name, sha256=sha256_file(f), size=f.stat().st_size) for f in files],
        execution=execution,
        started_at=started,
        finished_at=utc_now(),
    )
    provenance_file = out_dir / PROVENANCE_FILE
    provenance_file.write_text(record.to_json())
    return ProcessingResult(
        files,
        headline,
        record,
        provenance_file,
        skdh_warnings,
        fs,
        thumbnail,
        empty,
        nominal_fs=sampling.nominal_fs,
        measured_fs=sampling.measured_fs,
    )


def data_version(input_record: InputRecord, config_digest: str, spec: dict, subject_inputs: dict) -> str:
    """Same input, config, code and subject fields give the same version: Dagster's staleness follows it."""
    payload = json.dumps(
        [
            input_record.etag or input_record.sha256,
            input_record.version_id,
            config_digest,
            pipeline_digest(spec),
            SKDH_VERSION,
            __version__,
            subject_inputs,
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]
