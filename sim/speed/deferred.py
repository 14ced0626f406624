"""Modules that load on first use rather than at import: parts of Mesa's package that the model never touches.

``import mesa`` imports every Mesa space, and with them networkx (for ``NetworkGrid``) and scipy.spatial (for the
experimental continuous space): about 0.3 s of every command and every worker process, for classes the model
does not use. :func:`defer` puts a stand-in for such a module in ``sys.modules``: ``import`` statements bind the
stand-in at once, and the first attribute read from it imports the real module and then reads from that (the
app's network view and Mesa's visualisation use them so, unchanged). A stand-in has its module's ``__spec__``,
``__file__`` and, for a package, ``__path__`` (so that importing a submodule, or ``inspect`` walking
``sys.modules`` as Mesa's logging does, loads nothing). Called once, from ``sim/__init__.py``, before anything
imports Mesa; a module already imported is left as it is.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types

DEFERRED = ("networkx", "mesa.experimental")


class Deferred(types.ModuleType):
    """A module's stand-in: any attribute it does not hold yet loads the real module."""

    def __getattr__(self, attr):
        return getattr(_load(self), attr)


def _load(stand_in: Deferred) -> types.ModuleType:
    name = stand_in.__name__
    if sys.modules.get(name) is stand_in:
        del sys.modules[name]
    real = importlib.import_module(name)
    for k, v in real.__dict__.items():  # later reads through the stand-in find the names at once
        stand_in.__dict__.setdefault(k, v)
    parent, _, child = name.rpartition(".")
    if parent and getattr(sys.modules.get(parent), child, None) is stand_in:
        setattr(sys.modules[parent], child, real)
    return real


def _spec(name: str):
    parent = name.rpartition(".")[0]
    if not parent:
        return importlib.util.find_spec(name)
    if parent in sys.modules:  # (find_spec of a submodule would import its parent)
        return None
    where = importlib.util.find_spec(parent)
    if where is None or where.submodule_search_locations is None:
        return None
    return importlib.machinery.PathFinder.find_spec(name, where.submodule_search_locations)


def defer(name: str) -> bool:
    """Put a stand-in for module ``name`` in ``sys.modules``; False (nothing done) if it is imported already, its
    package is, or it is not installed."""
    if name in sys.modules:
        return False
    spec = _spec(name)
    if spec is None or spec.loader is None:
        return False
    stand_in = Deferred(name)
    stand_in.__spec__, stand_in.__loader__, stand_in.__file__ = spec, spec.loader, spec.origin
    stand_in.__package__ = name if spec.submodule_search_locations is not None else name.rpartition(".")[0]
    if spec.submodule_search_locations is not None:
        stand_in.__path__ = list(spec.submodule_search_locations)
    sys.modules[name] = stand_in
    return True


def defer_unused() -> None:
    for name in DEFERRED:
        defer(name)
