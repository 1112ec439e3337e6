"""How files are processed in this deployment: the image recorded in provenance, and plot thumbnails."""

from __future__ import annotations

import dagster as dg


class ProcessingOptions(dg.ConfigurableResource):
    """Passed by the biomarker asset to ``process_local_file``, so processing reads no settings itself."""

    # image tag/digest recorded in each provenance record (the stack and the Dockerfile set BIOMARKER_IMAGE)
    image: str = "local"
    # a ~10 KB overview thumbnail in each file's materialization metadata (False keeps the event log small)
    embed_plots: bool = True
