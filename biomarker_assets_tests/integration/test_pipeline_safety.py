"""A study config from S3 cannot make the project import code: end to end through the study_configs asset."""

from __future__ import annotations

import copy
import sys

import dagster as dg
import pytest
import yaml

from biomarker_assets.definitions import defs
from biomarker_assets.defs.configs.assets import study_configs
from biomarker_assets.defs.partitions import studies
from biomarker_assets.local.aws_standin import drain_messages
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.study_store import StudyStore

assert defs.resources is not None  # bound in defs/resources.py
RESOURCES = {key: defs.resources[key] for key in ("study_store", "notifier")}
SENTINEL = "bma_sentinel_never_imported"

# study -> (the step a study config sneaks in, what the rejection says about it)
EVIL = {
    "evil-os": ({"process": "system", "package": "os", "module": "path"}, "package 'os' is not allowed"),
    "evil-subprocess": (
        {"process": "Popen", "package": "subprocess", "module": "subprocess"},
        "package 'subprocess' is not allowed",
    ),
    "evil-package": (
        {"process": "Payload", "package": SENTINEL, "module": "payload"},
        f"package '{SENTINEL}' is not allowed",
    ),
    "evil-module": (
        {"process": "Payload", "package": "skdh", "module": SENTINEL},
        f"module '{SENTINEL}' is not an allowed module of package 'skdh'",
    ),
}


def config_for(study: str, extra_step: dict | None) -> dict:
    config = yaml.safe_load((STUDY_FILES / "demo.yaml").read_text())
    config.update(study=study, bucket=f"{study}-data")
    if extra_step is not None:
        steps = config["pipelines"]["gait"]["skdh"]["Steps"]
        steps.insert(
            1,
            {
                "name": extra_step["process"],
                "parameters": {},
                "save_file": None,
                "plot_file": None,
                **copy.deepcopy(extra_step),
            },
        )
    return config


@pytest.fixture
def importable_sentinel(tmp_path, monkeypatch):
    """A real package named SENTINEL on sys.path that leaves a marker file if anything imports it."""
    package = tmp_path / SENTINEL
    package.mkdir()
    marker = tmp_path / "imported.marker"
    (package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\n")
    (package / "payload.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\nclass Payload: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return marker


def test_configs_naming_modules_outside_the_allow_list_are_rejected_before_import(
    aws, instance, importable_sentinel, record_imports
):
    s3 = aws_client("s3")
    for study, (extra, _) in {"good-study": (None, None), **EVIL}.items():
        body = yaml.safe_dump(config_for(study, extra)).encode()
        s3.put_object(Bucket=StudyStore().config_bucket, Key=StudyStore().config_key(study), Body=body)
    assert SENTINEL not in sys.modules
    attempted = record_imports()

    result = dg.materialize([study_configs], instance=instance, resources=RESOURCES)

    assert result.success
    # nothing named by a config was imported, or even looked for
    assert SENTINEL not in sys.modules and f"skdh.{SENTINEL}" not in sys.modules
    assert not importable_sentinel.exists()
    assert not [n for n in attempted if SENTINEL in n], attempted
    # the valid study registers; each bad one is one invalid_config message naming its step
    assert instance.get_dynamic_partitions(studies.name) == ["good-study"]
    messages = {m["study"]: m for m in drain_messages()}
    assert set(messages) == set(EVIL)
    for study, (extra, expected) in EVIL.items():
        message = messages[study]
        assert message["kind"] == "invalid_config"
        assert message["file"] == StudyStore().config_uri(study)
        errors = message["details"]["errors"]
        assert any(
            e.startswith("pipelines.gait.skdh") and f"step 1 ({extra['process']!r}): {expected}" in e for e in errors
        ), errors
