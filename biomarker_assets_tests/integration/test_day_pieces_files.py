"""Day pieces through the real piece reader (``piece_files``) equal the whole-file run on ``.cwa`` and ``.bin`` files.

``run_file`` picks day pieces for these files; its results must be ``run_pipeline``'s on the same
path, key for key (indices exact, floats to 1e-12), and provenance must be able to say so.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from biomarker_assets.lib.skdh.execution import run_pipeline
from biomarker_assets.lib.skdh.file_run import run_file
from biomarker_assets.lib.skdh.pipeline import load_pipeline
from biomarker_assets.local.pipeline_specs import WRIST_PIPELINE_SPEC, pipeline_step
from biomarker_assets_tests.unit.test_piecewise import READ_CWA, _same

pytest.importorskip("biomarker_assets.lib.skdh.piece_files")


def _cwa_spec() -> dict:
    spec = copy.deepcopy(WRIST_PIPELINE_SPEC)
    spec["Steps"][0] = READ_CWA
    return spec


def test_generated_cwa_across_dst_in_day_pieces_equals_whole_file(tmp_path: Path) -> None:
    from biomarker_assets.local.axivity_cwa import write_wrist_cwa

    path = write_wrist_cwa(tmp_path / "dst.cwa", days=1.5, fs=25.0, seed=6, start="2026-10-24 12:00:00")
    spec = _cwa_spec()
    inputs: dict[str, Any] = {"tz_name": "Europe/London"}
    expected = run_pipeline(load_pipeline(spec), path, **inputs)
    final: dict = {}
    got, how = run_file(load_pipeline(spec), spec, path, final_inputs=final, **inputs)
    assert how["mode"] == "day_pieces", how
    _same(got, expected)
    assert final["file_n_samples"] == int(1.5 * 86400 * 25) and "accel" not in final


def test_skdh_geneactiv_sample_in_day_pieces_equals_whole_file(samples: Path) -> None:
    spec = copy.deepcopy(WRIST_PIPELINE_SPEC)
    path = samples / "gnactv_sample.bin"
    got, how = run_file(load_pipeline(spec), spec, path)
    assert how["mode"] == "day_pieces", how
    _same(got, run_pipeline(load_pipeline(spec), path))


def test_a_step_the_pieces_do_not_reproduce_runs_whole_file_with_the_reason(samples: Path) -> None:
    spec = _cwa_spec()
    spec["Steps"].append(pipeline_step("GaitLumbar", "gait", {}))
    _, how = run_file(load_pipeline(_cwa_spec()), spec, samples / "ax3_sample.cwa")
    assert how["mode"] == "whole_file" and "GaitLumbar" in how["reason"]
