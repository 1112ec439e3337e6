"""Which packages and modules a pipeline spec may name, and the class a valid name resolves to.

Specs come from study config files, so they are untrusted: SKDH's own ``Pipeline.load``
would ``import_module`` whatever a spec names. The allow-list is built from the
*installed* packages (never from a spec), and a spec's strings are checked against it
before anything is imported.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module

import skdh
from skdh.base import BaseProcess

from biomarker_assets.lib.skdh import safe_loading
from biomarker_assets.skdh_processes import PROJECT_PROCESSES

# Anything that can build or run a pipeline imports this module: from here on SKDH never unpickles.
safe_loading.install()

PROJECT_PACKAGE = "biomarker_assets"
PROJECT_MODULE = "skdh_processes"


def _skdh_modules() -> frozenset[str]:
    """Public module paths of the *installed* skdh (``io``, ``io.axivity``, ``gait.core``, ...).

    Built by walking skdh's own package tree (never a spec), so a spec can only
    name modules that already ship with the pinned SKDH. Private modules
    (``_extensions``) are left out: they hold no processes.
    """
    names = set()
    for info in pkgutil.walk_packages(skdh.__path__, prefix="skdh.", onerror=lambda _name: None):
        rel = info.name.split(".", 1)[1]
        if not any(part.startswith("_") for part in rel.split(".")):
            names.add(rel)
    return frozenset(names)


def _project_modules() -> frozenset[str]:
    """``skdh_processes`` plus the submodule defining each project process (what ``Pipeline.save`` writes)."""
    names = {PROJECT_MODULE}
    for cls in PROJECT_PROCESSES.values():
        names.add(cls.__module__.split(".", 1)[1])
    return frozenset(names)


#: package name -> module paths (relative to the package) that a spec step may name.
ALLOWED_PACKAGES: dict[str, frozenset[str]] = {
    "skdh": _skdh_modules(),
    PROJECT_PACKAGE: _project_modules(),
}


def resolve_process(package: str, module: str, process: str) -> type[BaseProcess] | None:
    """Class for an already allow-listed (package, module, process); None if absent.

    Only called after the module string is in ``ALLOWED_PACKAGES``: skdh modules
    are imported by their allow-listed name, project processes come from
    ``PROJECT_PROCESSES`` without importing anything.
    """
    if package == "skdh":
        obj = getattr(import_module(f"skdh.{module}"), process, None)
    else:
        obj = PROJECT_PROCESSES.get(process)
        if obj is not None and module != PROJECT_MODULE and obj.__module__ != f"{PROJECT_PACKAGE}.{module}":
            return None
    if isinstance(obj, type) and issubclass(obj, BaseProcess) and obj is not BaseProcess:
        return obj
    return None
