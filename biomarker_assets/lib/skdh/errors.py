"""The two ways a pipeline is refused: before it is built (spec) and before a step runs (this file's data)."""

from __future__ import annotations


class PipelineSpecError(ValueError):
    """The pipeline spec is not allowed or cannot be built; ``problems`` lists why."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid SKDH pipeline spec: " + "; ".join(self.problems))


class PipelineRunError(RuntimeError):
    """A step cannot run on what this file gave (e.g. DETACH without temperature); the message names the step.

    Raised before SKDH runs the step, instead of SKDH's own error deep inside it
    (for DETACH a NumPy ``AxisError``), so a study team reads what to change.
    """
