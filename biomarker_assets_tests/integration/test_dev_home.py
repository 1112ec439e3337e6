"""`dev` starts Dagster fresh, as the stand-in always starts: no results shown that the stand-in no longer holds."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from biomarker_assets.local.dev import PROJECT_INSTANCE_YAML, banner, fresh_home, write_workspace


@dg.asset(partitions_def=dg.StaticPartitionsDefinition(["demo/raw/wrist/DM001_V1_wrist.bin"]))
def file_biomarkers() -> None:
    return None


def test_fresh_home_clears_dagster_state_and_keeps_other_files(tmp_path: Path) -> None:
    home = tmp_path / ".dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # an older copy
    (home / "notes.txt").write_text("mine")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.materialize([file_biomarkers], instance=instance, partition_key="demo/raw/wrist/DM001_V1_wrist.bin")
        assert result.success
        assert instance.get_materialized_partitions(dg.AssetKey("file_biomarkers"))

    assert fresh_home(home) == home.resolve()

    assert (home / "dagster.yaml").read_text() == PROJECT_INSTANCE_YAML.read_text()
    assert (home / "notes.txt").read_text() == "mine"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_materialized_partitions(dg.AssetKey("file_biomarkers")) == set()
        assert instance.get_runs() == []


def test_workspace_names_the_code_location_biomarker_assets(tmp_path: Path) -> None:
    import yaml

    [entry] = yaml.safe_load(write_workspace(tmp_path).read_text())["load_from"]
    assert entry["python_module"] == {
        "module_name": "biomarker_assets.definitions",
        "location_name": "biomarker_assets",
    }
    repo_workspace = yaml.safe_load((Path(__file__).resolve().parents[2] / "workspace.yaml").read_text())
    assert repo_workspace["load_from"] == [entry]


def test_banner_says_both_start_fresh(tmp_path: Path) -> None:
    text = banner("http://127.0.0.1:5000", tmp_path, 3000, "5")
    assert "Fresh start" in text and "cleared" in text and "http://127.0.0.1:3000" in text


def test_every_config_names_the_code_location_biomarker_assets() -> None:
    """`dagster dev`, `dg`, the production workspace and `dev` show one name, not the module's."""
    import tomllib

    from dagster_dg_core.context import DgContext

    repo = Path(__file__).resolve().parents[2]
    pyproject = tomllib.loads((repo / "pyproject.toml").read_text())
    dg_toml = tomllib.loads((repo / "biomarker_assets" / "dg.toml").read_text())
    assert pyproject["tool"]["dagster"]["code_location_name"] == "biomarker_assets"
    assert dg_toml["project"]["code_location_name"] == "biomarker_assets"
    assert pyproject["tool"]["dg"]["project"] == dg_toml["project"]
    assert DgContext.for_project_environment(repo, {}).code_location_name == "biomarker_assets"
