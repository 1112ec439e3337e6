"""The allow-list of SKDH parameter values: dangerous values refused at validation, pickles refused at run time.

Two directions, so the suite fails whichever way the allow-list is weakened: every class's own
defaults (what ``Pipeline.save`` writes) must pass, and each dangerous value must be refused with
its reason. The run-time test builds an ``.npz`` whose pickle writes a marker file when loaded.
"""

from __future__ import annotations

import importlib
import inspect
import pickle
from typing import Any

import numpy as np
import pytest
import skdh
import yaml
from skdh.base import BaseProcess

from biomarker_assets.lib.skdh.allowlist import ALLOWED_PACKAGES, resolve_process
from biomarker_assets.lib.skdh.digest import jsonable
from biomarker_assets.lib.skdh.errors import PipelineSpecError
from biomarker_assets.lib.skdh.execution import ReaderFailed, run_pipeline
from biomarker_assets.lib.skdh.parameter_policy import POLICY, parameter_value_problems, qualified_name
from biomarker_assets.lib.skdh.pipeline import load_pipeline, step_parameters
from biomarker_assets.lib.skdh.validation import validate_pipeline_spec
from biomarker_assets.lib.study_config.yaml_safe import load_untrusted_yaml

#: classes a spec could name (module allow-list) that have no parameter allow-list on purpose
REFUSED = {"skdh.io.base.BaseIO": "a base class taking **kwargs"}
#: required constructor arguments, to build each class with its defaults
REQUIRED: dict[str, dict[str, Any]] = {
    "skdh.io.csv.ReadCSV": {"time_col_name": "t", "column_names": {"accel": ["x", "y", "z"]}},
    "skdh.io.apdm.ReadApdmH5": {"sensor_location": "Lumbar"},
    "skdh.activity.core.StaudenmayerClassification": {"arm_axis": 0},
    "skdh.io.multireader.MultiReader": {"mode": "combine", "reader": "ReadNumpyFile"},
}


def _reachable_classes() -> dict[str, type]:
    """Every BaseProcess subclass a spec can name through the module allow-list."""
    found: dict[str, type] = {}
    for package, modules in ALLOWED_PACKAGES.items():
        for module in modules:
            mod = importlib.import_module(f"{package}.{module}")
            for name, obj in vars(mod).items():
                if isinstance(obj, type) and issubclass(obj, BaseProcess) and obj is not BaseProcess:
                    cls = resolve_process(package, module, name)
                    if cls is not None:
                        found[qualified_name(cls)] = cls
    return found


CLASSES = _reachable_classes()


def test_every_nameable_class_has_a_parameter_allow_list_or_is_refused():
    assert set(CLASSES) == set(POLICY) | set(REFUSED), set(CLASSES) ^ (set(POLICY) | set(REFUSED))
    for name in REFUSED:
        assert parameter_value_problems(CLASSES[name], {}) == [
            f"{name} has no parameter allow-list in lib/skdh/parameter_policy.py, so it cannot be used"
        ]


@pytest.mark.parametrize("name", sorted(POLICY))
def test_each_allow_list_names_exactly_the_class_parameters(name):
    """An SKDH upgrade that adds or renames a parameter shows up here, to be read and given a rule."""
    signature = set(inspect.signature(CLASSES[name]).parameters)
    assert set(POLICY[name]) == signature


@pytest.mark.parametrize("name", sorted(POLICY))
def test_each_class_defaults_as_pipeline_save_writes_them_pass(name):
    """Removing any parameter entry (or tightening it past SKDH's own default) fails here."""
    cls = CLASSES[name]
    signature = inspect.signature(cls).parameters
    defaults = {k: p.default for k, p in signature.items() if p.default is not inspect.Parameter.empty}
    # what the process keeps (and Pipeline.save writes) wins; SKDH keeps some parameters under other
    # names (CtaWearDetection: temp_thresh), which a saved pipeline cannot load back anyway
    kept = {k: v for k, v in step_parameters(cls(**REQUIRED.get(name, {}))).items() if k in signature}
    params = jsonable({**defaults, **REQUIRED.get(name, {}), **kept})
    params = load_untrusted_yaml(yaml.dump(params).encode())  # tuples tagged as Pipeline.save does, read back
    assert set(params) == set(POLICY[name])  # every entry was exercised
    assert parameter_value_problems(cls, params) == []


def _step(process: str, module: str, **parameters: object) -> dict:
    return {"name": None, "process": process, "package": "skdh", "module": module, "parameters": parameters}


HOSTILE = {
    "npz-allow-pickle": (
        _step("ReadNumpyFile", "io.numpy_compressed", allow_pickle=True),
        "parameter 'allow_pickle' must be False: a pickled object in an .npz runs code when it is read",
    ),
    "multireader-kw-allow-pickle": (
        _step(
            "MultiReader", "io.multireader", mode="combine", reader="ReadNumpyFile", reader_kw={"allow_pickle": True}
        ),
        "reader_kw: parameter 'allow_pickle' must be False: a pickled object",
    ),
    "multireader-per-file-kw-allow-pickle": (
        _step(
            "MultiReader",
            "io.multireader",
            mode="leave",
            reader="ReadNumpyFile",
            reader_kw=[{}, {"allow_pickle": True}],
        ),
        "reader_kw[1]: parameter 'allow_pickle' must be False",
    ),
    "multireader-unknown-kw": (
        _step("MultiReader", "io.multireader", mode="combine", reader="ReadCwa", reader_kw={"anything": 1}),
        "reader_kw: parameter 'anything' is not an allow-listed parameter of ReadCwa",
    ),
    "multireader-reader-not-a-reader": (
        _step("MultiReader", "io.multireader", mode="combine", reader="numpy_compressed"),
        "parameter 'reader' must be one of ['ReadCwa', 'ReadBin', 'ReadCSV', 'ReadNumpyFile'",
    ),
    "csv-free-form-read-kwargs": (
        _step(
            "ReadCSV",
            "io.csv",
            time_col_name="t",
            column_names={"accel": "a"},
            read_csv_kwargs={"engine": "python", "storage_options": {"x": 1}},
        ),
        "parameter 'read_csv_kwargs' must be null or has keys ['engine', 'storage_options'] that are not allowed",
    ),
    "csv-free-form-datetime-kwargs": (
        _step("ReadCSV", "io.csv", time_col_name="t", column_names={"accel": "a"}, to_datetime_kwargs={"cache": True}),
        "parameter 'to_datetime_kwargs' must be null or has keys ['cache'] that are not allowed",
    ),
    "cutpoints-metric-any-attribute": (
        _step(
            "ActivityLevelClassification",
            "activity.core",
            cutpoints={"metric": "sosfiltfilt", "kwargs": {}, "sedentary": 0.1, "light": 0.2, "moderate": 0.3},
        ),
        "key 'metric' must be one of ['metric_anglez'",
    ),
    "activity-epoch-file": (
        _step("ActivityLevelClassification", "activity.core", save_epoch_data=True),
        "parameter 'save_epoch_data' must be False: it only makes SKDH write local files",
    ),
    "sleep-per-minute-file": (
        _step("Sleep", "sleep.sleep", save_per_minute_results=True),
        "parameter 'save_per_minute_results' must be False",
    ),
    "gait-nested-pipeline": (
        _step("GaitLumbar", "gait.core", bout_processing_pipeline={"Steps": []}),
        "parameter 'bout_processing_pipeline' must be None: a nested pipeline object cannot come from a config",
    ),
    "gait-filter-kwargs": (
        _step("GaitLumbar", "gait.core", ap_axis_filter_kw={"N": 4, "analog": True}),
        "parameter 'ap_axis_filter_kw' must be null or has keys ['analog'] that are not allowed",
    ),
    "sit2stand-peak-kwargs": (
        _step("Sit2Stand", "sit2stand.sit2stand", power_peak_kw={"height": 90, "x": 1}),
        "has keys ['x'] that are not allowed",
    ),
    "huge-loop-count": (
        _step("CalibrateAccelerometer", "preprocessing.calibrate", max_iter=10**12),
        "parameter 'max_iter' must be a finite number of at most 1e+09",
    ),
    "not-a-number": (
        _step("CalibrateAccelerometer", "preprocessing.calibrate", tol=float("nan")),
        "parameter 'tol' must be a finite number",
    ),
    "long-text": (
        _step("ReadApdmH5", "io.apdm", sensor_location="x" * 5000),
        "parameter 'sensor_location' must be a text of at most 200 chars",
    ),
    "mapping-where-a-pair-goes": (
        _step("Sleep", "sleep.sleep", day_window={"a": 1}),
        "parameter 'day_window' must be null or must be a list of 2-2 items",
    ),
    "base-class-with-kwargs": (
        _step("BaseIO", "io.base", anything="goes"),
        "skdh.io.base.BaseIO has no parameter allow-list",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_dangerous_parameter_values_are_refused_at_validation(case):
    step, expected = HOSTILE[case]
    problems = validate_pipeline_spec({"Steps": [step], "Version": skdh.__version__})
    assert any(expected in p for p in problems), problems


def _pickle_bomb_npz(path, marker) -> None:
    """An .npz whose 'accel' is a pickled object that writes ``marker`` when unpickled."""

    class Payload:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').write('payload ran')",))

    payload = np.empty(1, dtype=object)
    payload[0] = Payload()
    np.savez(path, time=np.arange(100.0), accel=payload)
    assert b"exec" in pickle.dumps(Payload())


def test_a_pickle_in_an_npz_never_runs_even_from_a_pipeline_built_with_allow_pickle(tmp_path):
    """The run-time guard, not validation: a pipeline built in code with allow_pickle=True still refuses."""
    marker = tmp_path / "payload.marker"
    npz = tmp_path / "evil.npz"
    _pickle_bomb_npz(npz, marker)
    # the file really is a payload: numpy's own loader with pickles allowed runs it
    with np.load(npz, allow_pickle=True) as data:
        data["accel"]
    assert marker.exists()
    marker.unlink()

    built = skdh.Pipeline()
    built.add(skdh.io.ReadNumpyFile(allow_pickle=True))
    with pytest.raises(ReaderFailed, match="Object arrays cannot be loaded when allow_pickle=False"):
        run_pipeline(built, npz)
    assert not marker.exists()

    multi = skdh.Pipeline()
    multi.add(skdh.io.MultiReader(mode="leave", reader="ReadNumpyFile", reader_kw={"allow_pickle": True}))
    with pytest.raises(ValueError, match="allow_pickle=False"):
        multi.run(files=[str(npz)])
    assert not marker.exists()


def test_a_spec_with_allow_pickle_is_never_built(tmp_path):
    with pytest.raises(PipelineSpecError, match="allow_pickle"):
        load_pipeline({"Steps": [HOSTILE["npz-allow-pickle"][0]], "Version": skdh.__version__})


def test_names_skdh_resolves_with_getattr_match_the_installed_skdh():
    """Cutpoint sets and metrics are looked up by name inside SKDH: the lists must be exactly SKDH's."""
    from skdh.activity import metrics
    from skdh.activity.cutpoints import _base_cutpoints  # the one place SKDH keeps them

    from biomarker_assets.lib.skdh.parameter_kwargs import CUTPOINT_NAMES, METRICS

    assert sorted(CUTPOINT_NAMES) == sorted(_base_cutpoints)
    assert sorted(METRICS) == sorted(
        n for n in dir(metrics) if n.startswith("metric_") and callable(getattr(metrics, n))
    )
