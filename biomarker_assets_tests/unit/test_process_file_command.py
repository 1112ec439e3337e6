"""`biomarker-assets process-file`: the same processing with no AWS and no Dagster."""

import json

import numpy as np
import pyarrow.parquet as pq

from biomarker_assets.cli import main
from biomarker_assets.local.demo import STUDY_FILES

CONFIG = str(STUDY_FILES / "demo.yaml")


def test_gait_file_gives_skdh_truth_and_provenance(samples, tmp_path, capsys):
    out = tmp_path / "out"
    args = [
        "process-file",
        str(samples / "gait_input.npz"),
        "--config",
        CONFIG,
        "--key",
        "raw/lumbar/DM001_V1_lumbar.npz",
        "--input",
        "height=1.88",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    truth = np.load(samples / "gait_results_apcwt.npz")
    gait = pq.read_table(out / "GaitLumbar.parquet")
    for key in truth.files:
        assert np.allclose(gait[key].to_numpy(zero_copy_only=False).astype(float), truth[key], equal_nan=True), key
    record = json.loads((out / "provenance.json").read_text())
    assert record["code"]["pipeline_name"] == "gait" and record["subject"] == {"height": 1.88}
    assert (
        record["input"]["uri"].startswith("file://")
        and record["input"]["size"] == (samples / "gait_input.npz").stat().st_size
    )
    assert {o["uri"] for o in record["outputs"]} == {
        "PredictGaitLumbarLgbm.parquet",
        "GaitLumbar.parquet",
        "summary_rows.parquet",
        "overview.png",
        "headline.json",
    }
    assert (out / "overview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any("skdh_processes.resample.Resample" in p for p in record["code"]["project_processes"])
    assert printed["headline"]["n_strides"] == 81

    # deterministic: the same input, config and code give byte-identical result files
    again = tmp_path / "again"
    assert main([*args[:-1], str(again)]) == 0
    for name in (
        "GaitLumbar.parquet",
        "PredictGaitLumbarLgbm.parquet",
        "summary_rows.parquet",
        "overview.png",
        "headline.json",
    ):
        assert (out / name).read_bytes() == (again / name).read_bytes(), name


def test_missing_requirement_and_unknown_rule_are_clear_errors(samples, tmp_path, capsys):
    gait = str(samples / "gait_input.npz")
    assert main(["process-file", gait, "--config", CONFIG, "--pipeline", "gait", "--out", str(tmp_path)]) == 2
    assert "requires ['height']: give --input height=VALUE" in capsys.readouterr().err
    assert main(["process-file", gait, "--config", CONFIG, "--out", str(tmp_path)]) == 2
    assert "no data rule" in capsys.readouterr().err


def test_corrupt_file_fails_with_the_reason(samples, tmp_path, capsys):
    corrupt = tmp_path / "DM004_V1_wrist.cwa"
    corrupt.write_bytes(b"\x00\xff" * 2048)
    code = main(
        [
            "process-file",
            str(corrupt),
            "--config",
            CONFIG,
            "--key",
            "raw/wrist/DM004_V1_wrist.cwa",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 1
    # refused before SKDH's reader sees it (lib/skdh/file_checks.py)
    assert capsys.readouterr().err == "not an Axivity .cwa file: it has no 1,024-byte 'MD' header (4,096 bytes)\n"


def test_processing_options_follow_the_environment_only_when_set(monkeypatch):
    """Unset: the resource's defaults. Set: BIOMARKER_IMAGE as an EnvVar (resolved at launch, shown in the UI)."""
    import dagster as dg

    from biomarker_assets.defs.resources import processing_options

    monkeypatch.delenv("BIOMARKER_IMAGE", raising=False)
    monkeypatch.delenv("BIOMARKER_EMBED_PLOTS", raising=False)
    assert (processing_options().image, processing_options().embed_plots) == ("local", True)
    monkeypatch.setenv("BIOMARKER_IMAGE", "registry/biomarker-assets:1")
    monkeypatch.setenv("BIOMARKER_EMBED_PLOTS", "0")
    options = processing_options()
    assert options.image == dg.EnvVar("BIOMARKER_IMAGE") and options.embed_plots is False
    with dg.build_resources({"options": options}) as resources:
        assert resources.options.image == "registry/biomarker-assets:1"
