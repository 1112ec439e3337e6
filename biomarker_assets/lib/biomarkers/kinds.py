"""The biomarker kinds (wear, sleep, activity, gait): the single place to add one.

Per kind: its headline numbers and how they are read from SKDH results, its columns in
the per-file summary rows (lib/summary/rows.py), its columns in the status table
(platform/status.py), and its QC checks (reported as Dagster asset checks).

SKDH 0.17.18 result keys, found by running SKDH:

- GaitLumbar: one row per stride; ``gait speed`` [m/s] (NaN where the stride is not
  complete), ``Bout N`` numbers bouts across the recording, ``Day N`` the day window.
- Sleep (and SleepCorrected): one entry per day window; ``total sleep time`` [min].
- ActivityLevelClassification: one entry per day; ``N wear hours`` (rounded to 0.1 h) and
  ``Wear Minutes`` (not rounded); MVPA minutes in the wake (non-sleep) part of the day, from
  short epochs: ``wake MVPA 5s epoch [min]`` (5 is the ``short_wlen`` parameter). SKDH leaves a
  day's endpoints NaN when it was worn less than the step's ``min_wear_time`` hours.

An endpoint the pipeline computes but SKDH could not (too short a recording, too little wear,
only partial windows) is None in the headline with ``not_computed/<key>`` giving the reason:
never 0 and never a bare NaN.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from biomarker_assets.lib.biomarkers.quality import GENERAL_CHECKS, CheckOutcome, QcCheck, QcInputs, not_applicable
from biomarker_assets.lib.skdh.headlines import WEAR_NOT_COMPUTED, first_step_with, floats, nan_stat
from biomarker_assets.lib.study_config.schema import QualityChecks

Headline = dict[str, float | int | None]
#: prefix of a headline reason key: ``not_computed/mvpa_min`` says why ``mvpa_min`` is None
NOT_COMPUTED = "not_computed/"


@dataclass(frozen=True)
class BiomarkerKind:
    name: str
    headline_keys: tuple[str, ...]
    # SKDH results by step name -> this kind's headline numbers (keys absent or None when not computed)
    headline: Callable[[Mapping[str, Any]], Headline]
    # headline key -> (SKDH result key it is read from, what the reason calls it): a None value of a key whose
    # SKDH key the results hold is explained (see :func:`not_computed_reasons`)
    sources: Mapping[str, tuple[str | re.Pattern, str]] = field(default_factory=dict)
    # (summary column, Arrow type name) in table order
    summary_columns: tuple[tuple[str, str], ...] = ()
    # SKDH day-level endpoint -> summary column (one value per day window)
    day_columns: Mapping[str, str] = field(default_factory=dict)
    # headline key -> short label in the status table
    status_columns: Mapping[str, str] = field(default_factory=dict)
    checks: tuple[QcCheck, ...] = ()


# ---------------------------------------------------------------- wear

_ACT_WEAR_H = "N wear hours"
_SLEEP_WEAR_MIN = "Wear Minutes"


def _wear_headline(results: Mapping[str, Any]) -> Headline:
    """Total worn hours over days: activity's ``Wear Minutes`` / 60 (the worn time SKDH measured; its
    ``N wear hours`` is rounded to 0.1 h, so 1.75 worn minutes read 0.0 h), ``N wear hours`` where a step
    gives only that, else Sleep's ``Wear Minutes`` / 60. Wear detection alone returns sample indices."""
    if first_step_with(results, WEAR_NOT_COMPUTED):
        return {"wear_hours": None}  # the recording is shorter than the wear window: the reason is the step's
    step = first_step_with(results, _ACT_WEAR_H)
    found = (step[0], _SLEEP_WEAR_MIN if _SLEEP_WEAR_MIN in step[0] else _ACT_WEAR_H) if step else None
    found = found or first_step_with(results, _SLEEP_WEAR_MIN)
    if not found:
        return {}
    total = nan_stat(found[0][found[1]], "sum")
    return {"wear_hours": total / 60.0 if total is not None and found[1] == _SLEEP_WEAR_MIN else total}


def _min_wear_time(x: QcInputs) -> CheckOutcome:
    wear, threshold = x.headline.get("wear_hours"), x.qc.min_wear_hours
    if threshold is None:
        return not_applicable("min_wear_time", "qc.min_wear_hours is not configured")
    if wear is None:
        why = x.headline.get(f"{NOT_COMPUTED}wear_hours")
        return CheckOutcome(
            "min_wear_time",
            False,
            f"wear time not computed: {why}"
            if why
            else "qc.min_wear_hours is set but the pipeline computes no wear time",
            {"threshold_hours": threshold},
            warn=True,
        )
    return CheckOutcome(
        "min_wear_time",
        wear >= threshold,
        f"{wear:.2f} h worn (minimum {threshold} h)",
        {"wear_hours": float(wear), "threshold_hours": threshold},
    )


WEAR = BiomarkerKind(
    "wear",
    ("wear_hours",),
    _wear_headline,
    sources={"wear_hours": (re.compile(f"^({_ACT_WEAR_H}|{_SLEEP_WEAR_MIN})$"), "wear time")},
    summary_columns=(("wear_hours", "float64"),),
    day_columns={_ACT_WEAR_H: "wear_hours"},
    status_columns={"wear_hours": "wear h"},
    checks=(QcCheck("min_wear_time", "Worn hours at least the pipeline's qc.min_wear_hours.", _min_wear_time),),
)

# ---------------------------------------------------------------- sleep

_SLEEP_TST = "total sleep time"


def _sleep_headline(results: Mapping[str, Any]) -> Headline:
    """Mean over days of Sleep ``total sleep time``."""
    found = first_step_with(results, _SLEEP_TST)
    return {"total_sleep_time_min": nan_stat(found[0][found[1]], "mean")} if found else {}


SLEEP = BiomarkerKind(
    "sleep",
    ("total_sleep_time_min",),
    _sleep_headline,
    sources={"total_sleep_time_min": (_SLEEP_TST, "total sleep time")},
    summary_columns=(
        ("total_sleep_time_min", "float64"),
        ("sleep_opportunity_min", "float64"),
        ("sleep_onset_latency_min", "float64"),
        ("wake_after_sleep_onset_min", "float64"),
    ),
    day_columns={
        _SLEEP_TST: "total_sleep_time_min",
        "TSO Duration": "sleep_opportunity_min",
        "sleep onset latency": "sleep_onset_latency_min",
        "wake after sleep onset": "wake_after_sleep_onset_min",
    },
    status_columns={"total_sleep_time_min": "sleep min"},
)

# ---------------------------------------------------------------- activity

_ACT_MVPA_RE = re.compile(r"^wake MVPA \d+s epoch \[min\]$")


def _activity_headline(results: Mapping[str, Any]) -> Headline:
    """Mean over days of ``wake MVPA <n>s epoch [min]`` (MVPA minutes per day outside sleep)."""
    found = first_step_with(results, _ACT_MVPA_RE)
    return {"mvpa_min": nan_stat(found[0][found[1]], "mean")} if found else {}


ACTIVITY = BiomarkerKind(
    "activity",
    ("mvpa_min",),
    _activity_headline,
    sources={"mvpa_min": (_ACT_MVPA_RE, "MVPA minutes")},
    summary_columns=(("mvpa_min", "float64"), ("light_min", "float64"), ("sedentary_min", "float64")),
    day_columns={
        "wake MVPA 5s epoch [min]": "mvpa_min",
        "wake light 5s epoch [min]": "light_min",
        "wake sed 5s epoch [min]": "sedentary_min",
    },
    status_columns={"mvpa_min": "MVPA min"},
)

# ---------------------------------------------------------------- gait

GAIT_SPEED, GAIT_BOUT = "gait speed", "Bout N"
#: GaitLumbar per-stride column -> summary column of its mean per bout
GAIT_BOUT_MEANS = {
    GAIT_SPEED: "gait_speed_m_s",
    "cadence": "cadence_steps_min",
    "stride length": "stride_length_m",
    "Bout Duration": "gait_bout_duration_s",
}


def _gait_headline(results: Mapping[str, Any]) -> Headline:
    """Mean ``gait speed`` over strides (NaNs skipped); strides = GaitLumbar rows; bouts = distinct
    (``Day N``, ``Bout N``)."""
    import numpy as np  # imported on use: the code location loads without it

    found = first_step_with(results, GAIT_SPEED)
    if not found:
        return {}
    gait = found[0]
    out: Headline = {"gait_speed_m_s": nan_stat(gait[GAIT_SPEED], "mean")}
    bouts = floats(gait.get(GAIT_BOUT, []))
    out["n_strides"] = int(bouts.size if GAIT_BOUT in gait else floats(gait[GAIT_SPEED]).size)
    if GAIT_BOUT in gait:
        days = floats(gait.get("Day N", np.zeros(bouts.size)))
        days = days if days.size == bouts.size else np.zeros(bouts.size)
        out["n_bouts"] = len(set(zip(days.tolist(), bouts.tolist(), strict=True)))
    return out


GAIT = BiomarkerKind(
    "gait",
    ("gait_speed_m_s", "n_strides", "n_bouts"),
    _gait_headline,
    sources={"gait_speed_m_s": (GAIT_SPEED, "gait speed")},
    summary_columns=(
        ("gait_bout_n", "int64"),
        ("gait_bout_duration_s", "float64"),
        ("gait_strides", "int64"),
        ("gait_speed_m_s", "float64"),
        ("cadence_steps_min", "float64"),
        ("stride_length_m", "float64"),
    ),
    status_columns={"gait_speed_m_s": "gait m/s"},
)

# ---------------------------------------------------------------- all kinds

KINDS: tuple[BiomarkerKind, ...] = (WEAR, SLEEP, ACTIVITY, GAIT)

#: keys of :func:`headline_biomarkers`, always present (None when not computed).
HEADLINE_KEYS: tuple[str, ...] = tuple(k for kind in KINDS for k in kind.headline_keys)
#: headline key -> status table label, in table order
STATUS_COLUMNS: dict[str, str] = {k: v for kind in KINDS for k, v in kind.status_columns.items()}
#: SKDH day-level endpoint -> summary column
DAY_COLUMNS: dict[str, str] = {k: v for kind in KINDS for k, v in kind.day_columns.items()}
#: every QC check, kind-specific first
QC_CHECKS: tuple[QcCheck, ...] = (*(c for kind in KINDS for c in kind.checks), *GENERAL_CHECKS)


def headline_biomarkers(results: Mapping[str, Any], recorded: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A few readable numbers for a summary table; None when the pipeline did not produce them.

    Steps are found by their SKDH result keys (not step names), first match wins. ``results`` may have
    partial windows masked (lib/summary/windows.py); ``recorded`` is what SKDH returned, to tell a value
    left out as partial from one SKDH could not compute. Each None value of an endpoint the pipeline
    computes comes with ``not_computed/<key>``: the reason, in words.
    """
    out: dict[str, Any] = dict.fromkeys(HEADLINE_KEYS)
    for kind in KINDS:
        out.update(kind.headline(results))
    out.update(not_computed_reasons(out, results, recorded if recorded is not None else results))
    return out


def not_computed_reasons(headline: Headline, results: Mapping[str, Any], recorded: Mapping[str, Any]) -> dict:
    """``not_computed/<key>`` -> why, for each headline key that is None though a step returns its SKDH key."""
    reasons: dict[str, str] = {}
    if headline.get("wear_hours") is None and (skipped := first_step_with(results, WEAR_NOT_COMPUTED)):
        reasons[f"{NOT_COMPUTED}wear_hours"] = str(skipped[0][skipped[1]])
    for kind in KINDS:
        for key, (source, what) in kind.sources.items():
            missing = headline.get(key) is None and f"{NOT_COMPUTED}{key}" not in reasons
            found = first_step_with(results, source) if missing else None
            if found:
                reasons[f"{NOT_COMPUTED}{key}"] = _reason(found[0], found[1], recorded, what)
    return reasons


def _reason(step: Mapping[str, Any], key: str, recorded: Mapping[str, Any], what: str) -> str:
    import numpy as np  # imported on use: the code location loads without it

    values = floats(step[key])
    if values.size == 0:
        return f"SKDH returned no {what}: no day window or bout was processed (the recording is too short for one)"
    raw = first_step_with(recorded, key)
    if raw is not None and np.isfinite(floats(raw[0][raw[1]])).any():
        return f"only partial windows (cut by the recording's start or end) have a {what}; headlines leave them out"
    if key == GAIT_SPEED:
        return f"SKDH computed no {what} for any of the {values.size} stride(s): none is a complete stride"
    worn = nan_stat(step.get(_SLEEP_WEAR_MIN, []), "sum")
    wear = f"; {worn:.1f} min worn in all" if worn is not None else ""
    return (
        f"SKDH computed no {what} in any of the {values.size} window(s): too little wear in each "
        f"(a day needs the step's min_wear_time hours){wear}"
    )


def evaluate_qc(
    qc: QualityChecks,
    headline: Mapping[str, Any],
    fs: float | None,
    empty_tables: list[str],
    nominal_fs: float | None = None,
    measured_fs: float | None = None,
    file_findings: Sequence[str] = (),
) -> list[CheckOutcome]:
    """Every QC check on one processed file, in ``QC_CHECKS`` order (rates: the file's, before resampling)."""
    inputs = QcInputs(qc, headline, fs, empty_tables, nominal_fs, measured_fs, tuple(file_findings))
    return [check.evaluate(inputs) for check in QC_CHECKS]
