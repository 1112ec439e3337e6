"""What to tell a person about a study that cannot be discovered, and only once per distinct problem.

A missing config or bucket lasts many ticks; one message per problem (a new one when it changes,
or comes back after a fix) keeps the notification queue readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from biomarker_assets.lib.study_config.loading import ConfigError, ConfigNotFound


@dataclass(frozen=True)
class ProblemNotice:
    kind: str  # a notification kind: missing_config, invalid_config or missing_bucket
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


def notice_for(problem: Exception) -> ProblemNotice:
    """A missing or invalid config, else a missing bucket (the only other problem a study's discovery has)."""
    if isinstance(problem, ConfigNotFound):
        return ProblemNotice("missing_config", str(problem))
    if isinstance(problem, ConfigError):
        return ProblemNotice(
            "invalid_config", f"{len(problem.errors)} error(s) in the study config", {"errors": problem.errors}
        )
    return ProblemNotice("missing_bucket", str(problem))


def first_notice(notified: dict[str, str], study: str, problem: Exception) -> ProblemNotice | None:
    """The notice to send, or None if this problem of the study was the last one sent; records it in ``notified``."""
    text = str(problem)
    if notified.get(study) == text:
        return None
    notified[study] = text
    return notice_for(problem)
