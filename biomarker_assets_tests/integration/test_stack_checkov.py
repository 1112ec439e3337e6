"""checkov on the stack: zero failed checks, and every skip justified in the template and listed in the README.

checkov pins ``boto3==1.35.49`` and ``packaging<24`` (3.3.30; every 3.x pins boto3 exactly), which
would downgrade this project's boto3 and botocore, so it cannot sit in the ``test`` extra. It runs
from its own virtual environment, ``.venv-checkov`` at the repository root, which the first test
run creates (about a minute, once) so the README's one test command needs nothing else::

    python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov==3.3.30

``$CHECKOV`` names another checkov executable instead. A run takes about 4 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from biomarker_assets.deploy.stack import TEMPLATE

REPO = Path(__file__).resolve().parents[2]
CHECKOV_VERSION = "3.3.30"
INSTALL = f"python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov=={CHECKOV_VERSION}"


def checkov_executable() -> str:
    """``$CHECKOV``, else the pinned checkov in ``.venv-checkov``, installed there on first use."""
    if os.environ.get("CHECKOV"):
        return os.environ["CHECKOV"]
    venv = REPO / ".venv-checkov"
    executable = venv / "bin" / "checkov"
    if not executable.is_file():
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [str(venv / "bin" / "pip"), "install", "-q", f"checkov=={CHECKOV_VERSION}"],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, timeout=900, check=False)
            if done.returncode != 0:
                pytest.fail(f"could not install checkov ({INSTALL}): {done.stderr[-2000:]}")
    return str(executable)


def checkov(path: Path) -> dict:
    """checkov's JSON report of one CloudFormation file (no network: --skip-download)."""
    done = subprocess.run(
        [checkov_executable(), "-f", str(path), "--framework", "cloudformation", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]  # 1 = some check failed
    return json.loads(done.stdout)


def template_skips() -> dict[tuple[str, str], str]:
    """(check id, resource) -> the comment given with the skip in the template's Metadata."""
    text = TEMPLATE.read_text()
    skips = {}
    for name, resource in _plain_yaml(text)["Resources"].items():
        for skip in (resource.get("Metadata") or {}).get("checkov", {}).get("skip", []):
            skips[(skip["id"], name)] = skip.get("comment", "")
    return skips


def _plain_yaml(text: str) -> dict:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    return yaml.load(text, Loader=Loader)


def readme_security_model() -> str:
    readme = (REPO / "README.md").read_text()
    return readme.split("## Security model", 1)[1].split("\n## ", 1)[0]


def test_checkov_reports_no_failed_check_on_the_stack():
    report = checkov(TEMPLATE)
    summary, results = report["summary"], report["results"]
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in results["failed_checks"]]
    assert failed == [] and summary["parsing_errors"] == 0
    assert summary["passed"] > 100 and summary["checkov_version"] == CHECKOV_VERSION
    skipped = {(c["check_id"], c["resource"].split(".", 1)[1]) for c in results["skipped_checks"]}
    assert skipped == set(template_skips()), "a skip in the template that checkov did not use (or vice versa)"


def test_every_skip_is_justified_in_the_template_and_the_readme():
    skips = template_skips()
    assert skips, "expected the template's justified skips"
    section = readme_security_model()
    for (check, resource), comment in skips.items():
        assert len(comment) >= 30, f"{check} on {resource}: no reason given"
        row = next((line for line in section.splitlines() if check in line and resource in line), None)
        assert row is not None, f"README's Security model does not list {check} on {resource}"


def test_checkov_catches_a_regression(tmp_path):
    """Non-vacuous: the same run flags a bucket that loses its access logging and IAM database authentication."""
    text = TEMPLATE.read_text()
    broken = text.replace(
        "      LoggingConfiguration: {DestinationBucketName: !Ref AccessLogBucket, LogFilePrefix: results/}\n", ""
    )
    broken = broken.replace("      EnableIAMDatabaseAuthentication: true\n", "")
    assert len(broken) < len(text) - 100
    path = tmp_path / "stack.yaml"
    path.write_text(broken)
    failed = {(c["check_id"], c["resource"]) for c in checkov(path)["results"]["failed_checks"]}
    assert ("CKV_AWS_18", "AWS::S3::Bucket.ResultsBucket") in failed
    assert ("CKV_AWS_161", "AWS::RDS::DBInstance.Database") in failed
