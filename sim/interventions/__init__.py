"""Funded programmes and policies. Each is one module here with one ``Intervention`` subclass (its ``name`` is the
stable key used in scenarios) plus one YAML file of parameter values in ``configs/intervention/``; nothing else
changes to add one: modules in this package are discovered at import. A ``Policy`` subclass is a rule change
switched on in a scenario (``scenario.policies.<name>``); the others are bought (``scenario.allocation.<name>``).
"""

from __future__ import annotations

import importlib
import pkgutil

from sim.interventions.base import Intervention, Policy, ProgrammeParams

REGISTRY: dict[str, type[Intervention]] = {}


def _discover() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Intervention) and obj not in (Intervention, Policy):
                if obj.__module__ == module.__name__:
                    REGISTRY[obj.name] = obj


_discover()
NAMES = tuple(sorted(n for n, c in REGISTRY.items() if not c.policy))  # the programmes a budget buys
POLICIES = tuple(sorted(n for n, c in REGISTRY.items() if c.policy))  # the rule changes a scenario switches on

__all__ = ["REGISTRY", "NAMES", "POLICIES", "Intervention", "Policy", "ProgrammeParams"]
