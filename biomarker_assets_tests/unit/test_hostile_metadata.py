"""Hostile metadata cells and rows, cleaned without AWS: ranges, formulas, key sizes, conflicts, bounded reports."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from biomarker_assets.lib.metadata.cleaning import MAX_SUBJECT_BYTES, clean_table, neutralised, parse_height
from biomarker_assets.lib.metadata.merging import merged_item, resolve
from biomarker_assets.lib.metadata.reporting import MAX_REPORTED_PROBLEMS, PREVIEW_ROWS, preview, rejection_report
from biomarker_assets.lib.study_config.schema import FilePattern, MetadataFiles

SPEC = MetadataFiles(match=FilePattern(glob="*.csv"))


@pytest.mark.parametrize("raw", ["0'0\"", "99'11\"", "1'2\"", "9 ft 0", "5'14\""])
def test_feet_and_inches_go_through_the_same_range_check(raw):
    with pytest.raises(ValueError, match=r"outside 0.5-2.5 m|inches"):
        parse_height(raw, None)


def test_feet_and_inches_in_range_still_read():
    assert parse_height("5'10\"", None) == pytest.approx(1.778, abs=1e-4)


@pytest.mark.parametrize("cell", ["=cmd|' /C calc'!A0", '+HYPERLINK("http://x")', "-2+3", "@SUM(A1)", "\t=1+1", "=1"])
def test_formula_like_subject_ids_are_rejected_and_never_stored(cell):
    cleaned = clean_table(pd.DataFrame({"subject": [cell, "S1"], "height": ["1.80", "1.70"]}), SPEC)
    assert [s["subject"] for s in cleaned.subjects] == ["S1"]
    (rejected,) = cleaned.rejected_rows
    assert rejected["row"] == 2 and "starts like a spreadsheet formula: rejected, not stored" in rejected["reason"]
    assert f"'{cell.strip()}" in rejected["reason"]  # shown inert, with a leading quote


@pytest.mark.parametrize("cell", ["-5", "+44", "-1.5e3"])
def test_numbers_with_a_sign_are_not_formulas(cell):
    cleaned = clean_table(pd.DataFrame({"subject": [cell], "height": ["1.80"]}), SPEC)
    assert [s["subject"] for s in cleaned.subjects] == [cell]


def test_formula_like_values_are_neutralised_where_reported():
    cleaned = clean_table(pd.DataFrame({"subject": ["S1"], "height": ["=cmd|' /C calc'!A0"]}), SPEC)
    (problem,) = cleaned.value_problems
    assert problem["value"] == "'=cmd|' /C calc'!A0"
    assert "=cmd" not in problem["reason"].replace("'=cmd", "")  # only the quoted, inert form appears
    assert neutralised("x" * 500) == "x" * 99 + "…"


def test_subject_ids_over_dynamodbs_key_limit_are_rejected_per_row():
    long_id = "S" * (MAX_SUBJECT_BYTES + 1)
    wide = "é" * (MAX_SUBJECT_BYTES // 2 + 1)  # 2 bytes each in UTF-8: over the limit in bytes, not characters
    cleaned = clean_table(pd.DataFrame({"subject": ["S1", long_id, wide], "height": ["1.8"] * 3}), SPEC)
    assert [s["subject"] for s in cleaned.subjects] == ["S1"]
    assert [r["row"] for r in cleaned.rejected_rows] == [3, 4]
    assert cleaned.rejected_rows[0]["reason"] == (
        f"subject id is {MAX_SUBJECT_BYTES + 1:,} bytes; DynamoDB keys allow at most {MAX_SUBJECT_BYTES:,} "
        "(the subject sort key)"
    )


def test_rows_of_one_subject_that_disagree_store_no_value_for_that_field():
    frame = pd.DataFrame({"participant": ["A1", "A1", "B2", "B2"], "height (cm)": ["170", "180", "160", "160.2"]})
    cleaned = clean_table(frame, SPEC)
    a1, b2 = cleaned.subjects
    assert a1["height_m"] == [1.7, 1.8]  # both kept, as a conflict: no single height to use
    assert b2["height_m"] == 1.6  # 160 and 160.2 cm agree to the cm: a repeat, not a conflict
    assert cleaned.conflicts == [
        {
            "row": 3,
            "subject": "A1",
            "field": "height_m",
            "values": [1.7, 1.8],
            "reason": "rows 2 and 3 disagree on height_m [1.7, 1.8]: not guessed, none stored",
        }
    ]
    assert cleaned.rejected_rows == [{"row": 5, "reason": "subject 'B2' repeats row 4"}]
    item = resolve("A1", {"s3://b/m.csv": a1})
    assert "height_m" not in item and item["conflicts"] == {"height_m": "1.7 in s3://b/m.csv; 1.8 in s3://b/m.csv"}


def test_two_files_that_disagree_are_a_conflict_until_one_is_corrected():
    a = merged_item("S1", None, "s3://b/a.csv", {"subject": "S1", "height_m": 1.8, "sex": "M"}, "e1")
    assert a is not None and a["height_m"] == 1.8
    both = merged_item("S1", a, "s3://b/b.csv", {"subject": "S1", "height_m": 1.7, "sex": "M"}, "e2")
    assert both is not None and "height_m" not in both and both["sex"] == "M"
    assert both["conflicts"] == {"height_m": "1.8 in s3://b/a.csv; 1.7 in s3://b/b.csv"}
    fixed = merged_item("S1", both, "s3://b/b.csv", {"subject": "S1", "height_m": 1.801, "sex": "M"}, "e3")
    assert fixed is not None and fixed["height_m"] == 1.8 and "conflicts" not in fixed
    dropped = merged_item("S1", both, "s3://b/a.csv", None, "e4")  # a.csv no longer names S1
    assert dropped is not None and dropped["height_m"] == 1.7 and list(dropped["sources"]) == ["s3://b/b.csv"]
    assert merged_item("S1", a, "s3://b/a.csv", None, "e5") is None  # no file names it: the item goes


def test_an_item_from_before_sources_existed_counts_as_its_file():
    legacy = {"subject": "S1", "height_m": 1.8, "source_file": "s3://b/old.csv", "source_etag": "x"}
    item = merged_item("S1", legacy, "s3://b/new.csv", {"subject": "S1", "height_m": 1.6}, "e")
    assert item is not None and item["conflicts"] == {"height_m": "1.6 in s3://b/new.csv; 1.8 in s3://b/old.csv"}


def test_a_file_of_bad_rows_makes_a_bounded_message_and_preview():
    n = 20_000
    frame = pd.DataFrame({"subject": [f"=HYPERLINK({i})" for i in range(n)] + ["S1"], "height": ["x" * 300] * (n + 1)})
    cleaned = clean_table(frame, SPEC)
    assert len(cleaned.rejected_rows) == n and len(cleaned.value_problems) == 1
    report = rejection_report(cleaned, {"S1": {"height_m": "1.8 in a; 1.7 in b"}})
    assert report is not None
    reason, details = report
    assert reason == f"{n} row(s) rejected, 1 value(s) unreadable, 1 conflicting value(s) not stored"
    assert details["counts"] == {
        "rejected_rows": n,
        "value_problems": 1,
        "conflicts_in_file": 0,
        "conflicts_across_files": 1,
    }
    assert len(details["rejected_rows"]) == MAX_REPORTED_PROBLEMS
    assert len(json.dumps(details)) < 32 * 1024
    rows, caption = preview(cleaned.rejected_rows)
    assert len(rows) == PREVIEW_ROWS and caption == f"{n:,} row(s), the first {PREVIEW_ROWS} shown"
