"""The sampling_rate QC checks the file: the rate of its read timestamps, before any resampling.

An Axivity AX6 whose header says 100 Hz can sample at 98.4 Hz; after ``Resample`` the
pipeline's rate is the target rate. Neither may stand in for what the file holds.
"""

from __future__ import annotations

import numpy as np
import pytest

from biomarker_assets.lib.biomarkers.kinds import evaluate_qc
from biomarker_assets.lib.biomarkers.quality import measured_rate
from biomarker_assets.lib.skdh.execution import run_pipeline
from biomarker_assets.lib.skdh.pipeline import load_pipeline
from biomarker_assets.lib.skdh.version import SKDH_VERSION
from biomarker_assets.lib.study_config.schema import QualityChecks
from biomarker_assets_tests.support.device_files import write_npz

READ_THEN_RESAMPLE = {
    "Version": SKDH_VERSION,
    "Steps": [
        {"name": "ReadNumpyFile", "process": "ReadNumpyFile", "package": "skdh", "module": "io.numpy_compressed",
         "parameters": {}, "save_file": None, "plot_file": None},
        {"name": "Resample", "process": "Resample", "package": "biomarker_assets", "module": "skdh_processes.resample",
         "parameters": {"goal_fs": 50.0}, "save_file": None, "plot_file": None},
    ],
}  # fmt: skip


def _rates(path):
    signal: dict = {}
    run_pipeline(load_pipeline(READ_THEN_RESAMPLE), path, captured_warnings=[], final_inputs=signal)
    return signal


def _check(signal, **qc):
    outcomes = evaluate_qc(
        QualityChecks(**qc), {}, signal["fs"], [], signal["file_fs_nominal"], signal["file_fs_measured"]
    )
    return next(o for o in outcomes if o.check_name == "sampling_rate")


def test_header_100_hz_sampled_at_98_4_hz_is_measured_and_compared(tmp_path):
    n = 98_400 // 10  # 100 s at 98.4 Hz
    time = 1.7e9 + np.arange(n) / 98.4
    accel = np.tile([0.0, 0.0, 1.0], (n, 1)) + 0.01 * np.sin(np.arange(n) / 7.0)[:, None]
    signal = _rates(write_npz(tmp_path / "ax6.npz", time=time, accel=accel, fs=np.float64(100.0)))

    assert signal["fs"] == 50.0  # what the last step hands on: Resample's target
    assert signal["file_fs_nominal"] == 100.0  # what the file declares
    assert signal["file_fs_measured"] == pytest.approx(98.4, rel=1e-9)
    tight = _check(signal, expected_fs=100.0, fs_tolerance=0.01)
    assert not tight.passed and "measured 98.400 Hz" in (tight.description or "")
    assert tight.metadata["nominal_fs"] == 100.0 and tight.metadata["pipeline_end_fs"] == 50.0
    assert _check(signal, expected_fs=100.0, fs_tolerance=0.02).passed  # a 100 Hz file passes after Resample


def test_real_axivity_sample_header_200_hz_timestamps_197_hz(samples):
    """SKDH's own AX3 sample: the header's rate code says 200 Hz, its block timestamps give 197.24 Hz."""
    from biomarker_assets.lib.skdh.execution import read_file

    read = read_file(
        {"name": "ReadCwa", "process": "ReadCwa", "package": "skdh", "module": "io.axivity", "parameters": {},
         "save_file": None, "plot_file": None},
        samples / "ax3_sample.cwa",
        captured_warnings=[],
    )  # fmt: skip
    assert read["fs"] == 200.0
    assert measured_rate(read["time"]) == pytest.approx(197.243, abs=1e-3)


def test_measured_rate_leaves_gaps_out():
    time = np.concatenate([np.arange(1000) / 50.0, 3600 + np.arange(1000) / 50.0])  # an hour's pause
    assert measured_rate(time) == pytest.approx(50.0)
    assert measured_rate(np.array([1.0])) is None
