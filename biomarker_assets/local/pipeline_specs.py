"""The demo's SKDH pipeline specs: the wrist day's spec written out, the gait spec built on call.

The wrist spec is a literal (every parameter as SKDH records it) so reading it
needs no SKDH; the gait spec is built from SKDH objects on call, not at import,
because building needs SKDH (seconds to import).
"""

from __future__ import annotations

from biomarker_assets.lib.skdh.version import SKDH_VERSION as _SKDH_VERSION

__all__ = ["SKDH_ORIGINAL_OF", "WRIST_PIPELINE_SPEC", "bare_skdh_spec", "gait_pipeline_spec", "pipeline_step"]


def pipeline_step(process: str, module: str, parameters: dict, package: str = "skdh", name: str | None = None) -> dict:
    """One pipeline step as ``skdh.Pipeline.save`` writes it (named after its process unless named, nothing saved)."""
    return {
        "name": name or process,
        "process": process,
        "package": package,
        "module": module,
        "parameters": parameters,
        "save_file": None,
        "plot_file": None,
    }


# The wrist demo pipeline in the structure ``skdh.Pipeline.save`` writes, with
# every parameter spelled out as SKDH records it (defaults pinned for provenance;
# the cut-points are the resolved ``migueles_wrist_adult`` values). Choices:
# - no CalibrateAccelerometer: it needs 12-72 h of data;
# - AccelThresholdWearDetection must keep save_file None (a save_file crashes
#   the run); DETACH is not used (it needs a realistic temperature model);
#   20-min windows every 5 min instead of SKDH's 60/15: an off-wrist spell is
#   found shorter by about window_length - window_skip minutes (60/15 counted the
#   demo day's 2 h 15 min on the shelf as 1.5 h; 20/5 as 2 h 05), and windows
#   under ~20 min start to call a still night off-wrist (README "Wear time");
# - Sleep and ActivityLevelClassification each look their day window up in
#   ``day_ends`` by (base, period) and fail without it. Sleep defaults to
#   (12, 24), activity to (0, 24); both use (12, 24) here, so a noon-to-noon
#   recording is one day for both and one GetDayWindowIndices window serves both;
# - SleepCorrected runs before ActivityLevelClassification: activity splits its
#   endpoints into wake and sleep only if the ``sleep`` indices that Sleep
#   returns are already in the pipeline's kwargs (otherwise it warns and
#   reports the whole day as wake).
# - wear detection and activity are the project's speed-only re-implementations
#   (AccelThresholdWearDetectionFast, ActivityLevelClassificationFast in
#   skdh_processes): SKDH's code and parameters with its slow helpers (per-window
#   linregress in DFA, moving max/min) computed in NumPy; results equal SKDH's.
#   Their steps keep SKDH's step names, so results and Parquet files are named
#   as with SKDH's classes.
WRIST_PIPELINE_SPEC: dict = {
    "Steps": [
        pipeline_step(
            "ReadBin",
            "io.geneactiv",
            {"trim_keys": None, "trim_start_factor": None, "ext_error": "warn"},
        ),
        pipeline_step(
            "AccelThresholdWearDetectionFast",
            "skdh_processes.wear",
            {
                "sd_crit": 0.013,
                "range_crit": 0.067,
                "apply_setup_criteria": True,
                "shipping_criteria": [0, 0],
                "shipping_temperature": False,
                "window_length": 20,
                "window_skip": 5,
            },
            package="biomarker_assets",
            name="AccelThresholdWearDetection",
        ),
        pipeline_step("GetDayWindowIndices", "preprocessing.window_days", {"bases": 12, "periods": 24}),
        pipeline_step(
            "SleepCorrected",
            "skdh_processes.sleep",
            {
                "start_buffer": 0,
                "stop_buffer": 0,
                "internal_wear_temp_thresh": 25.0,
                "internal_wear_move_thresh": 0.001,
                "min_rest_block": 30,
                "max_activity_break": 60,
                "tso_min_thresh": 0.1,
                "tso_max_thresh": 1.0,
                "tso_perc": 10,
                "tso_factor": 15.0,
                "min_rest_period": None,
                "nonwear_move_thresh": None,
                "min_wear_time": 0,
                "min_day_hours": 6,
                "downsample": True,
                "downsample_aa_filter": True,
                "day_window": (12, 24),
                "save_per_minute_results": False,
                "add_active_time": 0.0,
            },
            package="biomarker_assets",
        ),
        pipeline_step(
            "ActivityLevelClassificationFast",
            "skdh_processes.activity",
            {
                "short_wlen": 5,
                "max_accel_lens": [6, 15, 60],
                "bout_lens": [1, 5, 10],
                "bout_criteria": 0.8,
                "bout_metric": 4,
                "closed_bout": False,
                "wear_wake_times_round": None,
                "min_wear_time": 10,
                "cutpoints": {
                    "metric": "metric_enmo",
                    "kwargs": {"take_abs": False, "trim_zero": True},
                    "sedentary": 0.05,
                    "light": 0.11,
                    "moderate": 0.44,
                },
                "day_window": (12, 24),
                "save_epoch_data": False,
            },
            package="biomarker_assets",
            name="ActivityLevelClassification",
        ),
    ],
    "Version": _SKDH_VERSION,
}


def gait_pipeline_spec() -> dict:
    """Lumbar gait as SKDH's truth was made: read, resample to 50 Hz, classify, GaitLumbar.

    SKDH saved-pipeline spec for a lumbar accelerometer ``.npz`` (``time``, ``accel``).
    ``GaitLumbar``'s IC/FC prominence and distance factors are those SKDH's own
    test uses to reproduce ``gait_results_apcwt.npz`` (its defaults differ).
    Subject input: ``height`` in metres.
    """
    import skdh
    from skdh.context import PredictGaitLumbarLgbm
    from skdh.gait import GaitLumbar
    from skdh.io import ReadNumpyFile

    from biomarker_assets.lib.skdh.pipeline import spec_from_pipeline
    from biomarker_assets.skdh_processes import Resample

    pipeline = skdh.Pipeline()
    pipeline.add(ReadNumpyFile())
    pipeline.add(Resample(goal_fs=50.0, aa_filter=True, skdh_filter=True))  # SKDH's filter, as its truth was made
    pipeline.add(PredictGaitLumbarLgbm())
    pipeline.add(GaitLumbar(ic_prom_factor=0.1, ic_dist_factor=0.0, fc_prom_factor=0.1, fc_dist_factor=0.0))
    return spec_from_pipeline(pipeline)


# The project's speed-only processes -> the SKDH class each re-implements (process, module): the baseline
# that benchmarks and equality tests run the same pipeline with.
SKDH_ORIGINAL_OF = {
    "AccelThresholdWearDetectionFast": ("AccelThresholdWearDetection", "preprocessing.wear_detection"),
    "ActivityLevelClassificationFast": ("ActivityLevelClassification", "activity.core"),
}


def bare_skdh_spec(spec: dict) -> dict:
    """``spec`` with each fast process replaced by the SKDH class it re-implements."""
    steps = []
    for step in spec["Steps"]:
        step = dict(step)
        if step["process"] in SKDH_ORIGINAL_OF:
            step["process"], step["module"] = SKDH_ORIGINAL_OF[step["process"]]
            step["package"] = "skdh"
        steps.append(step)
    return {**spec, "Steps": steps}
