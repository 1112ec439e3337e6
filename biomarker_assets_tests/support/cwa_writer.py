"""The AX3 ``.cwa`` writer, now in :mod:`biomarker_assets.local.axivity_cwa` (the demo writes with it)."""

from biomarker_assets.local.axivity_cwa import (
    BLOCK_SIZE,
    HEADER_SIZE,
    CwaWriter,
    cwa_time_code,
    rate_code,
    write_cwa,
    write_wrist_cwa,
)

__all__ = ["BLOCK_SIZE", "HEADER_SIZE", "CwaWriter", "cwa_time_code", "rate_code", "write_cwa", "write_wrist_cwa"]
