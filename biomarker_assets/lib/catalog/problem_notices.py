"""What to tell a person about a study that cannot be discovered, and only once per distinct problem.

A missing config or bucket lasts many ticks; one message per problem (a new one when it changes,
or comes back after a fix) keeps the notification queue readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from biomarker_assets.lib.study_config.loading import ConfigError, ConfigNotFound

#: an invalid_config message lists at most this many errors, each at most MAX_ERROR_CHARS long: a config
#: with thousands of errors once made a message over SQS's 256 KiB limit, and the send failed.
MAX_ERRORS_IN_MESSAGE = 20
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class ProblemNotice:
    kind: str  # a notification kind: missing_config, invalid_config or missing_bucket
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


def shown_errors(errors: list[str], limit: int = MAX_ERRORS_IN_MESSAGE) -> list[str]:
    """The first ``limit`` errors, each cut to MAX_ERROR_CHARS, then one line saying how many more there are."""
    shown = [e if len(e) <= MAX_ERROR_CHARS else e[: MAX_ERROR_CHARS - 1] + "…" for e in errors[:limit]]
    if len(errors) > limit:
        shown.append(
            f"... and {len(errors) - limit} more (`biomarker-assets validate-config <file>` lists every error)"
        )
    return shown


def config_error_notice(problem: ConfigError) -> ProblemNotice:
    """An invalid_config notice of bounded size (a few KB, whatever the number of errors)."""
    return ProblemNotice(
        "invalid_config",
        f"{len(problem.errors)} error(s) in the study config",
        {"errors": shown_errors(problem.errors), "error_count": len(problem.errors)},
    )


def notice_for(problem: Exception) -> ProblemNotice:
    """A missing or invalid config, else a missing bucket (the only other problem a study's discovery has)."""
    if isinstance(problem, ConfigNotFound):
        return ProblemNotice("missing_config", str(problem))
    if isinstance(problem, ConfigError):
        return config_error_notice(problem)
    return ProblemNotice("missing_bucket", str(problem))


def first_notice(notified: dict[str, str], study: str, problem: Exception) -> ProblemNotice | None:
    """The notice to send, or None if this problem of the study was the last one sent; records it in ``notified``."""
    text = str(problem)
    if notified.get(study) == text:
        return None
    notified[study] = text
    return notice_for(problem)
