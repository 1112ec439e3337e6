"""Small composable checks on one parameter value from a pipeline spec (plain YAML data).

Each rule returns None when the value is fine, else one phrase saying what it must be. Numbers
must be finite and at most :data:`MAX_NUMBER` in size, texts at most :data:`MAX_TEXT` characters,
lists at most :data:`MAX_ITEMS` long: a config must not size SKDH's arrays or loops at will.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

Rule = Callable[[Any], str | None]

MAX_NUMBER = 1e9
MAX_TEXT = 200
MAX_ITEMS = 64


def number(value: Any) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return None if ok and abs(value) <= MAX_NUMBER else f"must be a finite number of at most {MAX_NUMBER:g}"


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def text(value: Any) -> str | None:
    return None if isinstance(value, str) and len(value) <= MAX_TEXT else f"must be a text of at most {MAX_TEXT} chars"


def null(value: Any) -> str | None:
    return None if value is None else "must be null"


def one_of(*choices: Any) -> Rule:
    def rule(value: Any) -> str | None:
        ok = any(value == c and type(value) is type(c) for c in choices)
        return None if ok else f"must be one of {list(choices)}"

    return rule


def exactly(expected: Any, why: str) -> Rule:
    """A parameter pinned to one value, with the reason a study team reads in the error."""

    def rule(value: Any) -> str | None:
        return None if value == expected and type(value) is type(expected) else f"must be {expected!r}: {why}"

    return rule


def any_of(*rules: Rule) -> Rule:
    def rule(value: Any) -> str | None:
        problems = [r(value) for r in rules]
        return None if None in problems else " or ".join(dict.fromkeys(p for p in problems if p))

    return rule


def optional(inner: Rule) -> Rule:
    return any_of(null, inner)


def list_of(item: Rule, max_items: int = MAX_ITEMS, min_items: int = 0) -> Rule:
    """A list (YAML) or tuple (a spec built in Python) of items that each pass ``item``."""

    def rule(value: Any) -> str | None:
        if not isinstance(value, list | tuple) or not min_items <= len(value) <= max_items:
            return f"must be a list of {min_items}-{max_items} items"
        for i, entry in enumerate(value):
            problem = item(entry)
            if problem:
                return f"item {i} {problem}"
        return None

    return rule


def fields(spec: Mapping[str, Rule], required: tuple[str, ...] = ()) -> Rule:
    """A mapping whose keys are among ``spec`` (no free-form kwargs), each value passing its rule."""

    def rule(value: Any) -> str | None:
        if not isinstance(value, Mapping):
            return f"must be a mapping with keys among {sorted(spec)}"
        unknown = sorted(str(k) for k in value if k not in spec)
        if unknown:
            return f"has keys {unknown} that are not allowed (allowed: {sorted(spec)})"
        missing = [k for k in required if k not in value]
        if missing:
            return f"lacks keys {missing}"
        for key, entry in value.items():
            problem = spec[key](entry)
            if problem:
                return f"key {key!r} {problem}"
        return None

    return rule


def map_of(key: Rule, item: Rule, max_items: int = 16) -> Rule:
    """A mapping of up to ``max_items`` keys passing ``key`` to values passing ``item``."""

    def rule(value: Any) -> str | None:
        if not isinstance(value, Mapping) or len(value) > max_items:
            return f"must be a mapping of at most {max_items} entries"
        for k, entry in value.items():
            problem = key(k) or item(entry)
            if problem:
                return f"entry {k!r} {problem}"
        return None

    return rule


SCALAR = any_of(null, boolean, number, text)
#: a value with no structure to abuse: a scalar or a short list of scalars (day windows, bout lengths, ...)
PLAIN = any_of(SCALAR, list_of(SCALAR, 16))
NUMBERS = any_of(number, list_of(number))
PAIR = list_of(number, 2, 2)
