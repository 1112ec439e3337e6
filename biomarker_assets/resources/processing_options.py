"""How files are processed in this deployment: the image recorded in provenance, and plot thumbnails."""

from __future__ import annotations

import os

import dagster as dg

_IMAGE_ENV, _EMBED_PLOTS_ENV = "BIOMARKER_IMAGE", "BIOMARKER_EMBED_PLOTS"


class ProcessingOptions(dg.ConfigurableResource):
    """Passed by the biomarker asset to ``process_local_file``, so processing reads no settings itself."""

    # image tag/digest recorded in each provenance record (the stack and the Dockerfile set BIOMARKER_IMAGE)
    image: str = "local"
    # a ~10 KB overview thumbnail in each file's materialization metadata (False keeps the event log small)
    embed_plots: bool = True

    @classmethod
    def from_env(cls) -> ProcessingOptions:
        """Defaults, overridden by BIOMARKER_IMAGE (as ``dg.EnvVar``, resolved at launch) and
        BIOMARKER_EMBED_PLOTS (``0``/``false``/``no`` turn thumbnails off) when they are set."""
        options: dict = {}
        if os.environ.get(_IMAGE_ENV) is not None:
            options["image"] = dg.EnvVar(_IMAGE_ENV)
        if os.environ.get(_EMBED_PLOTS_ENV) is not None:
            # Dagster has no boolean EnvVar; the value is read when the definitions load.
            options["embed_plots"] = os.environ[_EMBED_PLOTS_ENV] not in ("0", "false", "no")
        return cls(**options)
