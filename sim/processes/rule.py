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

from sim.columns import Column


@dataclasses.dataclass(frozen=True)
class WeekField:
    """One per-resident weekly input: its dtype, its neutral value (no programme, no contact) and meaning."""

    dtype: Any
    neutral: float
    doc: str


@dataclasses.dataclass(frozen=True)
class Rule:
    """One weekly rule's declaration.

    Most rules are of kind ``"column"``: they compute new values of the columns they own from the start-of-week
    state and the week's inputs. For those the engines need nothing else: ``step(model, week, u)`` gives the new
    values for everyone, ``step_one(model, i, prev, week, u)`` one resident's value (``prev``: the start-of-week
    columns), ``draws(model)`` (optional) the week's per-resident random numbers ``u`` both forms read, and
    ``commit(model, new)`` (optional; default: write the first owned column) applies the new values at the end
    of the week; ``prepare(model, week)`` (optional) writes weekly inputs that other rules read from the
    start-of-week state (the mental-health rule's slowing of learning and job finding) before any of them runs.
    The other kinds have their own place in the week: ``"contact"`` (first: fills the week's contact inputs),
    ``"ties"`` (new ties, applied with the fading) and ``"demography"`` (after the week).
    """

    name: str
    doc: str
    step: Callable  # the vectorised form
    step_one: Callable | None = None  # the per-resident form
    kind: str = "column"
    group: str | None = None  # config key model.<group>, or None if the rule reads another rule's group
    params: type | None = None  # the dataclass of that group
    owns: tuple = ()  # population columns this rule changes week by week
    columns: dict = dataclasses.field(default_factory=dict)  # population columns this rule brings: name -> Column
    defines: dict = dataclasses.field(default_factory=dict)  # weekly inputs this rule defines: name -> WeekField
    reads: tuple = ()  # weekly inputs this rule reads
    draws: Callable | None = None  # draws(model): this week's random numbers, shared by both forms
    commit: Callable | None = None  # commit(model, new): apply the new values (default: the first owned column)
    prepare: Callable | None = None  # prepare(model, week): write weekly inputs other rules read, from the
    # start-of-week state, before any column rule runs (both engines call it)
    stream: str | None = None  # the named random stream ``draws`` takes all its numbers from, if only it uses
    # that stream and the draws' size is the population's capacity: they can then be drawn a week ahead

    def apply(self, model, new) -> None:
        if self.commit is not None:
            self.commit(model, new)
        else:
            getattr(model.pop, self.owns[0])[:] = new


KINDS = ("contact", "column", "ties", "demography")

__all__ = ["Column", "KINDS", "Rule", "Week", "WeekField"]


class Week:
    """What a week brought each resident: one array per declared weekly input, at its neutral value until the
    contact rule and the programmes fill it in."""

    def __init__(self, fields: dict, n: int):
        self._fields = fields
        for name, f in fields.items():
            setattr(self, name, np.full(n, f.neutral, dtype=f.dtype))

    def reset(self) -> None:
        """Every input back at its neutral value, in the same arrays (a new week without new allocations)."""
        for name, f in self._fields.items():
            getattr(self, name).fill(f.neutral)

    def __len__(self) -> int:
        """Rows (the population's capacity when made or last grown)."""
        return len(getattr(self, next(iter(self._fields)))) if self._fields else 0

    def grow(self, capacity: int) -> None:
        """Room for new rows (at the neutral value)."""
        for name, f in self._fields.items():
            old = getattr(self, name)
            new = np.full(capacity, f.neutral, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)
