"""What a provenance record says about the code: corrections with their notes, every parameter, the numeric stack."""

from __future__ import annotations

import inspect

from biomarker_assets.lib.biomarkers.processing import corrections, project_processes
from biomarker_assets.lib.provenance import image_digest
from biomarker_assets.lib.skdh.resolved import day_windows, resolved_steps
from biomarker_assets.lib.skdh.version import package_versions
from biomarker_assets.local.pipeline_specs import WRIST_PIPELINE_SPEC
from biomarker_assets.skdh_processes.sleep import SLEEP_FIX_NOTE


def test_sleep_corrected_is_named_with_its_fix_note():
    """The README promises the note; the code read an attribute SleepCorrected did not define."""
    [fix] = [c for c in corrections(WRIST_PIPELINE_SPEC) if c.process.endswith("SleepCorrected")]
    assert fix.process == "skdh_processes.sleep.SleepCorrected" and fix.note == SLEEP_FIX_NOTE
    assert f"skdh_processes.sleep.SleepCorrected: {SLEEP_FIX_NOTE}" in project_processes(WRIST_PIPELINE_SPEC)


def test_resolved_pipeline_fills_every_skdh_default():
    from skdh.activity import ActivityLevelClassification

    spec = {"Steps": [{**step, "parameters": {}} for step in WRIST_PIPELINE_SPEC["Steps"]]}  # nothing set
    steps = {s["name"]: s for s in resolved_steps(spec)}
    activity = steps["ActivityLevelClassification"]
    expected = {k: p.default for k, p in inspect.signature(ActivityLevelClassification).parameters.items()}
    assert set(activity["parameters"]) == set(expected) and activity["set_in_config"] == []
    assert activity["parameters"]["short_wlen"] == 5 and activity["parameters"]["day_window"] == [0, 24]
    assert steps["SleepCorrected"]["process"] == "biomarker_assets.skdh_processes.sleep.SleepCorrected"
    assert day_windows(list(steps.values())) == {"SleepCorrected": (12, 24), "ActivityLevelClassification": (0, 24)}


def test_numeric_stack_and_image_digest(monkeypatch):
    versions = package_versions()
    assert all(versions[name] for name in ("numpy", "scipy", "pandas", "lightgbm", "scikit-digital-health", "pyarrow"))
    monkeypatch.delenv("BIOMARKER_IMAGE_DIGEST", raising=False)
    assert image_digest("biomarker-assets:1.0") is None
    assert image_digest("123.dkr.ecr.aws/biomarker-assets@sha256:abc") == "sha256:abc"
    monkeypatch.setenv("BIOMARKER_IMAGE_DIGEST", "sha256:def")
    assert image_digest("biomarker-assets:1.0") == "sha256:def"
