"""Hostile study configs: code-running YAML tags, aliases, depth, size, duplicate keys, thousands of errors.

Each case asserts the exact outcome: a ConfigError naming the problem (never RecursionError, never a
side effect), and a bounded invalid_config notice. The loader must stay safe: the payload test writes
a marker file if any ``!!python`` tag is ever constructed.
"""

from __future__ import annotations

import copy
import json
import textwrap

import pytest
import skdh
import yaml

from biomarker_assets.lib.catalog.problem_notices import MAX_ERRORS_IN_MESSAGE, config_error_notice, notice_for
from biomarker_assets.lib.skdh.pipeline import load_pipeline
from biomarker_assets.lib.study_config.loading import MAX_CONFIG_BYTES, ConfigError, parse_config
from biomarker_assets.lib.study_config.yaml_safe import MAX_DEPTH, MAX_NODES
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.skdh_processes.sleep import SleepCorrected

DEMO_TEXT = (STUDY_FILES / "demo.yaml").read_text()
DEMO = yaml.safe_load(DEMO_TEXT)


def _errors(text: str | bytes) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "hostile.yaml")
    return info.value.errors


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:builtins.exec",
        "!!python/object/new:builtins.exec",
        "!!python/name:builtins.exec",
        "!!python/module:os",
    ],
)
def test_python_tags_never_run_and_the_config_is_invalid(tmp_path, tag):
    marker = tmp_path / "payload-ran.marker"
    payload = f"open({str(marker)!r}, 'w').write('ran')"
    text = DEMO_TEXT + f"\nextra: {tag} [{json.dumps(payload)}]\n"
    # the same document through an unsafe loader really runs the payload: the test can fail
    if tag == "!!python/object/apply:builtins.exec":
        yaml.unsafe_load(text)
        assert marker.exists()
        marker.unlink()
    errors = _errors(text)
    assert not marker.exists()
    assert len(errors) == 1 and errors[0].startswith("(document): not valid YAML: could not determine a constructor")


@pytest.mark.parametrize("style", ["block", "flow"])
def test_a_config_nested_1000_levels_deep_is_invalid_not_a_recursion_error(style):
    if style == "flow":
        text = "study: deep\nnested: " + "[" * 1000 + "]" * 1000 + "\n"
    else:
        text = (
            "study: deep\nnested:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(1000)) + "  " * 1001 + "x\n"
        )
    assert len(text) < 1_100_000
    errors = _errors(text)
    assert errors == [errors[0]] and f"nested deeper than {MAX_DEPTH} levels" in errors[0], errors


def test_the_deepest_accepted_nesting_still_parses():
    text = DEMO_TEXT + "\nextra: " + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2) + "\n"
    assert all("nested deeper" not in e for e in _errors(text))  # refused by the schema (extra key), not the depth


def test_alias_bomb_is_refused_before_expanding():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
    )
    text = DEMO_TEXT + "\n" + bomb  # 10**9 values once expanded, in 600 bytes
    assert len(bomb) < 700
    errors = _errors(text)
    assert len(errors) == 1
    assert errors[0].startswith(f"(document): not valid YAML: expands to more than {MAX_NODES:,} values"), errors
    bomb_line = len(DEMO_TEXT.splitlines()) + 1 + 5  # "e: &e [*d, ...": 111,111 values, the first over
    assert f"line {bomb_line}," in errors[0], errors


def test_a_small_alias_is_read_as_its_value():
    """``Pipeline.save`` writes an anchor and alias when two parameters share one tuple object."""
    text = DEMO_TEXT.replace("expected_fs: 50}", "expected_fs: &fs 50.0}").replace("{goal_fs: 50.0,", "{goal_fs: *fs,")
    assert text.count("*fs") == 1
    steps = parse_config(text).config.pipelines["gait"].skdh["Steps"]
    assert steps[1]["parameters"] == {"goal_fs": 50.0, "skdh_filter": True}


def test_a_config_over_the_size_limit_is_refused_before_parsing():
    text = DEMO_TEXT + "\ndescription_padding: '" + "x" * MAX_CONFIG_BYTES + "'\n"
    errors = _errors(text)
    assert errors == [
        f"(document): {len(text.encode()):,} bytes is over the {MAX_CONFIG_BYTES:,}-byte limit for a study config"
    ]


def test_duplicate_keys_are_refused_with_the_key_and_both_lines():
    lines = DEMO_TEXT.splitlines()
    bucket_line = next(i for i, line in enumerate(lines) if line.startswith("bucket:")) + 1
    text = DEMO_TEXT + "\nbucket: someone-elses-bucket\n"
    errors = _errors(text)
    last_line = len(text.splitlines())
    assert len(errors) == 1
    assert f"found duplicate key 'bucket' on line {last_line} (first on line {bucket_line})" in errors[0], errors
    nested = DEMO_TEXT.replace("parameters: {goal_fs: 50.0,", "parameters: {goal_fs: 50.0, goal_fs: 5.0,")
    assert "found duplicate key 'goal_fs'" in _errors(nested)[0]


def test_a_huge_integer_is_an_error_not_a_crash():
    errors = _errors(DEMO_TEXT + "\nextra: " + "9" * 5000 + "\n")
    assert len(errors) == 1 and errors[0].startswith("(document): not readable YAML: ValueError")


def test_a_pipeline_exactly_as_pipeline_save_writes_it_is_accepted(tmp_path):
    """``skdh.Pipeline.save`` writes tuples as ``!!python/tuple``; they are read as lists, nothing else."""
    built = skdh.Pipeline()  # the demo's wrist-day pipeline, built in code with tuples as SKDH's defaults are
    built.add(skdh.io.ReadBin())
    built.add(skdh.preprocessing.AccelThresholdWearDetection())
    built.add(skdh.preprocessing.GetDayWindowIndices(bases=12, periods=24))
    built.add(SleepCorrected(day_window=(12, 24)))
    built.add(skdh.activity.ActivityLevelClassification(day_window=(12, 24)))
    built.save(str(tmp_path / "wrist.skdh"))
    saved = (tmp_path / "wrist.skdh").read_text()
    assert "!!python/tuple" in saved
    text = DEMO_TEXT.split("\npipelines:")[0] + textwrap.dedent(
        """
        pipelines:
          wrist-day:
            version: "2"
            skdh:
        """
    )
    text += textwrap.indent(saved, "      ")
    text += "".join(
        f"  {name}:\n    version: '1'\n    skdh: {json.dumps(DEMO['pipelines']['wrist-day']['skdh'])}\n"
        for name in ("wrist-activity", "clinic-activity", "gait", "walk-test")
    )
    loaded = parse_config(text)
    spec = loaded.config.pipelines["wrist-day"].skdh
    sleep = next(s for s in spec["Steps"] if s["process"] == "SleepCorrected")
    assert sleep["parameters"]["day_window"] == [12, 24]  # a list: no tuple constructor ran
    assert sleep["parameters"]["save_per_minute_results"] is False
    activity = spec["Steps"][-1]["parameters"]
    assert activity["max_accel_lens"] == [6, 15, 60] and activity["cutpoints"]["metric"] == "metric_enmo"
    assert [type(p).__name__ for p in load_pipeline(spec)] == [s["process"] for s in spec["Steps"]]


def test_thousands_of_errors_make_a_bounded_message_with_the_count():
    config = copy.deepcopy(DEMO)
    config["data_files"] = [{"match": {"glob": "x"}, "pipeline": "p", f"bad{i}": "y" * 100} for i in range(3000)]
    with pytest.raises(ConfigError) as info:
        parse_config(yaml.safe_dump(config), "many.yaml")
    assert len(info.value.errors) == 3000  # the CLI and the exception keep every error
    for notice in (config_error_notice(info.value), notice_for(info.value)):
        assert notice.kind == "invalid_config" and notice.reason == "3000 error(s) in the study config"
        assert notice.details["error_count"] == 3000
        shown = notice.details["errors"]
        assert shown[:MAX_ERRORS_IN_MESSAGE] == info.value.errors[:MAX_ERRORS_IN_MESSAGE]
        assert shown[-1].startswith(f"... and {3000 - MAX_ERRORS_IN_MESSAGE} more")
        assert len(json.dumps(notice.details)) < 16 * 1024


def test_long_errors_are_cut_in_the_message():
    error = ConfigError("x.yaml", ["a" * 5000])
    (shown,) = config_error_notice(error).details["errors"]
    assert len(shown) == 500 and shown.endswith("…")
