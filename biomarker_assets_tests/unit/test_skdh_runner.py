"""The SKDH core (lib/skdh: allow-list, validation, building, running, tables) and Resample against SKDH's own truth
files (real device recordings)."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import skdh
import yaml
from skdh.pipeline import TupleSafeLoader
from skdh.utility.internal import apply_resample

from biomarker_assets.lib.biomarkers.kinds import HEADLINE_KEYS, headline_biomarkers
from biomarker_assets.lib.skdh.allowlist import ALLOWED_PACKAGES
from biomarker_assets.lib.skdh.digest import jsonable, pipeline_digest
from biomarker_assets.lib.skdh.errors import PipelineSpecError
from biomarker_assets.lib.skdh.execution import read_file, run_pipeline
from biomarker_assets.lib.skdh.pipeline import load_pipeline, spec_from_pipeline
from biomarker_assets.lib.skdh.tables import results_to_tables, write_results
from biomarker_assets.lib.skdh.validation import validate_pipeline_spec
from biomarker_assets.local.pipeline_specs import gait_pipeline_spec
from biomarker_assets.skdh_processes import PROJECT_PROCESSES, Resample

GAIT_PIPELINE_SPEC = gait_pipeline_spec()


def step(process, module, parameters=None, package="skdh", **extra):
    return {
        "name": process,
        "process": process,
        "package": package,
        "module": module,
        "parameters": {} if parameters is None else parameters,
        "save_file": None,
        "plot_file": None,
        **extra,
    }


def spec_of(*steps):
    return {"Steps": list(steps), "Version": skdh.__version__}


# ------------------------------------------------------------------ readers


def test_read_cwa_matches_skdh_truth(samples):
    """Same comparison as SKDH's test_axivity.py::test_ax3 (time relative to the first sample)."""
    reader = step("ReadCwa", "io.axivity")
    warned: list[str] = []
    res = read_file(reader, samples / "ax3_sample.cwa", captured_warnings=warned)
    truth = np.load(samples / "ax3_data.npz")

    assert np.allclose(res["time"] - truth["time"][0], truth["time"] - truth["time"][0], atol=5e-5)
    for key in ("accel", "temperature", "fs"):
        assert np.allclose(res[key], truth[key], atol=5e-5), key
    assert res["accel"].shape == (58800, 3)
    # SKDH warns about naive local timestamps; it is captured, not raised
    assert any("naive" in w for w in warned)

    # the same single-step spec through load/run: reader output is signal, not results
    assert run_pipeline(load_pipeline(spec_of(reader)), samples / "ax3_sample.cwa") == {}


def test_read_geneactiv_matches_skdh_truth(samples):
    """Same comparison as SKDH's test_read_geneactiv.py."""
    res = read_file(step("ReadBin", "io.geneactiv"), samples / "gnactv_sample.bin")
    truth = np.load(samples / "gnactv_data.npz")

    assert np.allclose(res["time"] - truth["time"][0], truth["time"] - truth["time"][0])
    for key in ("accel", "temperature", "light"):
        assert np.allclose(res[key], truth[key], atol=5e-5), key
    assert res["fs"] == 50.0


def test_read_file_refuses_non_reader():
    with pytest.raises(PipelineSpecError, match="not a reader"):
        read_file(step("GaitLumbar", "gait.core"), Path("x.npz"))


# ------------------------------------------------------------------ gait


@pytest.fixture(scope="module")
def gait_results(samples):
    pipeline = load_pipeline(GAIT_PIPELINE_SPEC)
    return run_pipeline(pipeline, samples / "gait_input.npz", height=1.88)


def test_gait_pipeline_reproduces_skdh_apcwt_truth(gait_results, samples):
    """SKDH's test_gait.py::test_apcwt compares every truth key with allclose(equal_nan=True)."""
    truth = np.load(samples / "gait_results_apcwt.npz")
    assert set(gait_results) == {"PredictGaitLumbarLgbm", "GaitLumbar"}
    gait = gait_results["GaitLumbar"]
    assert len(gait["Bout N"]) == 81
    for key in truth.files:
        assert np.allclose(gait[key], truth[key], equal_nan=True), key


def test_gait_vcwt_variant_reproduces_skdh_truth(samples):
    """``gait_results_vcwt.npz``: SKDH's test_gait.py::test_vcwt GaitLumbar parameters."""
    spec = copy.deepcopy(GAIT_PIPELINE_SPEC)
    gait_step = next(s for s in spec["Steps"] if s["process"] == "GaitLumbar")
    gait_step["parameters"] = {
        "downsample": True,
        "gait_event_method": "v cwt",
        "use_cwt_scale_relation": True,
        "wavelet_scale": "default",
        "round_scale": True,
        "max_stride_time": 2.25,
        "loading_factor": 0.2,
    }
    res = run_pipeline(load_pipeline(spec), samples / "gait_input.npz", height=1.88)
    truth = np.load(samples / "gait_results_vcwt.npz")
    gait = res["GaitLumbar"]
    assert len(gait["Bout N"]) == 79
    for key in truth.files:
        assert np.allclose(gait[key], truth[key], equal_nan=True), key


def test_headline_biomarkers_on_gait(gait_results, samples):
    truth = np.load(samples / "gait_results_apcwt.npz")
    head = headline_biomarkers(gait_results)
    assert set(head) == set(HEADLINE_KEYS)
    assert head["gait_speed_m_s"] == pytest.approx(float(np.nanmean(truth["gait speed"])), rel=1e-9)
    assert head["n_strides"] == 81
    assert head["n_bouts"] == len(np.unique(truth["Bout N"]))
    assert head["wear_hours"] is None and head["total_sleep_time_min"] is None and head["mvpa_min"] is None
    json.dumps(head)  # plain Python numbers


def test_headline_biomarkers_activity_and_sleep_keys():
    """Key names as SKDH 0.17.18 returns them (Sleep gives lists, activity arrays); NaN days skipped."""
    results = {
        "Sleep": {
            "Day N": [1, 2],
            "Wear Minutes": [np.float64(720.0), np.float64(1440.0)],
            "total sleep time": [np.int64(400), np.int64(460)],
        },
        "ActivityLevelClassification": {
            "Day N": np.array([1, 2, 3]),
            "N wear hours": np.array([16.5, 23.0, np.nan]),
            "wake MVPA 5s epoch [min]": np.array([30.0, 50.0, np.nan]),
            "wake MVPA 1min bout [min]": np.array([1.0, 1.0, np.nan]),
        },
    }
    head = headline_biomarkers(results)
    assert head["total_sleep_time_min"] == 430.0
    assert head["mvpa_min"] == 40.0
    assert head["wear_hours"] == 39.5
    assert head["gait_speed_m_s"] is None
    del results["ActivityLevelClassification"]
    assert headline_biomarkers(results)["wear_hours"] == 36.0  # Sleep wear minutes / 60


def test_activity_key_names_from_real_run(samples):
    """Guard the headline key names against SKDH renames with a real (5 min) activity run."""
    spec = spec_of(step("ReadCwa", "io.axivity"), step("ActivityLevelClassification", "activity.core"))
    res = run_pipeline(load_pipeline(spec), samples / "ax3_sample.cwa")
    act = res["ActivityLevelClassification"]
    assert "N wear hours" in act and "wake MVPA 5s epoch [min]" in act
    # default min_wear_time is 10 h: a 5-minute file gives a day that SKDH skips, and the headline says why
    head = headline_biomarkers(res)
    assert head["mvpa_min"] is None and "too little wear" in head["not_computed/mvpa_min"]
    # worn time as SKDH measured it (N wear hours rounds it to 0.1 h)
    assert (
        head["wear_hours"] == pytest.approx(float(np.nansum(act["Wear Minutes"])) / 60) and act["N wear hours"] == 0.1
    )
    assert head["wear_hours"] == pytest.approx(58800 / 200.0 / 3600, abs=0.002)  # the AX3 sample: 294 s


# ------------------------------------------------------------------ Resample


def test_resample_matches_skdh_fixture_and_updates_fs(samples):
    data = np.load(samples / "gait_input.npz")
    t50, (a50,) = apply_resample(goal_fs=50.0, time=data["time"], data=(data["accel"],), indices=(), aa_filter=True)
    proc = Resample(goal_fs=50.0, skdh_filter=True)  # SKDH's own filter: the fixture's numbers exactly
    proc._in_pipeline = True  # return the kwargs passed on, as in a pipeline
    n = data["time"].size
    kwargs, res = proc.predict(
        time=data["time"],
        accel=data["accel"],
        fs=197.0,
        temperature=np.full(n, 30.0),
        wear=np.array([[0, n]]),
        day_ends={(0, 24): np.array([[0, n - 1]])},
    )
    assert kwargs["fs"] == 50.0
    assert np.array_equal(kwargs["time"], t50) and np.array_equal(kwargs["accel"], a50)
    assert kwargs["temperature"].shape == (t50.size,) and np.allclose(kwargs["temperature"], 30.0)
    assert kwargs["wear"].tolist() == [[0, t50.size]]
    assert kwargs["day_ends"][(0, 24)].tolist() == [[0, t50.size - 1]]


def test_resample_passes_data_already_at_goal_rate():
    t = 1.7e9 + np.arange(500) / 50.0
    acc = np.random.default_rng(0).standard_normal((500, 3))
    res = Resample(goal_fs=50.0).predict(time=t, accel=acc, fs=49.0)
    assert res == {"fs": 50.0}


# ------------------------------------------------------------------ spec format / digest


def test_gait_spec_is_what_pipeline_save_writes(tmp_path):
    pipeline = load_pipeline(GAIT_PIPELINE_SPEC)
    assert spec_from_pipeline(pipeline) == GAIT_PIPELINE_SPEC
    pipeline.save(str(tmp_path / "gait.skdh"))
    saved = yaml.load((tmp_path / "gait.skdh").read_text(), Loader=TupleSafeLoader)
    assert jsonable(saved) == GAIT_PIPELINE_SPEC
    assert GAIT_PIPELINE_SPEC["Version"] == skdh.__version__
    assert [s["process"] for s in GAIT_PIPELINE_SPEC["Steps"]] == [
        "ReadNumpyFile",
        "Resample",
        "PredictGaitLumbarLgbm",
        "GaitLumbar",
    ]


def test_pipeline_digest_is_canonical():
    spec = GAIT_PIPELINE_SPEC
    reordered = json.loads(json.dumps(spec))
    reordered["Steps"][3]["parameters"] = dict(reversed(list(reordered["Steps"][3]["parameters"].items())))
    reordered = dict(reversed(list(reordered.items())))
    assert pipeline_digest(reordered) == pipeline_digest(spec)
    changed = copy.deepcopy(spec)
    changed["Steps"][1]["parameters"]["goal_fs"] = 100.0
    assert pipeline_digest(changed) != pipeline_digest(spec)
    assert len(pipeline_digest(spec)) == 64


# ------------------------------------------------------------------ allow-list


_MISSING_MODULES = [
    "antigravity",
    "this",
    "skdh.no_such_module_xyz",
    "biomarker_assets.skdh_processes.no_such_xyz",
    "biomarker_assets_evil_xyz",
]

BAD_STEPS = [
    (step("system", "path", package="os"), "package 'os' is not allowed"),
    (step("run", "run", package="subprocess"), "package 'subprocess'"),
    (step("eval", "eval", package="builtins"), "package 'builtins'"),
    (step("fly", "antigravity", package="antigravity"), "package 'antigravity'"),
    (step("Zen", "this", package="this"), "package 'this'"),
    (step("system", "os"), "module 'os'"),
    (step("ReadCwa", ".."), "module '..'"),
    (step("ReadCwa", "../io"), "module '../io'"),
    (step("ReadCwa", "io/../../os"), "module 'io/../../os'"),
    (step("X", "no_such_module_xyz"), "module 'no_such_module_xyz'"),
    (step("X", "io._extensions.read"), "module 'io._extensions.read'"),
    (step("load_pipeline", "skdh_runner", package="biomarker_assets"), "module 'skdh_runner'"),
    (step("X", "settings", package="biomarker_assets"), "module 'settings'"),
    (step("X", "skdh_processes.no_such_xyz", package="biomarker_assets"), "module 'skdh_processes.no_such_xyz'"),
    (step("X", "skdh_processes", package="biomarker_assets_evil_xyz"), "package 'biomarker_assets_evil_xyz'"),
    (step("Eval", "skdh_processes", package="biomarker_assets"), "no SKDH process"),
    (step("apply_resample", "utility.internal"), "no SKDH process"),
    (step("Pipeline", "pipeline"), "no SKDH process"),
    (step("BaseProcess", "base"), "no SKDH process"),
    (step("__class__", "io"), "not a class name"),
    (step("ReadCwa", "io.axivity", save_file="{file}_out.csv"), "save_file must be null"),
    (step("ReadCwa", "io.axivity", plot_file="plot.pdf"), "plot_file must be null"),
    (step("ReadCwa", "io.axivity", parameters=["ext_error", "raise"]), "parameters must be a mapping"),
    (step("GaitLumbar", "gait.core", parameters={"heigth": 1.8}, name="Gait2"), "unknown parameter 'heigth'"),
    (step("ReadCwa", "io.axivity", name="../../evil"), "name '../../evil'"),
    (step("ReadCwa", "io.axivity", extra_key=1), "unknown keys ['extra_key']"),
    ({"process": "ReadCwa", "package": "skdh"}, "missing keys ['module', 'parameters']"),
]


@pytest.mark.parametrize("bad, expected", BAD_STEPS, ids=[str(i) for i in range(len(BAD_STEPS))])
def test_allow_list_rejects_without_importing(bad, expected, record_imports):
    spec = copy.deepcopy(GAIT_PIPELINE_SPEC)
    spec["Steps"].insert(2, bad)
    before = {m for m in _MISSING_MODULES if m in sys.modules}
    attempted = record_imports()

    problems = validate_pipeline_spec(spec)
    with pytest.raises(PipelineSpecError) as err:
        load_pipeline(spec)

    assert problems and all(p.startswith("step 2") for p in problems), problems
    assert any(expected in p for p in problems), problems
    assert err.value.problems == problems
    assert {m for m in _MISSING_MODULES if m in sys.modules} == before
    watched = {bad.get("package"), f"{bad.get('package')}.{bad.get('module')}", *_MISSING_MODULES}
    assert not watched & set(attempted), attempted


def test_spec_level_problems():
    assert validate_pipeline_spec([]) != []
    assert any("'Steps'" in p for p in validate_pipeline_spec({"Version": "0.17.18", "Steps": []}))
    assert any("'Version'" in p for p in validate_pipeline_spec({"Steps": [step("ReadCwa", "io.axivity")]}))
    two = spec_of(step("ReadCwa", "io.axivity"), step("ReadCwa", "io"))
    assert any("duplicate step names" in p for p in validate_pipeline_spec(two))
    with pytest.raises(PipelineSpecError, match="trim_start_factor"):
        load_pipeline(spec_of(step("ReadCwa", "io.axivity", {"trim_start_factor": 500})))


def test_allowed_packages():
    assert set(ALLOWED_PACKAGES) == {"skdh", "biomarker_assets"}
    assert {"io", "io.axivity", "gait", "gait.core", "sleep", "activity", "preprocessing"} <= ALLOWED_PACKAGES["skdh"]
    assert "skdh_processes" in ALLOWED_PACKAGES["biomarker_assets"]
    for name, cls in PROJECT_PROCESSES.items():
        # SleepCorrected needs its day window made before it (the Sleep trap check)
        before = (
            [step("GetDayWindowIndices", "preprocessing.window_days", {"bases": 12, "periods": 24})]
            if name == "SleepCorrected"
            else []
        )
        assert validate_pipeline_spec(spec_of(*before, step(name, "skdh_processes", package="biomarker_assets"))) == []
        mod = cls.__module__.split(".", 1)[1]
        assert validate_pipeline_spec(spec_of(*before, step(name, mod, package="biomarker_assets"))) == []


# ------------------------------------------------------------------ tables / parquet


def test_results_to_tables_and_deterministic_parquet(gait_results, samples, tmp_path):
    tables = results_to_tables(gait_results)
    assert list(tables) == ["PredictGaitLumbarLgbm", "GaitLumbar"]
    gait = tables["GaitLumbar"]
    assert gait.num_rows == 81
    truth = np.load(samples / "gait_results_apcwt.npz")
    assert np.allclose(gait.column("gait speed").to_numpy(zero_copy_only=False), truth["gait speed"], equal_nan=True)
    assert tables["PredictGaitLumbarLgbm"].column("Timezone").null_count == 3

    first = write_results(tables, tmp_path / "a")
    second = write_results(results_to_tables(gait_results), tmp_path / "b")
    assert [p.name for p in first] == ["PredictGaitLumbarLgbm.parquet", "GaitLumbar.parquet"]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()
    back = pq.read_table(first[1])
    assert back.schema.remove_metadata() == gait.schema
    for name in gait.column_names:  # Table.equals treats NaN != NaN
        a, b = gait.column(name).to_numpy(zero_copy_only=False), back.column(name).to_numpy(zero_copy_only=False)
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), name
    assert back.schema.metadata is None or b"pandas" not in back.schema.metadata
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(p.name for p in first)  # no temp files


def test_results_to_tables_shapes():
    results: dict[str, dict] = {
        "Step": {
            "per day": np.array([1.0, 2.0, 3.0]),
            "label": ["a", "b", "c"],
            "matrix": np.arange(6).reshape(3, 2),
            "nested": {"x": np.array([4, 5, 6]), (12, 24): np.array([7, 8, 9])},
            "scalar": 2.5,
            "tz": None,
            "per bout": np.array([10, 20]),
        },
        "Empty": {},
        "Wear": {"wear": np.zeros((0, 2), dtype=int)},
    }
    tables = results_to_tables(results)
    assert list(tables) == ["Step", "Step__2", "Wear"]
    main = tables["Step"]
    assert main.column_names == ["per day", "label", "matrix_0", "matrix_1", "nested/x", "nested/12_24", "scalar", "tz"]
    assert main.column("matrix_1").to_pylist() == [1, 3, 5]
    assert main.column("scalar").to_pylist() == [2.5] * 3
    assert main.column("tz").to_pylist() == [None] * 3
    assert tables["Step__2"].column_names == ["per bout"]
    assert tables["Wear"].num_rows == 0 and tables["Wear"].column_names == ["wear_0", "wear_1"]
    only_scalars = results_to_tables({"S": {"a": 1, "b": "x"}})["S"]
    assert only_scalars.num_rows == 1


def test_biomarker_kinds_registry_orders():
    """Headline keys, status columns and QC checks keep the order results, tables and the UI show them in."""
    from biomarker_assets.lib.biomarkers.kinds import KINDS, QC_CHECKS, STATUS_COLUMNS

    assert [k.name for k in KINDS] == ["wear", "sleep", "activity", "gait"]
    assert HEADLINE_KEYS == ("wear_hours", "total_sleep_time_min", "mvpa_min", "gait_speed_m_s", "n_strides", "n_bouts")
    assert STATUS_COLUMNS == {
        "wear_hours": "wear h",
        "total_sleep_time_min": "sleep min",
        "mvpa_min": "MVPA min",
        "gait_speed_m_s": "gait m/s",
    }
    assert [c.name for c in QC_CHECKS] == [
        "min_wear_time",
        "sampling_rate",
        "results_not_empty",
        "file_complete",
        "endpoints_computed",
    ]


def test_code_location_loads_without_skdh():
    """Code servers and sensors load the definitions often; SKDH and what it pulls in load only to process."""
    import subprocess
    import sys

    code = (
        "import sys, biomarker_assets.definitions as d; d.defs.get_repository_def(); "
        "print([m for m in ('skdh', 'scipy', 'matplotlib', 'lightgbm') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
