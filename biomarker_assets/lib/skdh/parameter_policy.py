"""The allow-list of parameter VALUES per SKDH process class: what a study config may pass to each step.

The module allow-list (``allowlist.py``) says which classes a spec may name; this one says what
each named class may be given. A class with no entry here cannot be used, and a parameter with no
entry in its class's table is refused, so an SKDH upgrade that adds a parameter (say, an output
path) is unusable until someone reads it and adds a rule. Rules are plain data checks
(``parameter_rules.py``); the dangerous values are pinned with the reason:

- ``ReadNumpyFile(allow_pickle=True)`` runs any pickled object in an ``.npz`` (code execution);
  ``MultiReader``'s ``reader_kw`` is checked against the named reader's own table, so it cannot
  smuggle ``allow_pickle`` in, and its ``reader`` must be a supported reader class (SKDH does
  ``getattr(skdh.io, reader)``).
- Free-form kwargs dicts (``read_csv_kwargs``, ``to_datetime_kwargs``, ``ap_axis_filter_kw``,
  ``power_peak_kw``, cutpoint ``kwargs``) accept only the keys listed, with scalar values.
- Activity cutpoints name a ``metric_*`` function (SKDH does ``getattr(metrics, name)``).
- Flags that only make SKDH write files (``save_per_minute_results``, ``save_epoch_data``) and a
  nested pipeline object (``bout_processing_pipeline``) are pinned off.

At run time pickles are refused whatever a pipeline says (``safe_loading.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from biomarker_assets.lib.skdh.parameter_kwargs import (
    CUTPOINTS,
    FILTER_KW,
    PEAK_KW,
    READ_CSV_KW,
    S2S_THRESHOLDS,
    TO_DATETIME_KW,
)
from biomarker_assets.lib.skdh.parameter_rules import (
    NUMBERS,
    PAIR,
    PLAIN,
    Rule,
    any_of,
    boolean,
    exactly,
    list_of,
    map_of,
    number,
    one_of,
    optional,
    text,
)

_PICKLE = "a pickled object in an .npz runs code when it is read"
_WRITES = "it only makes SKDH write local files; results are written by the project"
EXT_ERROR = one_of("warn", "raise", "skip")
GAPS_ERROR = one_of("raise", "warn", "ignore")
TRIM = {"trim_keys": optional(list_of(optional(text), 2)), "trim_start_factor": optional(number)}
STREAM_VALUES = optional(map_of(text, NUMBERS))
READERS = ("ReadCwa", "ReadBin", "ReadCSV", "ReadNumpyFile", "ReadApdmH5", "ReadEmpaticaAvro")
# MultiReader's reader_kw: its shape here, its contents against the reader's own table (_multireader_kw)
_SHAPE_ONLY: Rule = lambda _value: None  # noqa: E731  # contents are checked by _multireader_kw
READER_KW = optional(any_of(map_of(text, _SHAPE_ONLY, 32), list_of(map_of(text, _SHAPE_ONLY, 32), 16)))


def _numbers(*names: str) -> dict[str, Rule]:
    return dict.fromkeys(names, number)


def _bools(*names: str) -> dict[str, Rule]:
    return dict.fromkeys(names, boolean)


_SLEEP: dict[str, Rule] = {
    **_numbers("start_buffer", "stop_buffer", "internal_wear_temp_thresh", "internal_wear_move_thresh"),
    **_numbers("min_rest_block", "max_activity_break", "tso_min_thresh", "tso_max_thresh", "tso_perc"),
    **_numbers("tso_factor", "min_wear_time", "min_day_hours", "add_active_time"),
    "min_rest_period": optional(number),
    "nonwear_move_thresh": optional(number),
    **_bools("downsample", "downsample_aa_filter"),
    "day_window": optional(PAIR),  # null is a trap: traps.py names the fix
    "save_per_minute_results": exactly(False, _WRITES),
}
_GAIT_EVENTS = _numbers("ic_prom_factor", "ic_dist_factor", "fc_prom_factor", "fc_dist_factor")
_PREPROCESS = {
    "correct_orientation": boolean,
    **_numbers("filter_cutoff", "filter_order"),
    "ap_axis_filter_kw": FILTER_KW,
}

#: qualified class name (``module.Class``, where the class is defined) -> parameter -> rule.
POLICY: dict[str, dict[str, Rule]] = {
    "skdh.io.numpy_compressed.ReadNumpyFile": {
        "time_is_local": boolean,
        "allow_pickle": exactly(False, _PICKLE),
        "ext_error": EXT_ERROR,
    },
    "skdh.io.axivity.ReadCwa": {**TRIM, "ext_error": EXT_ERROR},
    "skdh.io.geneactiv.ReadBin": {**TRIM, "ext_error": EXT_ERROR},
    "skdh.io.apdm.ReadApdmH5": {
        "sensor_location": text,
        "localize_timestamps": boolean,
        "gravity_acceleration": number,
        "ext_error": EXT_ERROR,
    },
    "skdh.io.empatica.ReadEmpaticaAvro": {"trim_keys": TRIM["trim_keys"], "resample_to_accel": boolean},
    "skdh.io.csv.ReadCSV": {
        "time_col_name": text,
        "column_names": map_of(one_of("accel", "gyro", "ecg", "temperature"), any_of(text, list_of(text, 3))),
        **_bools("drop_duplicate_timestamps", "fill_gaps", "accel_in_g"),
        **TRIM,
        "fill_value": STREAM_VALUES,
        "gaps_error": GAPS_ERROR,
        "to_datetime_kwargs": optional(TO_DATETIME_KW),
        "raw_conversions": optional(map_of(text, number)),
        "g_value": number,
        "read_csv_kwargs": optional(READ_CSV_KW),
        "ext_error": EXT_ERROR,
    },
    "skdh.io.multireader.MultiReader": {
        "mode": one_of("leave", "combine", "concatenate"),
        "reader": one_of(*READERS),
        "reader_kw": READER_KW,
        **_bools("resample_to_lowest", "fill_gaps", "require_all_keys", "ignore_file_size_check"),
        "fill_value": STREAM_VALUES,
        "gaps_error": GAPS_ERROR,
    },
    "skdh.preprocessing.calibrate.CalibrateAccelerometer": _numbers(
        "sphere_crit", "min_hours", "sd_criteria", "max_iter", "tol"
    ),
    "skdh.preprocessing.gaps.FillGaps": {"fill_values": STREAM_VALUES},
    "skdh.preprocessing.window_days.GetDayWindowIndices": {"bases": optional(NUMBERS), "periods": optional(NUMBERS)},
    "skdh.preprocessing.wear_detection.AccelThresholdWearDetection": {
        **_numbers("sd_crit", "range_crit", "window_length", "window_skip"),
        **_bools("apply_setup_criteria", "shipping_temperature"),
        "shipping_criteria": PLAIN,
    },
    "skdh.preprocessing.wear_detection.CountWearDetection": {
        **_numbers("nonwear_window_min", "epoch_seconds"),
        "use_actigraph_package": boolean,
    },
    "skdh.preprocessing.wear_detection.CtaWearDetection": _numbers(
        "temp_threshold", "sd_crit", "window_length", "window_skip"
    ),
    "skdh.preprocessing.wear_detection.DETACH": _numbers(
        "sd_thresh",
        "low_temperature_threshold",
        "high_temperature_threshold",
        "decrease_threshold",
        "increase_threshold",
        "n_axes_threshold",
        "window_size",
    ),
    "skdh.sleep.sleep.Sleep": _SLEEP,
    "biomarker_assets.skdh_processes.sleep.SleepCorrected": _SLEEP,
    "biomarker_assets.skdh_processes.resample.Resample": {"goal_fs": number, **_bools("aa_filter", "skdh_filter")},
    "skdh.activity.core.ActivityLevelClassification": {
        **_numbers("short_wlen", "bout_criteria", "bout_metric", "min_wear_time"),
        **{name: list_of(number, 16) for name in ("max_accel_lens", "bout_lens")},
        "closed_bout": boolean,
        "wear_wake_times_round": optional(number),
        "cutpoints": optional(CUTPOINTS),
        "day_window": optional(PAIR),  # null is a trap: traps.py names the fix
        "save_epoch_data": exactly(False, _WRITES),
    },
    "skdh.activity.core.StaudenmayerClassification": {
        "arm_axis": one_of(0, 1, 2),
        **_bools("demean", "use_power"),
        "min_wear_time": number,
        "day_window": optional(PAIR),  # null is a trap: traps.py names the fix
    },
    "skdh.context.ambulation_classification.Ambulation": {"pthresh": number},
    "skdh.context.gait_classification.PredictGaitLumbarLgbm": {"downsample_aa_filter": boolean},
    "skdh.context.motion_detect.MotionDetectRCoV": _numbers("filter_cutoff", "filter_order", "cov_threshold"),
    "skdh.context.motion_detect.MotionDetectRCoVMaxSD": _numbers(
        "lp_filter_cutoff", "lp_filter_order", "hp_filter_cutoff", "hp_filter_order", "cov_threshold", "sd_threshold"
    ),
    "skdh.gait.core.GaitLumbar": {
        **_PREPROCESS,
        **_GAIT_EVENTS,
        **_numbers("height_factor", "min_bout_time", "max_bout_separation_time"),
        **_bools("downsample", "use_cwt_scale_relation", "round_scale"),
        "gait_event_method": one_of("AP CWT", "Vertical CWT", "ap cwt", "vertical cwt", "v cwt"),
        **dict.fromkeys(("wavelet_scale", "max_stride_time", "loading_factor"), any_of(number, one_of("default"))),
        "bout_processing_pipeline": exactly(None, "a nested pipeline object cannot come from a config"),
        "day_window": optional(PAIR),  # null is a trap: traps.py names the fix
    },
    "skdh.gait.substeps.s1_preprocessing.PreprocessGaitBout": _PREPROCESS,
    "skdh.gait.substeps.s2_contact_events.ApCwtGaitEvents": _GAIT_EVENTS,
    "skdh.gait.substeps.s2_contact_events.VerticalCwtGaitEvents": {
        **_bools("use_cwt_scale_relation", "round_scale"),
        "wavelet_scale": any_of(number, one_of("default")),
    },
    "skdh.gait.substeps.s3_stride_creation.CreateStridesAndQc": dict.fromkeys(
        ("max_stride_time", "loading_factor"), any_of(number, one_of("default"))
    ),
    "skdh.gait.substeps.s4_turns.TurnDetection": {},
    "skdh.gait_old.gait.Gait": {
        **_bools("correct_accel_orient", "use_cwt_scale_relation", "prov_leg_length", "downsample_aa_filter"),
        "wavelet_scale": any_of(number, one_of("default")),
        **_numbers("min_bout_time", "max_bout_separation_time", "max_stride_time", "loading_factor"),
        **_numbers("height_factor", "filter_order", "filter_cutoff"),
        "day_window": optional(PAIR),  # null is a trap: traps.py names the fix
    },
    "skdh.sit2stand.sit2stand.Sit2Stand": {
        **_bools("stillness_constraint", "power_std_height"),
        **_numbers("gravity", "long_still", "still_window", "gravity_pass_order", "gravity_pass_cutoff"),
        **_numbers("power_std_trim", "lowpass_order", "lowpass_cutoff", "reconstruction_window"),
        "thresholds": optional(S2S_THRESHOLDS),
        "continuous_wavelet": text,
        "power_band": optional(NUMBERS),
        "power_peak_kw": optional(PEAK_KW),
        "day_window": optional(PAIR),  # null is a trap: traps.py names the fix
    },
}

# The project's own processes: a speed-only or corrected subclass takes its SKDH parent's table
# (same signature), so a parameter allowed for SKDH's class is allowed for ours and no other.
POLICY.update(
    {
        "biomarker_assets.skdh_processes.activity.ActivityLevelClassificationFast": POLICY[
            "skdh.activity.core.ActivityLevelClassification"
        ],
        "biomarker_assets.skdh_processes.wear.AccelThresholdWearDetectionFast": POLICY[
            "skdh.preprocessing.wear_detection.AccelThresholdWearDetection"
        ],
        "biomarker_assets.skdh_processes.gait.PredictGaitLumbarLgbmCorrected": POLICY[
            "skdh.context.gait_classification.PredictGaitLumbarLgbm"
        ],
        "biomarker_assets.skdh_processes.gait.SupervisedGaitBout": {"max_minutes": number},
        "biomarker_assets.skdh_processes.units.GyroscopeUnits": {"units": one_of("deg/s", "rad/s")},
    }
)


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _table_problems(class_name: str, table: Mapping[str, Rule], params: Mapping, skip: set[str]) -> list[str]:
    """Problems of each value in ``params`` against ``table``, leaving out the names in ``skip``."""
    problems = []
    for name, value in params.items():
        if name in skip:
            continue
        rule = table.get(name)
        problem = f"is not an allow-listed parameter of {class_name}" if rule is None else rule(value)
        if problem:
            problems.append(f"parameter {name!r} {problem}")
    return problems


def _multireader_kw(params: Mapping) -> list[str]:
    """``reader_kw`` (one mapping, or one per file) checked against the named reader's own table."""
    reader, reader_kw = params.get("reader"), params.get("reader_kw")
    table = next((t for n, t in POLICY.items() if n.rsplit(".", 1)[1] == reader), None)
    if table is None or not reader_kw or not isinstance(reader_kw, Mapping | list | tuple):
        return []
    per_file = reader_kw if isinstance(reader_kw, list | tuple) else [reader_kw]
    problems = []
    for i, kw in enumerate(per_file):
        where = "reader_kw" if kw is reader_kw else f"reader_kw[{i}]"
        if isinstance(kw, Mapping):
            problems += [f"{where}: {p}" for p in _table_problems(str(reader), table, kw, skip=set())]
    return problems


#: checks that need more than one parameter: qualified class name -> check
CROSS_CHECKS: dict[str, Callable[[Mapping], list[str]]] = {"skdh.io.multireader.MultiReader": _multireader_kw}


def parameter_value_problems(cls: type, params: Mapping[str, Any]) -> list[str]:
    """Every parameter value of one step that its class's allow-list does not accept (empty when fine).

    Only names the class's signature knows are checked here; unknown names are reported by
    ``validation.parameter_problems``.
    """
    name = qualified_name(cls)
    table = POLICY.get(name)
    if table is None:
        return [f"{name} has no parameter allow-list in lib/skdh/parameter_policy.py, so it cannot be used"]
    # names the signature does not know are reported once, by validation.parameter_problems
    unknown = {n for n in params if n not in table} - _signature_names(cls)
    problems = _table_problems(cls.__name__, table, params, skip=unknown)
    if name in CROSS_CHECKS:
        problems += CROSS_CHECKS[name](params)
    return problems


def _signature_names(cls: type) -> set[str]:
    try:
        return set(inspect.signature(cls.__init__).parameters) - {"self"}  # type: ignore[misc]  # the class's own
    except (TypeError, ValueError):
        return set()
