"""Pipeline steps for tests, written as ``skdh.Pipeline.save`` writes them (one builder: ``pipeline_step``)."""

from __future__ import annotations

from typing import Any

from biomarker_assets.local.pipeline_specs import pipeline_step


def step(which: tuple[str, str], *, name: str | None = None, **parameters: Any) -> dict:
    """``(process, module)`` -> a step; modules under ``skdh_processes`` are the project's package."""
    process, module = which
    package = "biomarker_assets" if module.startswith("skdh_processes") else "skdh"
    return pipeline_step(process, module, parameters, package, name)
