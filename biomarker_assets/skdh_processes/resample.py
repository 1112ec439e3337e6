"""Resample a recording to a fixed rate inside an SKDH pipeline.

SKDH has no resampling *process*: its gait truth (``gait_results_apcwt.npz``) was
made by resampling ``gait_input.npz`` (~197 Hz) to 50 Hz in the test fixture with
``skdh.utility.internal.apply_resample(goal_fs=50.0, time=t, data=(acc,),
indices=(), aa_filter=True)`` and only then running ``PredictGaitLumbarLgbm`` and
``GaitLumbar``. ``GaitLumbar(downsample=True)`` on the raw file gives different
strides. :class:`Resample` makes that fixture step a pipeline step, so a saved
pipeline spec reproduces SKDH's truth.

SKDH's anti-alias filter (``cheby1(8, 0.05 dB, ...)`` run forwards and backwards) has a
DC gain of 10**(-0.1/20) = 0.9886: a stationary 1 g becomes 0.9886 g, which biases ENMO
(``|a| - 1``) by about -11 mg, the size of an activity cut-point. So by default the
filter is a zero-phase Butterworth low-pass (maximally flat: gain 1 at DC, within 1e-3
up to 0.6 of its cut-off) at SKDH's integer-decimation cut-off, 0.8 x the target
Nyquist, and a cubic spline (not linear interpolation, which loses ~2 % of an 8 Hz and
~5 % of a 12 Hz component at 98.4 -> 50 Hz) puts the samples on exactly SKDH's new time
grid. ``skdh_filter=True`` keeps SKDH's own filter, as its gait truth needs (the demo's
gait pipeline says so).
"""

from __future__ import annotations

from numpy import asarray, clip, diff, empty, float64, mean, ndarray, searchsorted
from scipy.interpolate import make_interp_spline
from scipy.signal import butter, sosfiltfilt
from skdh.base import BaseProcess, handle_process_returns
from skdh.utility.internal import apply_resample

__all__ = ["RESAMPLE_FIX_NOTE", "Resample"]

RESAMPLE_FIX_NOTE = (
    "Resample's default anti-alias filter is a zero-phase 8th-order Butterworth low-pass at 0.8 x the target "
    "Nyquist (gain 1 at DC and flat in the pass band), not SKDH's Chebyshev I, whose DC gain of 0.9886 turns "
    "1 g into 0.9886 g (ENMO -11 mg); skdh_filter=True keeps SKDH's filter (used to reproduce SKDH's gait truth)."
)
# Butterworth order: at the target Nyquist (1.25 x the cut-off) the zero-phase gain is ~0.03
_BUTTER_ORDER = 8
# output samples per spline piece, and input samples of overlap either side (see _spline)
_SPLINE_CHUNK = 1 << 20
_SPLINE_MARGIN = 64

# kwargs holding sample *indices* into the signal (not samples): they are mapped to
# the new time base instead of being interpolated. ``day_ends`` is a dict of
# (N, 2) arrays keyed by (base, period); the others are arrays.
_INDEX_KEYS = ("wear", "sleep", "gait_bouts", "ambulation_bouts", "movement_bouts")
_DAY_KEY = "day_ends"
# The anti-aliasing filter is applied to the inertial signals, not to slow signals
# such as temperature or light, which do not alias (and whose level SKDH's filter
# would scale by 0.9886: wear detection thresholds them).
_INERTIAL_KEYS = ("accel", "gyro", "magnet")


class Resample(BaseProcess):
    """Resample every per-sample array in the pipeline kwargs to ``goal_fs``.

    ``time`` and every numeric 1-D/2-D array whose first dimension matches it
    (accel, gyro, magnet, temperature, light, ...) are resampled with SKDH's
    ``apply_resample`` on SKDH's gait test fixture's time grid: the original rate
    is estimated from the timestamps (``fs`` from the reader is *not* passed, since
    a device's nominal rate can differ from its clock), and ``aa_filter`` low-passes
    accel/gyro/magnet before downsampling (other signals are resampled unfiltered).
    The filter has unit gain in the pass band unless ``skdh_filter`` asks for SKDH's
    own (DC gain 0.9886, see the module docstring). Index arrays already in the
    kwargs (``day_ends``, ``wear``, ``sleep``, ``*_bouts``) are mapped to the new
    sample positions. ``fs`` is set to ``goal_fs`` for the steps that follow.

    If the timestamps already run at ``goal_fs`` (relative difference < 1e-6) the
    data pass through unchanged (only ``fs`` is set), rather than being
    interpolated onto an almost identical grid.

    Parameters
    ----------
    goal_fs : float
        Sampling rate, in Hz, that the following steps receive. Default 50 Hz (what
        SKDH's gait classifier and gait truth use).
    aa_filter : bool
        Low-pass before downsampling. Ignored when upsampling.
    skdh_filter : bool
        Use SKDH's anti-aliasing filter (Chebyshev I, DC gain 0.9886), exactly as
        SKDH's gait fixture does, instead of the unit-gain Butterworth. Only to
        reproduce SKDH's gait truth: it shrinks a 1 g signal to 0.9886 g.
    """

    PROVENANCE_NOTE = RESAMPLE_FIX_NOTE

    def __init__(self, goal_fs=50.0, aa_filter=True, skdh_filter=False):
        super().__init__(goal_fs=goal_fs, aa_filter=aa_filter, skdh_filter=skdh_filter)
        goal_fs = float(goal_fs)
        if not goal_fs > 0:
            raise ValueError(f"goal_fs must be a positive number of Hz, got {goal_fs!r}")
        self.goal_fs = goal_fs
        self.aa_filter = bool(aa_filter)
        self.skdh_filter = bool(skdh_filter)

    @handle_process_returns(results_to_kwargs=True)
    def predict(self, *, time, **kwargs):
        """
        predict(*, time, accel, **kwargs)

        Returns
        -------
        data : dict
            ``time``, ``fs`` (= ``goal_fs``), the resampled per-sample arrays and the
            re-mapped index arrays. They replace the originals in the pipeline kwargs.
        """
        super().predict(expect_days=False, expect_wear=False, time=time, **kwargs)

        time = asarray(time)
        n = time.size
        if n < 2:
            raise ValueError("Resample needs at least 2 timestamps.")
        # same estimate apply_resample makes when it is not given fs
        fs_in = 1 / mean(diff(time[:5000]))

        signal_keys = [
            k
            for k, v in kwargs.items()
            if k != _DAY_KEY
            and k not in _INDEX_KEYS
            and isinstance(v, ndarray)
            and v.ndim in (1, 2)
            and v.shape[0] == n
            and v.dtype.kind in "biuf"
        ]

        if abs(fs_in / self.goal_fs - 1.0) < 1e-6:
            self.logger.info(f"[{self!s}] data already at {self.goal_fs} Hz, not resampled")
            return {"fs": self.goal_fs}

        # indices: flatten day_ends' dict and the index arrays into one tuple so a
        # single apply_resample call maps them all onto the same new time base.
        index_slots: list[tuple[str, object]] = []
        index_arrays = []
        for key in _INDEX_KEYS:
            value = kwargs.get(key)
            if isinstance(value, ndarray) and value.ndim in (1, 2) and value.size:
                index_slots.append((key, None))
                index_arrays.append(value)
        days = kwargs.get(_DAY_KEY)
        if isinstance(days, dict):
            for day_key, value in days.items():
                value = asarray(value)
                if value.ndim in (1, 2) and value.size:
                    index_slots.append((_DAY_KEY, day_key))
                    index_arrays.append(value)

        # stops may be exclusive (== n): time[n] does not exist, so clip for the
        # lookup and send such stops to the new exclusive end afterwards.
        clipped = tuple(clip(a, 0, n - 1) for a in index_arrays)
        filtered = [k for k in signal_keys if k in _INERTIAL_KEYS]
        plain = [k for k in signal_keys if k not in _INERTIAL_KEYS]
        if self.skdh_filter or (diff(time) <= 0).any():  # a spline needs increasing timestamps
            time_rs, data_rs, indices_rs = self._resample(time, filtered, kwargs, clipped, self.aa_filter)
        else:
            time_rs, _, indices_rs = self._resample(time, [], kwargs, clipped, False)
            data_rs = tuple(self._unit_gain(time, kwargs[k], time_rs, fs_in) for k in filtered)
        resampled = dict(zip(filtered, data_rs, strict=True))
        if plain:
            _, plain_rs, _ = self._resample(time, plain, kwargs, (), False)
            resampled.update(zip(plain, plain_rs, strict=True))

        results = {self._time: time_rs, "fs": self.goal_fs}
        results.update((k, resampled[k]) for k in signal_keys)

        new_days = dict(days) if isinstance(days, dict) else None
        for (key, day_key), original, mapped in zip(index_slots, index_arrays, indices_rs, strict=True):
            mapped = mapped.copy()
            mapped[original >= n] = time_rs.size
            if key == _DAY_KEY:
                assert new_days is not None  # day slots come from a day_ends dict
                new_days[day_key] = mapped
            else:
                results[key] = mapped
        if new_days is not None:
            results[_DAY_KEY] = new_days

        return results

    def _unit_gain(self, time: ndarray, x: ndarray, time_rs: ndarray, fs_in: float) -> ndarray:
        """Low-pass (when downsampling and asked to), then a cubic spline onto SKDH's new grid.

        The filter is a zero-phase Butterworth at 0.8 x the target Nyquist: gain 1 at DC, flat
        pass band. A cubic spline, not SKDH's linear ``interp``: linear interpolation of a 98.4 Hz
        signal onto 50 Hz loses ~2 % of an 8 Hz and ~5 % of a 12 Hz component. On the grid's own
        samples (an integer rate ratio) the spline returns the samples themselves.
        """
        x = asarray(x, dtype=float64)
        if self.aa_filter and fs_in > self.goal_fs:
            x = sosfiltfilt(butter(_BUTTER_ORDER, 0.8 * self.goal_fs / fs_in, output="sos"), x, axis=0)
        return _spline(time - time[0], x, time_rs - time[0])

    def _resample(self, time, keys, kwargs, indices, aa_filter):
        """One ``apply_resample`` call, called as in SKDH's gait fixture (no ``fs``)."""
        out = apply_resample(
            goal_fs=self.goal_fs,
            time=time,
            data=tuple(kwargs[k] for k in keys),
            indices=indices,
            aa_filter=aa_filter,
        )
        rest = list(out[1:])
        data_rs = rest.pop(0) if keys else ()
        indices_rs = rest.pop(0) if indices else ()
        return out[0], data_rs, indices_rs


def _spline(t: ndarray, x: ndarray, t_new: ndarray) -> ndarray:
    """Cubic interpolating spline of ``x(t)`` at ``t_new``, built piecewise to bound memory.

    A global spline over a week at 100 Hz would solve a 60-million-row banded system (GBs).
    Each piece of ``_SPLINE_CHUNK`` output samples is built on its input span plus
    ``_SPLINE_MARGIN`` samples either side; a cubic spline's dependence on a distant sample
    decays by 2 - sqrt(3) = 0.27 per sample, so 64 samples make the pieces equal to the
    global spline to far below float precision.
    """
    out = empty((t_new.size, *x.shape[1:]))
    k = min(3, t.size - 1)
    for j0 in range(0, t_new.size, _SPLINE_CHUNK):
        j1 = min(j0 + _SPLINE_CHUNK, t_new.size)
        i0 = max(int(searchsorted(t, t_new[j0])) - _SPLINE_MARGIN, 0)
        i1 = min(int(searchsorted(t, t_new[j1 - 1])) + _SPLINE_MARGIN, t.size)
        out[j0:j1] = make_interp_spline(t[i0:i1], x[i0:i1], k=k, axis=0)(t_new[j0:j1])
    return out
