"""Declare the gyroscope's units, so SKDH's gait turn detection gets rad/s.

SKDH's ``GaitLumbar`` turn detection (``gait/substeps/s4_turns.py``) integrates the
gyroscope as rad/s; its Axivity reader returns deg/s (APDM returns rad/s; CSV and
``.npz`` files hold whatever was written). Fed deg/s, SKDH's own gyroscope truth
recording has every stride "in a turn" (68 of 68; the truth says 22). A pipeline whose
data may carry a gyroscope declares the units of the file with this step; it converts
to rad/s and hands ``gyro_units = "rad/s"`` on, which the project checks before
``GaitLumbar`` runs (``lib.skdh.traps.check_step_inputs``).
"""

from __future__ import annotations

from numpy import asarray, ndarray, pi
from skdh.base import BaseProcess, handle_process_returns

__all__ = ["GYRO_UNITS", "GYRO_UNITS_KEY", "GyroscopeUnits"]

#: accepted units and their factor to rad/s
GYRO_UNITS = {"rad/s": 1.0, "deg/s": pi / 180.0}
#: kwargs key the step hands on; its value is always "rad/s"
GYRO_UNITS_KEY = "gyro_units"


class GyroscopeUnits(BaseProcess):
    """Convert the gyroscope from the file's ``units`` to rad/s (SKDH's unit) and say so.

    A file without a gyroscope passes through; the step's results record the
    declared units, what was handed on and whether a gyroscope was there.

    Parameters
    ----------
    units : {"deg/s", "rad/s"}
        Units of the gyroscope as the reader returns it (Axivity ``ReadCwa``: deg/s;
        APDM ``ReadApdmH5``: rad/s; CSV and ``.npz``: as written in the file).
    """

    def __init__(self, units="deg/s"):
        super().__init__(units=units)
        if units not in GYRO_UNITS:
            raise ValueError(f"units must be one of {sorted(GYRO_UNITS)}, got {units!r}")
        self.units = units

    @handle_process_returns(results_to_kwargs=False)
    def predict(self, *, time, gyro=None, **kwargs):
        """
        predict(*, time, gyro=None, **kwargs)

        Returns
        -------
        results : dict
            ``gyro units in file``, ``gyro units handed on`` (rad/s), ``gyroscope present``.
        """
        super().predict(expect_days=False, expect_wear=False, time=time, gyro=gyro, **kwargs)
        present = isinstance(gyro, ndarray) and gyro.size > 0
        updates: dict = {GYRO_UNITS_KEY: "rad/s"}
        if present:
            updates["gyro"] = asarray(gyro, dtype=float) * GYRO_UNITS[self.units]
        results = {"gyro units in file": self.units, "gyro units handed on": "rad/s", "gyroscope present": present}
        return results, updates
