"""SKDH processes that the project adds, usable in pipeline specs as package ``biomarker_assets``.

``lib.skdh.allowlist`` resolves steps of package ``biomarker_assets`` only through
``PROJECT_PROCESSES`` (never by importing a module named in a spec), so a process
is usable in a spec once it is listed here.
"""

from biomarker_assets.skdh_processes.activity import ActivityLevelClassificationFast
from biomarker_assets.skdh_processes.gait import PredictGaitLumbarLgbmCorrected, SupervisedGaitBout
from biomarker_assets.skdh_processes.resample import Resample
from biomarker_assets.skdh_processes.sleep import SleepCorrected
from biomarker_assets.skdh_processes.units import GyroscopeUnits
from biomarker_assets.skdh_processes.wear import AccelThresholdWearDetectionFast

PROJECT_PROCESSES = {
    "AccelThresholdWearDetectionFast": AccelThresholdWearDetectionFast,
    "ActivityLevelClassificationFast": ActivityLevelClassificationFast,
    "Resample": Resample,
    "SleepCorrected": SleepCorrected,
    "PredictGaitLumbarLgbmCorrected": PredictGaitLumbarLgbmCorrected,
    "SupervisedGaitBout": SupervisedGaitBout,
    "GyroscopeUnits": GyroscopeUnits,
}

__all__ = [
    "PROJECT_PROCESSES",
    "AccelThresholdWearDetectionFast",
    "ActivityLevelClassificationFast",
    "GyroscopeUnits",
    "PredictGaitLumbarLgbmCorrected",
    "Resample",
    "SleepCorrected",
    "SupervisedGaitBout",
]
