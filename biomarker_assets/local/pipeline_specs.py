"""Demo pipeline specs built from SKDH objects (the wrist spec is written out in ``wrist_recording``).

Built on call, not at import: building needs SKDH (seconds to import).
"""

from __future__ import annotations


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
    pipeline.add(Resample(goal_fs=50.0, aa_filter=True))
    pipeline.add(PredictGaitLumbarLgbm())
    pipeline.add(GaitLumbar(ic_prom_factor=0.1, ic_dist_factor=0.0, fc_prom_factor=0.1, fc_dist_factor=0.0))
    return spec_from_pipeline(pipeline)
