"""Rules for the mapping-valued SKDH parameters: only the keys listed, each with a plain value.

SKDH passes these dicts on as ``**kwargs`` (``pandas.read_csv``, ``pandas.to_datetime``,
``scipy.signal.butter``/``find_peaks``, an activity metric), so a free-form dict would let a
config reach any keyword of those functions. Names SKDH resolves with ``getattr`` (cutpoint sets,
metrics) are listed too; a test checks the lists against the installed SKDH.
"""

from __future__ import annotations

from biomarker_assets.lib.skdh.parameter_rules import (
    NUMBERS,
    PLAIN,
    any_of,
    boolean,
    fields,
    list_of,
    number,
    one_of,
    optional,
    text,
)

FILTER_KW = optional(
    fields({"N": number, "Wn": NUMBERS, "btype": one_of("low", "high", "band", "bandpass", "lowpass", "highpass")})
)
#: SKDH's built-in cutpoint sets (skdh.activity.cutpoints)
CUTPOINT_NAMES = (
    "esliger_lwrist_adult",
    "esliger_rwirst_adult",
    "esliger_lumbar_adult",
    "schaefer_ndomwrist_child6-11",
    "phillips_rwrist_child8-14",
    "phillips_lwrist_child8-14",
    "phillips_hip_child8-14",
    "vaha-ypya_hip_adult",
    "hildebrand_hip_adult_actigraph",
    "hildebrand_hip_adult_geneactv",
    "hildebrand_wrist_adult_actigraph",
    "hildebrand_wrist_adult_geneactiv",
    "hildebrand_hip_child7-11_actigraph",
    "hildebrand_hip_child7-11_geneactiv",
    "hildebrand_wrist_child7-11_actigraph",
    "hildebrand_wrist_child7-11_geneactiv",
    "migueles_wrist_adult",
    "white_met",
)
#: every function of skdh.activity.metrics (SKDH calls getattr(metrics, cutpoints["metric"]))
METRICS = (
    "metric_anglez",
    "metric_bfen",
    "metric_en",
    "metric_enmo",
    "metric_enmo_met",
    "metric_hfen",
    "metric_hfenplus",
    "metric_mad",
)
CUTPOINTS = any_of(
    one_of(*CUTPOINT_NAMES),
    fields(
        {
            "metric": one_of(*METRICS),
            "kwargs": fields(
                {k: any_of(boolean, number) for k in ("take_abs", "trim_zero", "low_cutoff", "high_cutoff", "cutoff")}
            ),
            "sedentary": number,
            "light": number,
            "moderate": number,
        },
        required=("metric", "kwargs", "sedentary", "light", "moderate"),
    ),
)
READ_CSV_KW = fields(
    {k: PLAIN for k in ("sep", "delimiter", "header", "skiprows", "nrows", "usecols", "decimal", "thousands")}
    | {k: PLAIN for k in ("comment", "encoding", "na_values", "skip_blank_lines", "quotechar", "skipfooter")}
    | {"names": list_of(text), "skipinitialspace": boolean, "index_col": PLAIN}
)
TO_DATETIME_KW = fields(
    {"format": text, "unit": one_of("D", "s", "ms", "us", "ns"), "utc": boolean, "dayfirst": boolean}
    | {"yearfirst": boolean, "exact": boolean}
)
S2S_THRESHOLDS = fields(
    {
        k: number
        for k in (
            "stand displacement",
            "displacement factor",
            "transition velocity",
            "duration factor",
            "accel moving avg",
            "accel moving std",
            "jerk moving avg",
            "jerk moving std",
        )
    }
)
PEAK_KW = fields({k: NUMBERS for k in ("height", "threshold", "distance", "prominence", "width", "wlen")})
