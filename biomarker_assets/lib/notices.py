"""Notification bodies that fit SQS: 256 KiB of UTF-8, still valid JSON, shortened where it matters least.

A config with thousands of errors or a metadata file with a million bad rows must still produce
its message: long lists keep their first items and end with ``"... and N more"``, long strings keep
their start; the message says it was shortened (and where the full copy is, when one was stored).
"""

from __future__ import annotations

import json
from typing import Any

SQS_MAX_BYTES = 256 * 1024  # SQS's limit for a message body (and its attributes, which we do not send)
MIN_STRING = 200  # characters a shortened string keeps at least


def encoded(message: dict[str, Any]) -> bytes:
    return json.dumps(message, default=str).encode()  # ASCII: no character SQS refuses, bytes = characters


def _capped(obj: Any, items: int, chars: int) -> Any:
    """A copy with every list cut to ``items`` (+ a count of the rest) and every string to ``chars``."""
    if isinstance(obj, dict):
        return {k: _capped(v, items, chars) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        values = obj if isinstance(obj, list | tuple) else sorted(obj, key=str)
        kept = [_capped(v, items, chars) for v in values[:items]]
        return kept + ([f"... and {len(values) - items} more"] if len(values) > items else [])
    if isinstance(obj, str) and len(obj) > chars:
        return f"{obj[:chars]}... ({len(obj) - chars} more characters)"
    return obj


def fit_message(message: dict[str, Any], limit: int = SQS_MAX_BYTES, full_copy: str | None = None) -> dict[str, Any]:
    """``message`` itself when it fits in ``limit`` bytes, else a shortened copy that does.

    Lists and strings anywhere in ``reason`` and ``details`` are halved together until the body
    fits, then lists grow back to the most items that still fit; ``details.truncated`` is then
    true and ``details.full_message`` names ``full_copy`` if given.
    """
    if len(encoded(message)) <= limit:
        return message
    marker = {"truncated": True, **({"full_message": full_copy} if full_copy else {})}
    body = {k: message.get(k) for k in ("reason", "details")}

    def shortened(items: int, chars: int) -> dict[str, Any] | None:
        short = _capped(body, items, chars)
        details = short["details"] if isinstance(short["details"], dict) else {"details": short["details"]}
        candidate = {**message, "reason": short["reason"], "details": {**details, **marker}}
        return candidate if len(encoded(candidate)) <= limit else None

    # upper bounds, so a million-item list is never copied whole: a list item takes at least 2 bytes of
    # JSON and a string at least its length, so nothing longer than these can fit
    items, chars = limit // 2, limit
    while (found := shortened(items, chars)) is None:
        if items == 1 and chars == MIN_STRING:
            # too many keys to fit whatever the lists and strings: keep the kind, the file and the reason
            return {**message, "reason": _capped(message.get("reason"), 1, MIN_STRING), "details": marker}
        items, chars = max(items // 2, 1), max(chars // 2, MIN_STRING)
    low, high = items, items * 2  # the most items that fit lie between what fit and what did not
    while low < high:
        middle = (low + high + 1) // 2
        if (candidate := shortened(middle, chars)) is not None:
            low, found = middle, candidate
        else:
            high = middle - 1
    return found
