"""What a metadata file's run tells people, bounded: one SQS message and a UI preview of a few KB.

A file with a million rows, or with every row bad, must neither exceed SQS's 256 KiB message limit
(the send would fail after the table was written) nor store a table of megabytes in Dagster's
event log: both list the first rows and say how many there are.
"""

from __future__ import annotations

from typing import Any

from biomarker_assets.lib.metadata.cleaning import CleanedMetadata

#: problems of each kind listed in a metadata_rows_rejected message
MAX_REPORTED_PROBLEMS = 50
#: rows of each markdown table in the materialization's metadata
PREVIEW_ROWS = 100


def rejection_report(
    cleaned: CleanedMetadata, conflicts: dict[str, dict[str, str]]
) -> tuple[str, dict[str, Any]] | None:
    """(reason, details) for the metadata_rows_rejected message, or None when nothing was rejected.

    ``conflicts``: subject -> field -> who said what, across files (from the table's merge).
    """
    across = [
        {"subject": s, "field": f, "values": said}
        for s, fields in sorted(conflicts.items())
        for f, said in fields.items()
    ]
    groups = {"rejected_rows": cleaned.rejected_rows, "value_problems": cleaned.value_problems}
    groups |= {"conflicts_in_file": cleaned.conflicts, "conflicts_across_files": across}
    if not any(groups.values()):
        return None
    reason = (
        f"{len(cleaned.rejected_rows)} row(s) rejected, {len(cleaned.value_problems)} value(s) unreadable, "
        f"{len(cleaned.conflicts) + len(across)} conflicting value(s) not stored"
    )
    details: dict[str, Any] = {name: rows[:MAX_REPORTED_PROBLEMS] for name, rows in groups.items()}
    details["counts"] = {name: len(rows) for name, rows in groups.items()}
    if any(len(rows) > MAX_REPORTED_PROBLEMS for rows in groups.values()):
        details["note"] = f"only the first {MAX_REPORTED_PROBLEMS} of each kind are listed; all_problems has them all"
    return reason, details


def all_problems(cleaned: CleanedMetadata, conflicts: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Every problem, for the JSON file written beside the results (the message lists only the first ones)."""
    return {
        "rejected_rows": cleaned.rejected_rows,
        "value_problems": cleaned.value_problems,
        "conflicts_in_file": cleaned.conflicts,
        "conflicts_across_files": conflicts,
    }


def problems_key(results_prefix: str, source_key: str) -> str:
    return f"{results_prefix}_metadata_problems/{source_key}.json"


def preview(rows: list[dict[str, Any]], limit: int = PREVIEW_ROWS) -> tuple[list[dict[str, Any]], str]:
    """The first ``limit`` rows for a UI table, and a caption saying how many there are."""
    caption = f"{len(rows):,} row(s)" + (f", the first {limit:,} shown" if len(rows) > limit else "")
    return rows[:limit], caption
