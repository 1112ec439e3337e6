"""Run SKDH's own method code with some of the functions it calls by name replaced.

The fast processes reuse SKDH's method bodies unchanged and swap only the slow
helper they call (``DFA``, ``moving_max``, ...). Patching ``skdh``'s module
attributes would change every SKDH process in the interpreter while it runs (not
safe with threads, and not what a bare-SKDH step asked for); instead the method's
function object is copied with a globals dict in which those names resolve to the
project's functions. ``SleepCorrected`` does the same for sleep.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any


def rebind(func: Callable[..., Any], replacements: dict[str, Callable[..., Any]], qualname: str) -> types.FunctionType:
    """A copy of ``func`` (undecorated) whose global names in ``replacements`` resolve to the given functions.

    Raises ImportError when SKDH's code no longer calls a replaced name, so an SKDH
    upgrade fails loudly instead of silently running the slow path.
    """
    func = getattr(func, "__wrapped__", func)  # SKDH's handle_process_returns keeps the original there
    assert isinstance(func, types.FunctionType), f"{func!r} is not a plain function"
    missing = sorted(set(replacements) - set(func.__code__.co_names))
    if missing:
        raise ImportError(f"skdh's {func.__qualname__} no longer calls {missing} by name; update {qualname}")
    # the closure carries SKDH's __class__ cell, so super() inside means what it means in SKDH
    copy = types.FunctionType(
        func.__code__, {**func.__globals__, **replacements}, func.__name__, func.__defaults__, func.__closure__
    )
    copy.__kwdefaults__ = dict(func.__kwdefaults__ or {})
    copy.__doc__ = func.__doc__
    copy.__qualname__ = qualname
    return copy
