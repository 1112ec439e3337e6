"""Wear time of the demo's wrist pipeline is within 15 minutes a day of the plan (issue #11, point 11).

SKDH's default ``AccelThresholdWearDetection`` (60-min windows every 15 min) calls a window
off-wrist only when the device was still for all of it, so each off-wrist spell is found
~45 min short: the generated day, off the wrist 07:00-09:15 (21.75 h worn), read 22.5 h.
The demo's settings, read from demo.yaml itself, must land within 15 min of the plan.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import yaml

from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.local.wrist_recording import generate_wrist_day
from biomarker_assets.skdh_processes.wear import AccelThresholdWearDetectionFast

FS = 50.0  # the demo's wrist file: demo.py writes DM001_V1_wrist.bin as 24 h at 50 Hz, seed 1
DEMO_SEED = 1
TOLERANCE_H = 0.25


def _demo_wear_parameters() -> dict:
    """The wear step's parameters as demo.yaml gives them, SKDH's defaults filled in."""
    spec = yaml.safe_load((STUDY_FILES / "demo.yaml").read_text())["pipelines"]["wrist-day"]["skdh"]
    [step] = [s for s in spec["Steps"] if s["name"] == "AccelThresholdWearDetection"]
    defaults = {name: p.default for name, p in inspect.signature(AccelThresholdWearDetectionFast).parameters.items()}
    return {**defaults, **step["parameters"]}


def _worn_hours(day: dict, **parameters: object) -> float:
    wear = AccelThresholdWearDetectionFast(**parameters).predict(time=day["time"], accel=day["accel"], fs=FS)["wear"]
    n = day["time"].size
    return float((np.minimum(wear[:, 1], n) - wear[:, 0]).sum() / FS / 3600)


def _planned_worn_hours(day: dict) -> float:
    return sum(i1 - i0 for i0, i1, kind in day["segments"] if kind != "nonwear") / FS / 3600


@pytest.fixture(scope="module", params=[DEMO_SEED, 0, 3])  # the demo's day, and two other days of the plan
def day(request) -> dict:
    return generate_wrist_day(hours=24.0, fs=FS, seed=request.param)


def test_plan_is_off_wrist_two_and_a_quarter_hours(day):
    assert _planned_worn_hours(day) == pytest.approx(21.75)


def test_skdh_defaults_overstate_wear_by_45_minutes(day):
    """What the demo used before: the bug this test pins (60/15 reads 22.5 h)."""
    assert _worn_hours(day, window_length=60, window_skip=15) == pytest.approx(22.5)


def test_demo_wear_settings_are_within_15_minutes_of_the_plan(day):
    worn = _worn_hours(day, **_demo_wear_parameters())
    assert abs(worn - _planned_worn_hours(day)) <= TOLERANCE_H + 1e-9
