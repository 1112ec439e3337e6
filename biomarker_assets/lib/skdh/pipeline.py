"""Build an ``skdh.Pipeline`` from a validated spec, and the spec of a built pipeline.

Processes are constructed here and added with ``Pipeline.add`` instead of
``Pipeline.load``, which imports any module a spec names.

SKDH has no public accessor for a step's name or its constructor arguments, so the
two private attributes needed are read in one place each (:func:`step_name`,
:func:`step_parameters`), where an SKDH upgrade that renames them shows up.
"""

from __future__ import annotations

from typing import Any

import skdh
from skdh.base import BaseProcess

from biomarker_assets.lib.skdh.allowlist import resolve_process
from biomarker_assets.lib.skdh.digest import jsonable, pipeline_digest
from biomarker_assets.lib.skdh.errors import PipelineSpecError
from biomarker_assets.lib.skdh.validation import validate_pipeline_spec
from biomarker_assets.lib.skdh.version import SKDH_VERSION

__all__ = ["load_pipeline", "pipeline_digest", "pipeline_steps", "spec_from_pipeline", "step_name", "step_parameters"]


def pipeline_steps(pipeline: skdh.Pipeline) -> list[BaseProcess]:
    """The steps in order, through ``Pipeline``'s public iteration.

    ``Pipeline`` is its own iterator with one cursor that resets only when an
    iteration runs to its end, so take every step at once (``list``) and loop
    over that, never over the pipeline with a ``break``/exception inside.
    """
    return list(pipeline)


def step_name(proc: BaseProcess) -> str:
    """The name ``Pipeline.add`` gave the step (its results key); SKDH keeps it only as ``_name``."""
    return proc._name


def step_parameters(proc: BaseProcess) -> dict[str, Any]:
    """The step's constructor arguments as given; SKDH keeps them only as ``_kw`` (``Pipeline.save`` reads it too)."""
    return proc._kw


def load_pipeline(spec: dict) -> skdh.Pipeline:
    """Build an ``skdh.Pipeline`` from a validated spec; raises :class:`PipelineSpecError`.

    A pipeline keeps per-run state in its processes: build one per run/thread (this is cheap).
    """
    problems = validate_pipeline_spec(spec)
    if problems:
        raise PipelineSpecError(problems)
    pipeline = skdh.Pipeline()
    for i, step in enumerate(spec["Steps"]):
        cls = resolve_process(step["package"], step["module"], step["process"])
        assert cls is not None  # validated above
        try:
            proc = cls(**dict(step["parameters"]))
        except Exception as exc:  # bad parameter values: SKDH raises various types
            raise PipelineSpecError([f"step {i} ({step['process']!r}): {type(exc).__name__}: {exc}"]) from exc
        pipeline.add(proc, name=step.get("name"))
    return pipeline


def spec_from_pipeline(pipeline: skdh.Pipeline) -> dict:
    """The dict ``Pipeline.save`` would write as YAML, without writing a file."""
    steps = []
    for proc in pipeline_steps(pipeline):
        package, module = type(proc).__module__.split(".", 1)
        steps.append(
            {
                "name": step_name(proc),
                "process": type(proc).__name__,
                "package": package,
                "module": module,
                "parameters": jsonable(step_parameters(proc)),
                "save_file": proc.pipe_save_file,
                "plot_file": proc.pipe_plot_file,
            }
        )
    return {"Steps": steps, "Version": SKDH_VERSION}
