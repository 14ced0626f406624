"""What a weekly rule declares, in one place (as Starsim's modules declare pars, states and results).

A rule's module ends with ``RULE = Rule(...)``: its parameter group (the dataclass behind ``model.<group>``), the
population columns it changes week by week, the weekly inputs it defines (with the value that means "nothing
this week": what programmes write into) and the ones it reads, and its two forms: ``step`` (every resident at
once) and ``step_one`` (one resident, the ``engine=agents`` oracle). ``sim.processes`` gathers the rules; the
parameter groups of the config, the fields of :class:`sim.processes.Week` and the checks that every column has
one owner follow from these declarations.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np


@dataclasses.dataclass(frozen=True)
class WeekField:
    """One per-resident weekly input: its dtype, its neutral value (no programme, no contact) and meaning."""

    dtype: Any
    neutral: float
    doc: str


@dataclasses.dataclass(frozen=True)
class Rule:
    """One weekly rule's declaration."""

    name: str
    doc: str
    step: Callable  # the vectorised form
    step_one: Callable | None = None  # the per-resident form (None: the rule has no per-resident part)
    group: str | None = None  # config key model.<group>, or None if the rule reads another rule's group
    params: type | None = None  # the dataclass of that group
    owns: tuple = ()  # population columns this rule changes week by week
    defines: dict = dataclasses.field(default_factory=dict)  # weekly inputs this rule defines: name -> WeekField
    reads: tuple = ()  # weekly inputs this rule reads


class Week:
    """What a week brought each resident: one array per declared weekly input, at its neutral value until the
    contact rule and the programmes fill it in."""

    def __init__(self, fields: dict, n: int):
        self._fields = fields
        for name, f in fields.items():
            setattr(self, name, np.full(n, f.neutral, dtype=f.dtype))

    def grow(self, capacity: int) -> None:
        """Room for new rows (at the neutral value)."""
        for name, f in self._fields.items():
            old = getattr(self, name)
            new = np.full(capacity, f.neutral, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)
