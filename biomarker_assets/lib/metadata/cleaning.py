"""Cleaning subject metadata: messy headers, mixed units, stray whitespace.

Every row either becomes a clean subject record or is reported with the reason;
values that cannot be read are reported too, never silently dropped.
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
_TO_METRES = {"m": 1.0, "cm": 0.01, "in": 0.0254}
_TO_KG = {"kg": 1.0, "lb": 0.45359237}
_SEX = {"f": "F", "female": "F", "woman": "F", "w": "F", "m": "M", "male": "M", "man": "M"}
HEIGHT_RANGE_M = (0.5, 2.5)
_NUMBER_UNIT = re.compile(r"^\s*([-+]?\d+(?:[.,]\d+)?)\s*([a-zA-Z]*)\.?\s*$")
_FEET_INCHES = re.compile(r"^\s*(\d+)\s*(?:'|ft)\s*(\d+(?:\.\d+)?)?\s*(?:\"|in)?\s*$")


@dataclass
class CleanedMetadata:
    subjects: list[dict] = field(default_factory=list)
    rejected_rows: list[dict] = field(default_factory=list)  # {"row": n, "reason": ...}
    value_problems: list[dict] = field(default_factory=list)  # {"row", "subject", "field", "value", "reason"}
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
    """Metres from '70', '70 in', '178cm', '1.78 m', 5'10\"; bare numbers by column unit or magnitude."""
    text = raw.strip().lower()
    feet = _FEET_INCHES.match(text)
    if feet:
        return round((int(feet.group(1)) * 12 + float(feet.group(2) or 0)) * 0.0254, 4)
    found = _NUMBER_UNIT.match(text)
    if not found:
        raise ValueError(f"cannot read a height from {raw!r}")
    value = float(found.group(1).replace(",", "."))
    unit = _UNIT_WORDS.get(found.group(2)) if found.group(2) else unit_hint
    if unit not in (None, *_TO_METRES):
        raise ValueError(f"unit {found.group(2)!r} is not a length")
    if unit is None:  # magnitude: adults are 0.5-2.5 m, 20-96 in, 100-250 cm
        unit = "m" if value < 3 else "in" if value <= 96 else "cm"
    metres = round(value * _TO_METRES[unit], 4)
    if not HEIGHT_RANGE_M[0] <= metres <= HEIGHT_RANGE_M[1]:
        raise ValueError(f"height {raw!r} ({metres} m) is outside {HEIGHT_RANGE_M[0]}-{HEIGHT_RANGE_M[1]} m")
    return metres


def parse_weight(raw: str, unit_hint: str | None) -> float:
    found = _NUMBER_UNIT.match(raw.strip().lower())
    if not found:
        raise ValueError(f"cannot read a weight from {raw!r}")
    unit = _UNIT_WORDS.get(found.group(2)) if found.group(2) else (unit_hint or "kg")
    if unit not in _TO_KG:
        raise ValueError(f"unit {found.group(2)!r} is not a mass")
    kg = round(float(found.group(1).replace(",", ".")) * _TO_KG[unit], 2)
    if not 2 <= kg <= 400:
        raise ValueError(f"weight {raw!r} ({kg} kg) is out of range")
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


def clean_table(frame: pd.DataFrame, spec: MetadataFiles) -> CleanedMetadata:
    out = CleanedMetadata()
    mapping, out.column_map = _map_columns(list(frame.columns), spec)
    if "subject" not in mapping:
        out.rejected_rows = [{"row": None, "reason": f"no subject id column among {list(frame.columns)}"}]
        return out
    seen: dict[str, int] = {}
    for row_number, row in enumerate(frame.to_dict("records"), start=2):  # 1 is the header line
        subject = str(row[mapping["subject"][0]] or "").strip()
        if not subject or subject.lower() == "nan":
            out.rejected_rows.append({"row": row_number, "reason": "empty subject id"})
            continue
        if subject in seen:
            out.rejected_rows.append({"row": row_number, "reason": f"subject {subject!r} repeats row {seen[subject]}"})
            continue
        seen[subject] = row_number
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
                out.value_problems.append(
                    {"row": row_number, "subject": subject, "field": fld, "value": raw, "reason": str(exc)}
                )
        out.subjects.append(record)
    return out
