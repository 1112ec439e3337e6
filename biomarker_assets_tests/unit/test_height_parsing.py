"""Heights and weights are read only when their unit is known and their size plausible; never guessed (#11.8)."""

import pandas as pd
import pytest

from biomarker_assets.lib.metadata.cleaning import clean_table, parse_height, parse_weight
from biomarker_assets.lib.metadata.reporting import rejection_report
from biomarker_assets.lib.study_config.schema import FilePattern, MetadataFiles

SPEC = MetadataFiles(match=FilePattern(glob="*.csv"))


@pytest.mark.parametrize(
    "raw,unit,why",
    [
        ("95", None, "ambiguous"),  # was 2.41 m (read as inches)
        ("70", None, "ambiguous"),  # inches, or a child's centimetres
        ("74", None, "ambiguous"),
        ("3", None, "ambiguous"),
        ("0.9", None, "ambiguous"),  # metres of a child, or nothing: a bare number below 1.2 is not read
        ("260", None, "ambiguous"),
        ("180 mm", None, "outside 0.5-2.5 m"),  # was 1.8 m (mm ignored, read as cm by magnitude)
        ("70 xyz", None, "unknown unit 'xyz'"),  # was 1.78 m (xyz ignored, read as inches)
        ("70 kg", None, "not a height unit"),
        ("180", "kg", "not a height unit"),  # a header that names a mass
        ("30", "cm", "outside 0.5-2.5 m"),  # a column unit is used, and checked
    ],
)
def test_a_height_that_cannot_be_read_for_sure_is_an_error(raw, unit, why):
    with pytest.raises(ValueError, match=why):
        parse_height(raw, unit)


@pytest.mark.parametrize(
    "raw,unit,metres",
    [
        ("1.78", None, 1.78),  # bare 1.2-2.5: metres
        ("178", None, 1.78),  # bare 120-250: centimetres
        ("1780 mm", None, 1.78),
        ("70 in", None, 1.778),
        ("70", "in", 1.778),  # the column says inches
        ("95", "in", 2.413),  # stated, and within 0.5-2.5 m
        ("5'10\"", None, 1.778),
    ],
)
def test_a_height_with_a_known_unit_is_read(raw, unit, metres):
    assert parse_height(raw, unit) == pytest.approx(metres, abs=1e-4)


@pytest.mark.parametrize(
    "raw,unit,why",
    [
        ("70", None, "has no unit"),  # was 70 kg: kg and lb overlap
        ("70 xyz", None, "unknown unit 'xyz'"),  # was 70 kg
        ("70 cm", None, "not a weight unit"),
        ("900 kg", None, "outside 2-400 kg"),
        ("1000", "lb", "outside 2-400 kg"),
    ],
)
def test_a_weight_that_cannot_be_read_for_sure_is_an_error(raw, unit, why):
    with pytest.raises(ValueError, match=why):
        parse_weight(raw, unit)


def test_weights_with_a_unit_are_read():
    assert parse_weight("70", "kg") == 70.0
    assert parse_weight("154 lb", None) == pytest.approx(69.85, abs=0.01)


def test_rejected_values_are_reported_with_row_and_reason_and_not_stored():
    frame = pd.DataFrame(
        {
            "subject": ["A", "B", "C", "D", "E"],
            "height": ["95", "180 mm", "70 xyz", "1.75", "70 in"],
            "weight (kg)": ["70", "70 xyz", "", "80", "900"],
        }
    )
    cleaned = clean_table(frame, SPEC)
    assert cleaned.subjects == [
        {"subject": "A", "weight_kg": 70.0},
        {"subject": "B"},
        {"subject": "C"},
        {"subject": "D", "height_m": 1.75, "weight_kg": 80.0},
        {"subject": "E", "height_m": 1.778},
    ]
    problems = [(p["row"], p["subject"], p["field"], p["value"]) for p in cleaned.value_problems]
    assert problems == [
        (2, "A", "height", "95"),
        (3, "B", "height", "180 mm"),
        (3, "B", "weight", "70 xyz"),
        (4, "C", "height", "70 xyz"),
        (6, "E", "weight", "900"),
    ]
    report = rejection_report(cleaned, {})
    assert report is not None
    reason, details = report
    assert "5 value(s) unreadable" in reason
    assert "ambiguous" in details["value_problems"][0]["reason"]
