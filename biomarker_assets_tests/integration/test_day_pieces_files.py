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
    whole_warnings: list[str] = []
    expected = run_pipeline(load_pipeline(spec), path, captured_warnings=whole_warnings, **inputs)
    final: dict = {}
    piece_warnings: list[str] = []
    got, how = run_file(load_pipeline(spec), spec, path, captured_warnings=piece_warnings, final_inputs=final, **inputs)
    assert how["mode"] == "day_pieces", how
    _same(got, expected)
    assert sorted(piece_warnings) == sorted(whole_warnings)  # the reader's warnings once, not once per piece
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


@pytest.mark.slow  # about a minute: a 26 h file processed twice
def test_process_local_file_writes_the_same_bytes_in_day_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every output file (tables, summary rows, headline, plot) is byte-identical; provenance says how it ran."""
    import json
    import sys

    from biomarker_assets.lib.biomarkers.processing import process_local_file
    from biomarker_assets.lib.study_config.loading import load_config_file
    from biomarker_assets.local.demo import STUDY_FILES
    from biomarker_assets.local.geneactiv_bin import make_demo_wrist_file

    loaded = load_config_file(str(STUDY_FILES / "demo.yaml"))
    path = make_demo_wrist_file(tmp_path / "DM001_V1_wrist.bin", hours=26.0, fs=50.0, seed=1)
    day_pieces = process_local_file(path, loaded=loaded, pipeline_name="wrist-day", inputs={}, out_dir=tmp_path / "p")
    monkeypatch.setitem(sys.modules, "biomarker_assets.lib.skdh.piece_files", None)
    whole = process_local_file(path, loaded=loaded, pipeline_name="wrist-day", inputs={}, out_dir=tmp_path / "w")
    assert day_pieces.provenance.execution == {"mode": "day_pieces", "piece_seconds": 21600.0}
    assert whole.provenance.execution is not None and whole.provenance.execution["mode"] == "whole_file"
    assert json.loads(day_pieces.provenance_file.read_text())["execution"]["mode"] == "day_pieces"
    names = sorted(f.name for f in whole.result_files if f.name != "provenance.json")
    assert names == sorted(f.name for f in day_pieces.result_files if f.name != "provenance.json")
    assert {"overview.png", "SleepCorrected.parquet", "ActivityLevelClassification.parquet"} <= set(names)
    for name in names:
        assert (tmp_path / "p" / name).read_bytes() == (tmp_path / "w" / name).read_bytes(), name
    assert day_pieces.thumbnail == whole.thumbnail
