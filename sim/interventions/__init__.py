"""Funded programmes and policies. Each is one module here with one ``Intervention`` subclass (its ``name`` is the
stable key used in scenarios) plus one YAML file of parameter values in ``configs/intervention/``, written by
``make params``; nothing else changes to add one: modules in this package are discovered at import. A ``Policy``
subclass is a rule change switched on in a scenario (``scenario.policies.<name>``); the others are bought
(``scenario.allocation.<name>``).
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

from sim.interventions.base import Intervention, Policy, PolicyParams, ProgrammeParams

REGISTRY: dict[str, type[Intervention]] = {}


def check_declaration(cls: type[Intervention]) -> None:
    """A mis-declared programme fails here, at import (and so at ``make params``), rather than when first funded:
    its ``name`` taken already (a copied file whose name was not changed), or a ``Params`` that is not a dataclass
    built on the fields every programme has (``ProgrammeParams``; ``PolicyParams`` for a policy)."""
    where = f"{cls.__module__}.{cls.__name__}"
    if cls.name == Intervention.name:
        raise TypeError(f"{where}: no name of its own (name = '<key in scenarios>')")
    if cls.name in REGISTRY:
        raise TypeError(f"{where}: name '{cls.name}' is taken (by {REGISTRY[cls.name].__module__}); give the "
                        "programme a name of its own")
    base = PolicyParams if cls.policy else ProgrammeParams
    if not (dataclasses.is_dataclass(cls.Params) and issubclass(cls.Params, base)):
        raise TypeError(f"{where}: Params must be a dataclass subclassing {base.__name__} "
                        f"(sim/interventions/base.py: the fields every {'policy' if cls.policy else 'programme'} has)")


def _discover() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Intervention) and obj not in (Intervention, Policy):
                if obj.__module__ == module.__name__:
                    check_declaration(obj)
                    REGISTRY[obj.name] = obj


_discover()
NAMES = tuple(sorted(n for n, c in REGISTRY.items() if not c.policy))  # the programmes a budget buys
POLICIES = tuple(sorted(n for n, c in REGISTRY.items() if c.policy))  # the rule changes a scenario switches on

__all__ = ["REGISTRY", "NAMES", "POLICIES", "Intervention", "Policy", "ProgrammeParams"]
