"""Study config validation: the demo config passes; each broken one names its bad field."""

import copy
import json
import subprocess
import sys

import pytest
import yaml

from biomarker_assets.cli import main
from biomarker_assets.lib.study_config.loading import SCHEMA_PATH, ConfigError, json_schema, parse_config
from biomarker_assets.local.demo import STUDY_FILES

DEMO = yaml.safe_load((STUDY_FILES / "demo.yaml").read_text())


def _broken(mutate):
    doc = copy.deepcopy(DEMO)
    mutate(doc)
    return yaml.safe_dump(doc)


def _set(path, value):
    def mutate(doc):
        target = doc
        for part in path[:-1]:
            target = target[part]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return mutate


BROKEN = {
    "missing study id": (_set(["study"], KeyError), "study: Field required"),
    "study id with capitals": (_set(["study"], "My Study"), "study: String should match pattern"),
    "bucket name invalid": (_set(["bucket"], "Bad_Bucket"), "bucket: String should match pattern"),
    "prefix without slash": (_set(["prefixes"], ["raw"]), "prefixes: Value error, prefix 'raw' must end with '/'"),
    "no prefixes": (_set(["prefixes"], []), "prefixes: List should have at least 1 item"),
    "unknown top-level field": (_set(["buckets"], ["x"]), "buckets: Extra inputs are not permitted"),
    "file-name regex does not compile": (
        _set(["filename", "pattern"], "(?P<subject>DM"),
        "filename.pattern: Value error, regex does not compile",
    ),
    "required field not a group": (
        _set(["filename", "required_fields"], ["subject", "arm"]),
        "filename: Value error, required_fields ['arm']",
    ),
    "data rule names undefined pipeline": (
        _set(["data_files", 0, "pipeline"], "nope"),
        "pipeline 'nope' is not defined",
    ),
    "glob and regex both given": (
        _set(["data_files", 0, "match"], {"glob": "a", "regex": "b"}),
        "data_files[0].match: Value error, give exactly one",
    ),
    "pipeline without version": (
        _set(["pipelines", "gait", "version"], KeyError),
        "pipelines.gait.version: Field required",
    ),
    "unknown requirement": (
        _set(["pipelines", "gait", "requires"], ["shoe_size"]),
        "pipelines.gait.requires[0]: Input should be",
    ),
    "pipeline imports os": (
        _set(
            ["pipelines", "gait", "skdh", "Steps", 0],
            {
                "name": "x",
                "process": "system",
                "package": "os",
                "module": "path",
                "parameters": {},
                "save_file": None,
                "plot_file": None,
            },
        ),
        "pipelines.gait.skdh: Value error",
    ),
    "unknown metadata field alias": (
        _set(["metadata_files", 0, "columns"], {"shoe": ["Shoe"]}),
        "metadata_files[0].columns: Value error, unknown subject fields ['shoe']",
    ),
    "results inside data prefix": (_set(["results_prefix"], "raw/results/"), "overlaps data prefix 'raw/'"),
    "time zone not in the tz database": (
        _set(["time_zone"], "Europe/Londn"),
        "time_zone: Value error, time_zone 'Europe/Londn' is not an IANA time zone name",
    ),
    "time zone as a path": (_set(["time_zone"], "../../etc/passwd"), "time_zone: Value error"),
    "files_per_run zero": (_set(["files_per_run"], 0), "files_per_run: Input should be greater than or equal to 1"),
    "files_per_run over the bound": (
        _set(["files_per_run"], 501),
        "files_per_run: Input should be less than or equal to 500",
    ),
    "files_per_run not a number": (_set(["files_per_run"], "many"), "files_per_run: Input should be a valid integer"),
    "height unit unknown": (
        _set(["metadata_files", 0, "height_unit"], "ft"),
        "metadata_files[0].height_unit: Input should be",
    ),
}


def test_demo_config_is_valid():
    loaded = parse_config((STUDY_FILES / "demo.yaml").read_text())
    assert loaded.config.study == "demo"
    assert loaded.config.pipelines["gait"].requires == ["height"]
    assert loaded.config.time_zone == "Europe/London"
    assert len(loaded.digest) == 64
    assert loaded.config.files_per_run == 1  # default: a run per file


def test_files_per_run_within_bounds_is_accepted():
    for value in (1, 25, 500):
        assert parse_config(_broken(_set(["files_per_run"], value))).config.files_per_run == value


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_config_names_its_field(name):
    mutate, expected = BROKEN[name]
    with pytest.raises(ConfigError) as info:
        parse_config(_broken(mutate), "broken.yaml")
    assert any(expected in error for error in info.value.errors), info.value.errors


def test_not_yaml_and_not_a_mapping():
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_config("study: [unclosed")
    with pytest.raises(ConfigError, match="must be a mapping"):
        parse_config("- a\n- b\n")


def test_validate_config_command_lists_every_error(tmp_path, capsys):
    good = STUDY_FILES / "demo.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text(_broken(lambda d: (d.update(bucket="Bad_Bucket", prefixes=["raw"]), d.pop("study"))))
    assert main(["validate-config", str(good)]) == 0
    assert "OK (study demo" in capsys.readouterr().out
    assert main(["validate-config", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "INVALID (3 error(s))" in out
    for field in ("study: Field required", "bucket: String should match", "prefixes: Value error"):
        assert field in out


def test_broken_demo_config_is_rejected_with_paths():
    with pytest.raises(ConfigError) as info:
        parse_config((STUDY_FILES / "broken-study.yaml").read_text())
    fields = {e.split(":")[0] for e in info.value.errors}
    assert {"bucket", "prefixes", "filename.pattern", "pipelines"} <= fields


def test_exported_json_schema_is_current():
    assert SCHEMA_PATH.read_text() == json_schema(), "run: biomarker-assets config-schema > " + str(SCHEMA_PATH)
    schema = json.loads(SCHEMA_PATH.read_text())
    assert {"study", "bucket", "prefixes", "filename", "data_files", "pipelines"} <= set(schema["required"])


def test_demo_wrist_pipeline_is_the_tested_wrist_pipeline():
    """demo.yaml spells only non-default parameters; it must build the pipeline test_wrist_recording checks."""
    from biomarker_assets.lib.skdh.pipeline import load_pipeline, spec_from_pipeline
    from biomarker_assets.local.pipeline_specs import WRIST_PIPELINE_SPEC

    demo = parse_config((STUDY_FILES / "demo.yaml").read_text()).config.pipelines["wrist-day"].skdh
    assert spec_from_pipeline(load_pipeline(demo)) == spec_from_pipeline(load_pipeline(WRIST_PIPELINE_SPEC))


def _imported_after(code: str) -> list[str]:
    """Which of the heavy or AWS-facing packages a fresh interpreter has loaded after ``code``."""
    watched = ("boto3", "botocore", "dagster", "dagster_webserver", "moto", "biomarker_assets.resources")
    probe = f"{code}\nimport sys\nprint(sorted(m for m in {watched!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1].replace("'", '"'))


def test_config_parsing_and_its_commands_load_no_aws_and_no_dagster():
    """lib/ parses; fetching is the StudyStore resource's job, so checking a file needs neither."""
    demo = str(STUDY_FILES / "demo.yaml")
    assert _imported_after("import biomarker_assets.lib.study_config.loading") == []
    assert _imported_after(f"from biomarker_assets.cli import main\nmain(['validate-config', {demo!r}])") == []
    assert _imported_after("from biomarker_assets.cli import main\nmain(['config-schema'])") == []
    # the demo study's files (many tests read them) come without Dagster or moto
    assert {"dagster", "moto", "dagster_webserver"}.isdisjoint(_imported_after("import biomarker_assets.local.demo"))
