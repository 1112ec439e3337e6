"""What happened to each file, read back from the Dagster instance.

The same facts a person sees in the UI (materializations and status
observations), as rows for the demo's table and for tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg
from tabulate import tabulate

from biomarker_assets.defs.partitions import data_files, metadata_files
from biomarker_assets.lib.biomarkers.kinds import STATUS_COLUMNS
from biomarker_assets.lib.partition_keys import parse_file_partition_key

#: headline key -> column label, one or more per biomarker kind (declared in lib/biomarkers/kinds.py)
HEADLINE_COLUMNS = STATUS_COLUMNS
#: run tag a file's run gets once its outcome is known: processed, qc_failed, waiting or failed
OUTCOME_TAG = "biomarker_assets/outcome"


@dataclass
class FileStatus:
    study: str
    key: str
    kind: str
    status: str  # processed / waiting / failed / not run
    reason: str = ""
    qc_failed: list[str] = field(default_factory=list)  # QC checks a processed file failed
    subject: str = ""
    biomarkers: dict[str, float] = field(default_factory=dict)
    results: str = ""


def latest_outcome(instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str):
    """The partition's newest materialization or status observation (event log record), if any."""
    flt = dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition])
    events = [
        *instance.fetch_materializations(flt, limit=1, ascending=False).records,
        *instance.fetch_observations(flt, limit=1, ascending=False).records,
    ]
    return max(events, key=lambda r: r.storage_id, default=None)


def _value(entry) -> object:
    return getattr(entry, "value", entry)


def file_statuses(instance: dg.DagsterInstance) -> list[FileStatus]:
    rows = []
    for partitions_def, kind, asset in (
        (metadata_files, "metadata", "subject_metadata"),
        (data_files, "data", "file_biomarkers"),
    ):
        for partition in instance.get_dynamic_partitions(str(partitions_def.name)):
            study, key = parse_file_partition_key(partition)
            row = FileStatus(study, key, kind, "not run")
            record = latest_outcome(instance, dg.AssetKey(asset), partition)
            if record is not None:
                event = record.asset_materialization or record.asset_observation
                meta = {k: _value(v) for k, v in event.metadata.items()}
                row.status = str(meta.get("status", "processed"))
                row.reason = str(meta.get("reason", ""))
                row.subject = str(meta.get("subject", ""))
                row.qc_failed = list(meta.get("qc_failed") or [])  # type: ignore[call-overload]  # a list, written by the asset
                row.results = str(meta.get("results", meta.get("source", "")) if record.asset_materialization else "")
                row.biomarkers = {
                    k.split("/", 1)[1]: float(v)  # type: ignore[arg-type]  # numbers, written by the asset
                    for k, v in meta.items()
                    if k.startswith("biomarker/")
                }
                if kind == "metadata" and record.asset_materialization:
                    row.reason = (
                        f"{meta.get('subjects_written')} subjects, {meta.get('rows_rejected')} rows rejected, "
                        f"{meta.get('values_unreadable')} values unreadable"
                    )
            rows.append(row)
    return rows


def markdown_table(rows: list[dict]) -> str:
    """Rows as a Markdown table, for materialization metadata in the UI (a ``|`` in a value becomes ``/``)."""
    if not rows:
        return "none"
    headers = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[str(r.get(h, "")).replace("|", "/") for h in headers] for r in rows]
    return tabulate(cells, headers, tablefmt="github", disable_numparse=True)


def format_table(rows: list[list[str]], headers: list[str]) -> str:
    """Plain-text columns for the demo's terminal output.

    Not ``tabulate``: its "simple" format pads every column two characters wider than its
    header (a module-global ``MIN_PADDING`` that only the "pretty" format turns off), which
    would change the demo's printed tables.
    """
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def status_table(statuses: list[FileStatus], max_reason: int = 70) -> str:
    headers = ["study", "subject", "file", "status", *HEADLINE_COLUMNS.values()]
    rows = []
    for s in statuses:
        status = s.status if not s.reason or s.status == "processed" else f"{s.status}: {s.reason}"
        if s.qc_failed:
            status = f"{s.status}, QC failed: {', '.join(s.qc_failed)}"
        if s.kind == "metadata":
            status = f"{s.status} (metadata: {s.reason})"
        if len(status) > max_reason:
            status = status[: max_reason - 1] + "…"
        cells = [f"{s.biomarkers[k]:.2f}" if k in s.biomarkers else "" for k in HEADLINE_COLUMNS]
        rows.append([s.study, s.subject or "-", s.key, status, *cells])
    return format_table(rows, headers)
