"""How much work one tick of the file sensors takes on (listing and events modes)."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field


class DiscoveryTuning(ConfigurableResource):
    """Limits that keep a file-sensor tick inside Dagster's sensor timeout (60 s by default)."""

    backfill_threshold: int = Field(
        default=200,
        description="More new or changed files than this in one tick become one backfill (throttled by the "
        "backfill daemon) instead of one run request each: validating 100,000 run requests would overrun the tick.",
    )
    listing_tick_seconds: int = Field(
        default=20,
        description="A listing tick stops taking pages after this long and resumes next tick; the rest of the "
        "sensor timeout covers the catalog write and the requests. Whole seconds (Dagster reads no float "
        "from an environment variable).",
    )
