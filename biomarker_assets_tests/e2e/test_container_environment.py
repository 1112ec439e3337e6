"""The image's environment, built outside Docker (no engine here) and run.

The slow test does what the Dockerfile does, in a fresh venv: install container/requirements.txt,
the project with --no-deps, ``pip check``, container/check_environment.py; then runs the
container's one-file command on SKDH's gait sample. A fresh venv (about a minute with pip's
cache warm from the project's own install) rather than the test venv, because the test venv
resolves pyproject's ranges and can hold other versions than the image pins.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
CONTAINER = REPO / "container"


# Run in the image's venv: the installed packages that the project's core dependencies do not
# reach (extras followed only where a requirement names them), and the ones they need but lack.
CLOSURE = """
import json, re
from importlib.metadata import distributions
from packaging.requirements import Requirement

def key(name):
    return re.sub(r"[-_.]+", "-", name).lower()

installed = {key(d.metadata["Name"]): d for d in distributions()}
seen, todo, missing = set(), [("biomarker-assets", ())], set()
while todo:
    name, extras = todo.pop()
    if (key(name), extras) in seen:
        continue
    seen.add((key(name), extras))
    if key(name) not in installed:
        missing.add(key(name))
        continue
    for spec in installed[key(name)].requires or []:
        req = Requirement(spec)
        envs = [{"extra": extra} for extra in extras] or [{"extra": ""}]
        if req.marker is None or any(req.marker.evaluate(env) for env in envs):
            todo.append((req.name, tuple(sorted(req.extras))))
reached = {name for name, _ in seen}
print(json.dumps({"unreached": sorted(set(installed) - reached - {"pip", "setuptools", "wheel"}),
                  "missing": sorted(missing)}))
"""


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in (CONTAINER / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"not an exact pin: {line!r}"
            key = normalized(name)
            assert key not in found, f"{name} pinned twice"
            found[key] = version
    return found


@pytest.mark.unit
def test_pins_satisfy_pyproject_and_skdh_is_the_pinned_release() -> None:
    locked = pins()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = normalized(requirement.name)
        assert name in locked, f"{requirement.name} is a dependency but not pinned in container/requirements.txt"
        assert requirement.specifier.contains(locked[name], prereleases=True), (spec, locked[name])
    assert "scikit-digital-health==0.17.18" in project["dependencies"] and locked["scikit-digital-health"] == "0.17.18"
    assert "biomarker-assets" not in locked  # installed from the source with --no-deps


@pytest.mark.unit
def test_the_local_stand_in_is_an_extra_and_not_in_the_image() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    local = {normalized(Requirement(spec).name) for spec in project["optional-dependencies"]["local"]}
    assert "moto" in local
    assert not local & {normalized(Requirement(spec).name) for spec in project["dependencies"]}
    assert "biomarker-assets[local]" in project["optional-dependencies"]["test"]  # the tests use the stand-in
    assert not local & set(pins()), "container/requirements.txt pins the local stand-in"


def _env_names(node) -> set[str]:
    return {item["Name"] for item in node or [] if isinstance(item, dict) and "Name" in item}


@pytest.mark.unit
def test_stack_task_definitions_set_every_variable_the_instance_reads() -> None:
    """The launcher passes no environment with a pre-registered task definition: the stack must."""

    class Loader(yaml.SafeLoader):
        pass

    def tag(loader, suffix, node):
        if isinstance(node, yaml.SequenceNode):
            return {suffix: loader.construct_sequence(node, deep=True)}
        if isinstance(node, yaml.MappingNode):
            return {suffix: loader.construct_mapping(node, deep=True)}
        return {suffix: loader.construct_scalar(node)}

    Loader.add_multi_constructor("!", tag)
    stack = yaml.load((REPO / "biomarker_assets" / "deploy" / "stack.yaml").read_text(), Loader=Loader)
    instance_text = (CONTAINER / "dagster.yaml").read_text()
    wanted = set(re.findall(r"\{env: ([A-Z0-9_]+)\}", instance_text))
    assert {"DAGSTER_POSTGRES_PASSWORD", "BIOMARKER_RUN_TASK_DEFINITION", "BIOMARKER_ECS_CLUSTER"} <= wanted
    for name in ("WebserverTaskDefinition", "DaemonTaskDefinition", "RunTaskDefinition"):
        [container] = stack["Resources"][name]["Properties"]["ContainerDefinitions"]
        secrets = container.get("Secrets")
        if isinstance(secrets, dict) and "If" in secrets:  # only on AWS; both branches listed
            secrets = [s for branch in secrets["If"][1:] if isinstance(branch, list) for s in branch]
        provided = _env_names(container.get("Environment")) | _env_names(secrets)
        assert wanted <= provided, f"{name} lacks {sorted(wanted - provided)}"
    run = stack["Resources"]["RunTaskDefinition"]["Properties"]
    assert run["ContainerDefinitions"][0]["Name"] == "run"
    assert run["Family"] == {"Sub": "biomarker-assets-run-${Environment}"}


@pytest.mark.unit
def test_dockerfile_installs_the_pins_and_the_instance() -> None:
    dockerfile = (CONTAINER / "Dockerfile").read_text()
    assert "FROM --platform=linux/amd64 python:3.11" in dockerfile
    assert "pip install -r container/requirements.txt" in dockerfile
    assert "pip install --no-deps ." in dockerfile and "python container/check_environment.py" in dockerfile
    assert "COPY container/dagster.yaml ${DAGSTER_HOME}/dagster.yaml" in dockerfile
    assert "ENTRYPOINT []" in dockerfile


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.timeout(900)
def test_image_environment_builds_and_runs_the_container_command(tmp_path: Path, samples: Path) -> None:
    venv = tmp_path / "image"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PIP_NO_INPUT": "1",
        "XDG_CACHE_HOME": str(Path.home() / ".cache"),
    }  # pip's cache, warm from the project's install
    subprocess.run([*pip, "install", "-r", str(CONTAINER / "requirements.txt")], check=True, env=env)
    # the Dockerfile's COPY: only these reach the image (and the build stays out of the work tree)
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "workspace.yaml"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "biomarker_assets", source / "biomarker_assets", ignore=shutil.ignore_patterns("__pycache__")
    )
    subprocess.run([*pip, "install", "--no-deps", str(source)], check=True, env=env)
    subprocess.run([*pip, "check"], check=True, env=env)
    # the pins are exactly what the core dependencies need: nothing of moto's closure, nothing stale
    closure = subprocess.run(
        [str(venv / "bin" / "python"), "-c", CLOSURE], check=True, env=env, capture_output=True, text=True
    )
    assert json.loads(closure.stdout) == {"unreached": [], "missing": []}, closure.stdout
    checked = subprocess.run(
        [str(venv / "bin" / "python"), str(CONTAINER / "check_environment.py")],
        check=True,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert checked.stdout.startswith("ok: SKDH 0.17.18"), checked.stdout + checked.stderr

    # the container's command for one file, without Dagster or AWS
    out = tmp_path / "out"
    subprocess.run(
        [
            str(venv / "bin" / "biomarker-assets"),
            "process-file",
            str(samples / "gait_input.npz"),
            "--config",
            str(REPO / "biomarker_assets" / "local" / "demo_study" / "demo.yaml"),
            "--pipeline",
            "gait",
            "--input",
            "height=1.88",
            "--out",
            str(out),
        ],
        check=True,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=300,
    )
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["code"]["skdh_version"] == "0.17.18"
    assert json.loads((out / "headline.json").read_text())["gait_speed_m_s"] > 0.5
