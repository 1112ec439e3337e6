from datetime import date

import pandas as pd
import pytest

from biomarker_assets.lib.metadata.cleaning import clean_table, parse_height, read_table
from biomarker_assets.lib.study_config.schema import FilePattern, MetadataFiles
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.metadata_table import MetadataTable

SPEC = MetadataFiles(match=FilePattern(glob="*.csv"))


def test_demo_subjects_are_cleaned_to_si_units():
    cleaned = clean_table(read_table(STUDY_FILES / "subjects.csv", None), SPEC)
    by_id = {s["subject"]: s for s in cleaned.subjects}
    assert sorted(by_id) == ["DM001", "DM002", "DM003", "DM004", "DM005", "DM006"]
    assert by_id["DM001"] == {"subject": "DM001", "height_m": 1.88, "sex": "M", "age_years": 41}
    assert by_id["DM002"]["height_m"] == pytest.approx(65 * 0.0254, abs=1e-4)  # "65 in"
    assert by_id["DM004"]["height_m"] == pytest.approx(70 * 0.0254, abs=1e-4)  # "70 in" (a bare 70 is rejected)
    assert by_id["DM005"]["height_m"] == 1.71 and by_id["DM005"]["sex"] == "F"
    assert "height_m" not in by_id["DM003"]  # empty cell: no height, no complaint
    assert "height_m" not in by_id["DM006"]  # "tall": reported below
    assert cleaned.value_problems == [
        {"row": 7, "subject": "DM006", "field": "height", "value": "tall", "reason": "cannot read a height from 'tall'"}
    ]
    assert cleaned.rejected_rows == [{"row": 8, "reason": "empty subject id"}]
    assert cleaned.column_map == {
        "Subject ID ": "subject",
        "Height  ": "height",
        "Gender": "sex",
        "AGE (years) ": "age",
    }


@pytest.mark.parametrize(
    "raw,unit,metres",
    [
        ("1.88", None, 1.88),
        ("188", None, 1.88),
        ("6'2\"", None, 1.8796),
        ("180", "cm", 1.8),
        ("70", "in", 1.778),
        ("1,75 m", None, 1.75),
        ("5 ft 10", None, 1.778),
    ],
)
def test_height_units(raw, unit, metres):
    assert parse_height(raw, unit) == pytest.approx(metres, abs=1e-4)


@pytest.mark.parametrize("raw", ["300 cm", "12 kg", "0.2", "abc", "74"])
def test_impossible_heights_are_errors(raw):
    with pytest.raises(ValueError):
        parse_height(raw, None)


def test_duplicate_subject_and_missing_id_column_are_reported():
    frame = pd.DataFrame({"participant": ["A1", "A1"], "height (cm)": ["170", "171"]})
    cleaned = clean_table(frame, SPEC)
    assert [s["height_m"] for s in cleaned.subjects] == [[1.7, 1.71]]  # a conflict: neither height is used
    assert [c["subject"] for c in cleaned.conflicts] == ["A1"] and cleaned.rejected_rows == []
    no_id = clean_table(pd.DataFrame({"height": ["170"]}), SPEC)
    assert no_id.subjects == [] and "no subject id column" in no_id.rejected_rows[0]["reason"]


def test_config_aliases_extend_the_defaults():
    spec = MetadataFiles(match=FilePattern(glob="*.csv"), columns={"subject": ["Code"], "height": ["Größe"]})
    cleaned = clean_table(pd.DataFrame({"Code": ["Z9"], "Größe": ["1.6"]}), spec)
    assert cleaned.subjects == [{"subject": "Z9", "height_m": 1.6}]


def test_metadata_table_stores_and_returns_the_types_it_was_given(aws):
    """Stored attributes are the ones the table always held; ints come back ints, floats floats."""
    table = MetadataTable()
    first = {
        "subject": "S000",
        "height_m": 1.88,
        "age_years": 41,
        "weight_kg": 70.0,  # a whole float stays a float
        "consented": True,
        "sex": "M",
        "visit": date(2026, 1, 2),  # anything else is stored as its text
        "site": None,  # left out
    }
    others = [{"subject": f"S{i:03d}", "height_m": 1.5 + i / 100, "age_years": 40 + i} for i in range(1, 60)]
    table.put_subjects("types", [first, *others])  # 60 items: three batches of at most 25

    raw = aws_client("dynamodb").get_item(
        TableName=table.table_name, Key={"study": {"S": "types"}, "subject": {"S": "S000"}}
    )["Item"]
    assert raw == {
        "study": {"S": "types"},
        "subject": {"S": "S000"},
        "height_m": {"N": "1.88"},
        "age_years": {"N": "41"},
        "weight_kg": {"N": "70.0"},
        "consented": {"BOOL": True},
        "sex": {"S": "M"},
        "visit": {"S": "2026-01-02"},
    }
    back = table.get_subject("types", "S000")
    assert back == {**{k: v for k, v in first.items() if v is not None}, "visit": "2026-01-02", "study": "types"}
    assert [type(back[k]) for k in ("height_m", "age_years", "weight_kg", "consented")] == [float, int, float, bool]
    assert table.get_subject("types", "nobody") is None

    listed = table.subjects("types")
    assert [s["subject"] for s in listed] == [f"S{i:03d}" for i in range(60)]
    for subject, expected in zip(listed[1:], others, strict=True):
        assert subject == {**expected, "study": "types"}
        assert type(subject["height_m"]) is float and type(subject["age_years"]) is int
