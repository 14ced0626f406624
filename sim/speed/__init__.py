"""The speed machinery, apart from the model: what makes a run faster without changing any of its numbers.

The model asks it through this interface only (``tests/test_architecture.py`` and the import contracts hold
that): :func:`speed_for` gives a model its machinery (``model.speed``: :class:`sim.speed.fast.Fast`, or
:class:`sim.speed.fast.Plain` when switched off), :class:`Later` and :data:`BIG` run a compiled pass over a large
network on the second thread, :class:`WeekZero` is a replicate's shared week-0 state, and
:func:`defer_unused` / :func:`keep_freed_memory` are the process-wide import and memory settings.

Inside: ``sharing`` (a replicate's week-0 state and draws, keyed by a stream's position), ``background`` (the
second thread), ``mesa_bulk`` (Mesa's private registries, filled in bulk), ``deferred`` (Mesa's unused parts
loaded on first use), ``memory`` (glibc's malloc settings), ``fast`` (the two sides of the switch).

The switch: ``IntegrationModel(..., fast=False)``, or the environment variable ``SIM_FAST=0`` (also read by the
process-wide settings, before anything is imported). Off, the model runs the same, more slowly.
"""

from __future__ import annotations

import os

from sim.speed.background import BIG, Later
from sim.speed.sharing import WeekZero

__all__ = ["BIG", "Later", "WeekZero", "defer_unused", "enabled", "keep_freed_memory", "speed_for"]


def enabled() -> bool:
    """Whether the machinery is on by default in this process (``SIM_FAST``: 0, false, no or off switch it off)."""
    return os.environ.get("SIM_FAST", "1").strip().lower() not in ("0", "false", "no", "off")


def speed_for(fast: bool | None = None):
    """A model's machinery: on (``fast`` True), off (False), or as ``SIM_FAST`` says (None)."""
    if fast is not None and not isinstance(fast, bool):
        raise TypeError(f"'fast' must be True, False or None (SIM_FAST decides), got {fast!r}")
    from sim.speed.fast import Fast, Plain  # (imports Mesa: not at sim's own import, before deferred's work)

    return Fast() if (enabled() if fast is None else fast) else Plain()


def defer_unused() -> None:
    """Mesa's unused spaces, with networkx and scipy.spatial, load on first use (``sim.speed.deferred``)."""
    if enabled():
        from sim.speed.deferred import defer_unused as defer

        defer()


def keep_freed_memory() -> bool:
    """glibc's malloc keeps freed memory for reuse (``sim.speed.memory``); whether it applied."""
    if not enabled():
        return False
    from sim.speed.memory import keep_freed_memory as keep

    return keep()
