"""Funded programmes. Each is one module here with one ``Intervention`` subclass (its ``name`` is the stable key
used in scenarios) plus one YAML file of parameter values in ``configs/intervention/``; nothing else changes to
add one: modules in this package are discovered at import.
"""

from __future__ import annotations

import importlib
import pkgutil

from sim.interventions.base import Intervention, ProgrammeParams

REGISTRY: dict[str, type[Intervention]] = {}


def _discover() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Intervention) and obj is not Intervention:
                if obj.__module__ == module.__name__:
                    REGISTRY[obj.name] = obj


_discover()
NAMES = tuple(sorted(REGISTRY))

__all__ = ["REGISTRY", "NAMES", "Intervention", "ProgrammeParams"]
