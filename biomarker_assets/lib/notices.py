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


def _max_list(obj: Any) -> int:
    if isinstance(obj, dict):
        return max((_max_list(v) for v in obj.values()), default=0)
    if isinstance(obj, list):
        return max([len(obj), *(_max_list(v) for v in obj)])
    return 0


def _max_str(obj: Any) -> int:
    if isinstance(obj, dict):
        return max((_max_str(v) for v in obj.values()), default=0)
    if isinstance(obj, list):
        return max((_max_str(v) for v in obj), default=0)
    return len(obj) if isinstance(obj, str) else 0


def _capped(obj: Any, items: int, chars: int) -> Any:
    """A copy with every list cut to ``items`` (+ a count of the rest) and every string to ``chars``."""
    if isinstance(obj, dict):
        return {k: _capped(v, items, chars) for k, v in obj.items()}
    if isinstance(obj, list):
        kept = [_capped(v, items, chars) for v in obj[:items]]
        return kept + ([f"... and {len(obj) - items} more"] if len(obj) > items else [])
    if isinstance(obj, str) and len(obj) > chars:
        return f"{obj[:chars]}... ({len(obj) - chars} more characters)"
    return obj


def fit_message(message: dict[str, Any], limit: int = SQS_MAX_BYTES, full_copy: str | None = None) -> dict[str, Any]:
    """``message`` itself when it fits in ``limit`` bytes, else a shortened copy that does.

    Lists and strings anywhere in ``reason`` and ``details`` are halved in turn until the body fits;
    ``details.truncated`` is then true and ``details.full_message`` names ``full_copy`` if given.
    """
    if len(encoded(message)) <= limit:
        return message
    plain = json.loads(json.dumps(message, default=str))  # tuples, sets, numbers as JSON would have them
    marker = {"truncated": True, **({"full_message": full_copy} if full_copy else {})}
    body = {k: plain.get(k) for k in ("reason", "details")}
    items, chars = max(_max_list(body), 1), max(_max_str(body), MIN_STRING)
    while True:
        short = _capped(body, items, chars)
        candidate = {**plain, "reason": short["reason"], "details": {**(short["details"] or {}), **marker}}
        if len(encoded(candidate)) <= limit:
            return candidate
        if items == 1 and chars == MIN_STRING:
            # too many keys to fit whatever the lists and strings: keep the kind, the file and the reason
            return {**plain, "reason": _capped(plain.get("reason"), 1, MIN_STRING), "details": marker}
        items, chars = max(items // 2, 1), max(chars // 2, MIN_STRING)
