"""Cleaning subject metadata: messy headers, mixed units, stray whitespace.

Every row either becomes a clean subject record or is reported with the reason;
values that cannot be read are reported too, never silently dropped. Metadata files are
untrusted: a subject id that starts like a spreadsheet formula or is over DynamoDB's key size is
rejected per row (before anything is written), reported values are neutralised, and a subject
whose rows disagree keeps no value for that field (a conflict is reported, never guessed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from biomarker_assets.lib.study_config.schema import MetadataFiles

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_ALIASES: dict[str, list[str]] = {
    "subject": [
        "subject",
        "subject id",
        "subjectid",
        "subj",
        "participant",
        "participant id",
        "id",
        "pid",
        "patient id",
    ],
    "height": ["height", "ht", "stature", "body height"],
    "weight": ["weight", "wt", "mass", "body weight", "body mass"],
    "sex": ["sex", "gender", "biological sex"],
    "age": ["age", "age years", "age yrs", "age at enrollment"],
}
_UNIT_WORDS = {
    "mm": "mm",
    "millimeters": "mm",
    "millimetres": "mm",
    "cm": "cm",
    "centimeters": "cm",
    "centimetres": "cm",
    "m": "m",
    "meters": "m",
    "metres": "m",
    "in": "in",
    "inch": "in",
    "inches": "in",
    "kg": "kg",
    "kgs": "kg",
    "lb": "lb",
    "lbs": "lb",
    "pounds": "lb",
    "y": "y",
    "yr": "y",
    "yrs": "y",
    "years": "y",
}
_TO_METRES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254}
_TO_KG = {"kg": 1.0, "lb": 0.45359237}
_SEX = {"f": "F", "female": "F", "woman": "F", "w": "F", "m": "M", "male": "M", "man": "M"}
HEIGHT_RANGE_M = (0.5, 2.5)
WEIGHT_RANGE_KG = (2.0, 400.0)
#: a height with no unit in the cell, the column header or ``height_unit`` is read only where its magnitude
#: cannot be another unit: 1.2-2.5 is metres, 120-250 is centimetres; anything else is rejected, not guessed
#: (a bare 70 may be inches or a child's centimetres, 95 may be inches or nothing plausible).
BARE_HEIGHT_RULES: tuple[tuple[float, float, str], ...] = ((1.2, 2.5, "m"), (120.0, 250.0, "cm"))
#: DynamoDB's limit for a sort key (``subject``); the partition key (``study``) may have 2048.
MAX_SUBJECT_BYTES = 1024
#: a reported cell value is cut to this many characters (messages and the UI stay small)
MAX_REPORTED_VALUE = 100
#: what each record field is compared at: values equal at this precision agree
AGREEMENT_DECIMALS = {"height_m": 2, "weight_kg": 1, "age_years": 1}
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?$")
_NUMBER_UNIT = re.compile(r"^\s*([-+]?\d+(?:[.,]\d+)?)\s*([a-zA-Z]*)\.?\s*$")
_FEET_INCHES = re.compile(r"^\s*(\d+)\s*(?:'|ft)\s*(\d+(?:\.\d+)?)?\s*(?:\"|in)?\s*$")


@dataclass
class CleanedMetadata:
    subjects: list[dict] = field(default_factory=list)
    rejected_rows: list[dict] = field(default_factory=list)  # {"row": n, "reason": ...}
    value_problems: list[dict] = field(default_factory=list)  # {"row", "subject", "field", "value", "reason"}
    conflicts: list[dict] = field(default_factory=list)  # {"row", "subject", "field", "values", "reason"}
    column_map: dict[str, str] = field(default_factory=dict)  # original header -> field


def _normalize_header(name: str) -> tuple[str, str | None]:
    """('height', 'cm') from e.g. ' Height (cm) '; the unit is None when not stated."""
    words = re.sub(r"[^a-z0-9]+", " ", str(name).lower()).split()
    unit = None
    if len(words) > 1 and words[-1] in _UNIT_WORDS:
        unit = _UNIT_WORDS[words[-1]]
        words = words[:-1]
    return " ".join(words), unit


def _map_columns(headers: list[str], spec: MetadataFiles) -> tuple[dict[str, tuple[str, str | None]], dict[str, str]]:
    aliases = {f: [*DEFAULT_ALIASES[f], *(a.lower() for a in spec.columns.get(f, []))] for f in DEFAULT_ALIASES}
    mapping: dict[str, tuple[str, str | None]] = {}
    for header in headers:
        name, unit = _normalize_header(header)
        for fld, names in aliases.items():
            if fld not in mapping and (name in names or str(header).strip().lower() in names):
                mapping[fld] = (header, unit)
                break
    return mapping, {h: f for f, (h, _) in mapping.items()}


def parse_height(raw: str, unit_hint: str | None) -> float:
    """Metres from '70 in', '178cm', '1.78 m', 5'10\"; a bare number by the column's unit, else only where
    unambiguous (:data:`BARE_HEIGHT_RULES`). Unknown units and implausible heights are errors."""
    text = raw.strip().lower()
    feet = _FEET_INCHES.match(text)
    if feet:
        inches = float(feet.group(2) or 0)
        if inches >= 12:
            raise ValueError(f"height {raw!r} has {inches:g} inches (at most 11.99 after the feet)")
        metres = round((int(feet.group(1)) * 12 + inches) * 0.0254, 4)
    else:
        metres = _metres_from_number(raw, unit_hint)
    if not HEIGHT_RANGE_M[0] <= metres <= HEIGHT_RANGE_M[1]:
        raise ValueError(f"height {raw!r} ({metres} m) is outside {HEIGHT_RANGE_M[0]}-{HEIGHT_RANGE_M[1]} m")
    return metres


def _number_and_unit(raw: str, what: str, units: dict[str, float], unit_hint: str | None) -> tuple[float, str | None]:
    """(value, unit) from a cell; the unit stated in the cell wins over the column's. An unknown unit word or
    a unit of another quantity is an error, never ignored."""
    found = _NUMBER_UNIT.match(raw.strip().lower())
    if not found:
        raise ValueError(f"cannot read a {what} from {raw!r}")
    word = found.group(2)
    unit = _UNIT_WORDS.get(word) if word else unit_hint
    if word and unit is None:
        raise ValueError(f"{what} {raw!r}: unknown unit {word!r} (known: {', '.join(units)})")
    if unit is not None and unit not in units:
        raise ValueError(f"{what} {raw!r}: unit {unit!r} is not a {what} unit (known: {', '.join(units)})")
    return float(found.group(1).replace(",", ".")), unit


def _metres_from_number(raw: str, unit_hint: str | None) -> float:
    value, unit = _number_and_unit(raw, "height", _TO_METRES, unit_hint)
    if unit is None:
        unit = next((u for low, high, u in BARE_HEIGHT_RULES if low <= value <= high), None)
        if unit is None:
            ranges = " or ".join(f"{low:g}-{high:g} ({u})" for low, high, u in BARE_HEIGHT_RULES)
            raise ValueError(
                f"height {raw!r} has no unit and {value:g} is ambiguous (a bare height is read only in {ranges}): "
                "state the unit in the cell, the column header or metadata_files.height_unit"
            )
    return round(value * _TO_METRES[unit], 4)


def parse_weight(raw: str, unit_hint: str | None) -> float:
    """Kilograms from '70 kg', '154 lb'; a bare number only with a column unit (kg and lb ranges overlap)."""
    value, unit = _number_and_unit(raw, "weight", _TO_KG, unit_hint)
    if unit is None:
        raise ValueError(
            f"weight {raw!r} has no unit (kg and lb overlap, so it is not guessed): "
            "state kg or lb in the cell or the column header"
        )
    kg = round(value * _TO_KG[unit], 2)
    if not WEIGHT_RANGE_KG[0] <= kg <= WEIGHT_RANGE_KG[1]:
        raise ValueError(f"weight {raw!r} ({kg} kg) is outside {WEIGHT_RANGE_KG[0]:g}-{WEIGHT_RANGE_KG[1]:g} kg")
    return kg


def parse_age(raw: str, unit_hint: str | None) -> float:
    found = _NUMBER_UNIT.match(raw.strip().lower())
    if not found or (found.group(2) and _UNIT_WORDS.get(found.group(2)) != "y"):
        raise ValueError(f"cannot read an age in years from {raw!r}")
    age = float(found.group(1).replace(",", "."))
    if not 0 <= age <= 120:
        raise ValueError(f"age {raw!r} is out of range")
    return int(age) if age.is_integer() else age


def parse_sex(raw: str, unit_hint: str | None) -> str:
    value = _SEX.get(raw.strip().lower())
    if value is None:
        raise ValueError(f"sex {raw!r} is not one of F/M (female/male)")
    return value


_PARSERS = {"height": parse_height, "weight": parse_weight, "age": parse_age, "sex": parse_sex}
# Record fields in SI units; the name says the unit so nobody has to guess.
RECORD_FIELD = {"height": "height_m", "weight": "weight_kg", "age": "age_years", "sex": "sex"}


def read_table(path: Path, fmt: str | None) -> pd.DataFrame:
    import pandas as pd  # imported on use: the code location loads without it

    fmt = fmt or ("xlsx" if path.suffix.lower() in (".xlsx", ".xls") else "csv")
    # strings throughout: ids like 007 must stay 007, and units may sit inside cells
    if fmt == "xlsx":
        return pd.read_excel(path, dtype=str)
    return pd.read_csv(path, dtype=str, skipinitialspace=True, keep_default_na=False)


def looks_like_formula(text: str) -> bool:
    """A cell a spreadsheet would run (``=cmd|...``, ``+``, ``-``, ``@``, tab, CR first), unless it is a number."""
    return text.startswith(_FORMULA_STARTS) and not _NUMBER.match(text.strip())


def neutralised(text: str) -> str:
    """A cell safe to report: cut to MAX_REPORTED_VALUE, and a formula made inert with a leading quote."""
    cut = text if len(text) <= MAX_REPORTED_VALUE else text[: MAX_REPORTED_VALUE - 1] + "…"
    return "'" + cut if looks_like_formula(cut) else cut


def _subject_problem(subject: str) -> str | None:
    if not subject or subject.lower() == "nan":
        return "empty subject id"
    if looks_like_formula(subject):
        return f"subject id {neutralised(subject)!r} starts like a spreadsheet formula: rejected, not stored"
    size = len(subject.encode())
    if size > MAX_SUBJECT_BYTES:
        return f"subject id is {size:,} bytes; DynamoDB keys allow at most {MAX_SUBJECT_BYTES:,} (the subject sort key)"
    return None


def _parse_row(
    row: dict, row_number: int, subject: str, mapping: dict, spec: MetadataFiles, out: CleanedMetadata
) -> dict:
    record: dict = {"subject": subject}
    for fld, parser in _PARSERS.items():
        if fld not in mapping:
            continue
        header, unit = mapping[fld]
        raw = str(row[header] if row[header] is not None else "").strip()
        if not raw or raw.lower() in ("nan", "na", "n/a", "none", "-"):
            continue
        if fld == "height" and spec.height_unit != "auto":
            unit = spec.height_unit
        try:
            record[RECORD_FIELD[fld]] = parser(raw, unit)
        except ValueError as exc:
            reason = str(exc).replace(repr(raw), repr(neutralised(raw)))
            out.value_problems.append(
                {"row": row_number, "subject": subject, "field": fld, "value": neutralised(raw), "reason": reason}
            )
    return record


def agreement_value(fld: str, value: object) -> object:
    """The value two sources are compared at (heights to the cm, ...): equal here means they agree."""
    digits = AGREEMENT_DECIMALS.get(fld)
    return round(value, digits) if digits is not None and isinstance(value, float | int) else value


def _merge_repeat(first: dict, again: dict, rows: tuple[int, int], out: CleanedMetadata) -> bool:
    """Fold a repeated row into the subject's record; a field the rows disagree on becomes a conflict.

    A conflicted field holds the list of the values found, so no later step can pick one of them.
    A value only one of the rows gives is kept. Returns whether the rows agree on every field.
    """
    agree = True
    for fld, value in again.items():
        if fld == "subject":
            continue
        if fld not in first:
            first[fld] = value
            continue
        known = first[fld] if isinstance(first[fld], list) else [first[fld]]
        if any(agreement_value(fld, v) == agreement_value(fld, value) for v in known):
            continue
        agree = False
        first[fld] = [*known, value]
        out.conflicts.append(
            {
                "row": rows[1],
                "subject": first["subject"],
                "field": fld,
                "values": first[fld],
                "reason": f"rows {rows[0]} and {rows[1]} disagree on {fld} {first[fld]}: not guessed, none stored",
            }
        )
    return agree


def clean_table(frame: pd.DataFrame, spec: MetadataFiles) -> CleanedMetadata:
    out = CleanedMetadata()
    mapping, out.column_map = _map_columns(list(frame.columns), spec)
    if "subject" not in mapping:
        headers = [neutralised(str(c)) for c in list(frame.columns)[:50]]
        out.rejected_rows = [{"row": None, "reason": f"no subject id column among {headers}"}]
        return out
    seen: dict[str, tuple[int, dict]] = {}
    for row_number, row in enumerate(frame.to_dict("records"), start=2):  # 1 is the header line
        subject = str(row[mapping["subject"][0]] or "").strip()
        problem = _subject_problem(subject)
        if problem:
            out.rejected_rows.append({"row": row_number, "reason": problem})
            continue
        record = _parse_row(row, row_number, subject, mapping, spec, out)
        if subject in seen:
            first_row, first = seen[subject]
            if _merge_repeat(first, record, (first_row, row_number), out):
                out.rejected_rows.append({"row": row_number, "reason": f"subject {subject!r} repeats row {first_row}"})
            continue
        seen[subject] = (row_number, record)
        out.subjects.append(record)
    return out
