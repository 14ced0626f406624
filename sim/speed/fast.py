"""The two sides of the switch: :class:`Fast` (the default) and :class:`Plain` (everything done the simple way,
``IntegrationModel(..., fast=False)`` or ``SIM_FAST=0``). A model holds one (``model.speed``) and asks it, at
fixed points of its set-up and week, for the parts of the work the machinery can do faster; the answers are the
same numbers either way (tests/test_speed.py)."""

from __future__ import annotations

import contextlib
import copy
import gc

import mesa
import numpy as np

from sim.speed import mesa_bulk
from sim.speed.background import BIG, THREADS, Later
from sim.speed.sharing import SharedDraws, WeekZero, check_start, setup_key, state_key


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector paused while a model makes its agents, and what was made then frozen
    (``gc.freeze``: kept out of every later collection until the model is released). Hundreds of thousands of
    new objects otherwise set off repeated collections over everything alive: 1.7 s of a 4.3 s set-up for all of
    Bradford, then about half a second for each collection that reaches them during the weeks. Nothing made here
    is garbage yet; the collector resumes (if it was on) as soon as the model is built."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was:
            gc.enable()


_AT_ONCE = contextlib.nullcontext()


class Fast:
    """The speed machinery on: replicate sharing, draws made a week ahead and passes on the second thread (for a
    large network), Mesa's registries filled in bulk, the garbage collector kept off what a model builds."""

    fast = True

    def __init__(self):
        self.ahead: dict = {}  # streams drawn ahead (draw_ahead): name -> (size, state before, job, index)
        self.shared: SharedDraws | None = None  # the replicate's shared draws, once there is a WeekZero

    # --- set-up and release ----------------------------------------------------------------------------------

    def building(self):
        """Around a model's set-up (its population, ties and agents)."""
        return _collector_paused()

    def on(self):
        """Around a model's set-up and each week: the passes over a large network may use the second thread."""
        return _AT_ONCE

    def keep(self, model, state: dict) -> WeekZero:
        """A copy of ``model``'s week-0 ``state``; its draws are kept from now on for the runs that start from
        it."""
        start = WeekZero(setup_key(model), copy.deepcopy(state))
        self.shared = start.draws
        return start

    def restore(self, model, start: WeekZero) -> bool:
        """Whether ``model`` starts from a copy of ``start``'s state (set on it, sharing the replicate's draws);
        False: it builds its own."""
        check_start(model, start)
        if not start.state:  # (made with the machinery off: nothing to copy, nothing shared)
            return False
        self.shared = start.draws
        for k, v in copy.deepcopy(start.state).items():  # one copy, so references shared inside stay shared
            setattr(model, k, v)
        return True

    def release(self, model, cls, recycle: bool) -> None:
        for _, _, later, _ in self.ahead.values():
            later.result()  # (draws made ahead for a week that will not come: finished, then dropped)
        self.ahead, self.shared = {}, None
        if recycle:
            mesa_bulk.recycle(model, cls)
        mesa_bulk.release(model)
        gc.unfreeze()

    # --- Mesa's registries -----------------------------------------------------------------------------------

    add_agents = staticmethod(mesa_bulk.add_agents)
    remove_agents = staticmethod(mesa_bulk.remove_agents)
    collect = staticmethod(mesa_bulk.collect)

    # --- draws made a week ahead -----------------------------------------------------------------------------

    def draw_ahead(self, model, slots: int, jobs) -> None:
        """For a network of more than ``BIG`` tie slots: ``jobs()`` gives (alone, together), lists of (stream
        name, size, draw); each of ``alone`` is drawn on a thread of its own, ``together`` in turn on one more,
        while the model goes on. :meth:`drawn` hands them over."""
        if slots <= BIG:
            return
        alone, together = jobs()
        states = {name: model.rng_for(name).bit_generator.state for name, _, _ in together}
        ahead = {}
        for name, size, fn in alone:
            ahead[name] = (size, model.rng_for(name).bit_generator.state, Later(True, lambda fn=fn: [fn()]), 0)
        later = Later(True, lambda: [fn() for _, _, fn in together])
        ahead.update({name: (size, states[name], later, k) for k, (name, size, _) in enumerate(together)})
        self.ahead = ahead

    def drawn(self, model, name: str, size: int):
        """This week's draws of stream ``name`` made ahead, if they were made for ``size``; else None, with the
        stream back where it was before them (to be drawn afresh)."""
        if name not in self.ahead:
            return None
        want, state, later, k = self.ahead.pop(name)
        out = later.result()[k]
        if want == size:
            return out
        model.rng_for(name).bit_generator.state = state
        return None

    # --- the replicate's shared draws ------------------------------------------------------------------------

    def _sharing(self, model, stream: str | None) -> tuple:
        """(the replicate's SharedDraws, the stream's bit generator, its position as a key), or a None position
        where nothing is shared: no WeekZero, a network large enough to be drawn a week ahead, or a bit generator
        other than PCG64. With no stream (a step that draws nothing) the position is the week's number."""
        shared = self.shared
        if shared is None or len(model.net.alive) > BIG:
            return shared, None, None
        if stream is None:
            return shared, None, ("week", model.week_no)
        g = model.rng_for(stream).bit_generator
        return shared, g, state_key(g.state)

    def shared_draws(self, model, name: str, size: int, draw, into=None, borrow: bool = False):
        """This week's numbers of stream ``name`` (``size``: what their shape follows): ``draw()`` draws them
        (into ``into``, if given), unless another run of the replicate drew them from the same position of the
        stream (:class:`SharedDraws`): then they are taken from it (copied into ``into``) and the stream moved on
        as drawing would have moved it. A large network's draws are not shared (they are drawn a week ahead on
        the second thread instead, and would not fit). ``borrow``: another run's numbers are returned as they are
        kept (read-only) rather than copied into ``into``."""
        shared, g, where = self._sharing(model, name)
        if where is None:
            return draw()
        key = (name, size, where)
        hit = shared.get(key)
        if hit is not None:
            g.state = hit[1]
            if into is None or borrow:
                return hit[0]
            np.copyto(into, hit[0])
            return into
        out = draw()
        shared.put(key, (out.copy() if into is not None else out, g.state))
        return out

    def shared_step(self, model, name: str, stream: str | None, reads: tuple, step) -> tuple:
        """``step()``: a part of the week that draws from ``stream`` (None: draws nothing) and reads only the
        arrays ``reads`` (and what every run of the replicate has alike: parameters, week-0 templates); returns a
        tuple of arrays (read-only when taken: a caller copies what it will change). Taken from another run of
        the replicate (:class:`SharedDraws`) where its stream stood at the same position (the same week, for no
        stream) and ``reads`` were equal, element for element; the stream is then moved on as ``step`` would
        have moved it. Otherwise done, and kept for the others."""
        shared, g, where = self._sharing(model, stream)
        if where is None:
            return step()
        key = (name, where)
        hit = shared.get(key)
        if hit is not None:
            seen, out, after = hit
            if len(seen) == len(reads) and all(np.array_equal(a, b) for a, b in zip(reads, seen)):
                if g is not None:
                    g.state = after
                return out
            return step()  # (one kept per position: the first run's)
        out = step()
        seen = tuple(np.array(a, copy=True) for a in reads)
        shared.put(key, (seen, out, None if g is None else g.state), arrays=[*seen, *out])
        return out


class _NoThreads:
    """Every job at once, on the thread that asks (:data:`sim.speed.background.THREADS`)."""

    def __enter__(self):
        self._token = THREADS.set(False)

    def __exit__(self, *exc):
        THREADS.reset(self._token)


class Plain:
    """The speed machinery off: the same numbers, the simple way (each run builds and draws its own, one thread,
    Mesa's public one-at-a-time registration and collection, the collector left alone)."""

    fast = False
    ahead: dict = {}
    shared = None

    def building(self):
        return _AT_ONCE

    def on(self):
        return _NoThreads()

    def keep(self, model, state: dict) -> WeekZero:
        return WeekZero(setup_key(model), {})

    def restore(self, model, start: WeekZero) -> bool:
        check_start(model, start)
        return False

    def release(self, model, cls, recycle: bool) -> None:
        ids = getattr(mesa.Agent, "_ids", None)  # (Mesa's per-model id counter would keep the model alive)
        if ids is not None:
            ids.pop(model, None)

    @staticmethod
    def add_agents(model, cls, rows) -> list:
        return [cls(model, r) for r in rows]

    @staticmethod
    def remove_agents(model, cls, agents: list) -> None:
        for a in agents:
            a.remove()

    @staticmethod
    def collect(datacollector, model, values: dict) -> None:
        datacollector.collect(model)

    def draw_ahead(self, model, slots: int, jobs) -> None:
        return

    def drawn(self, model, name: str, size: int) -> None:
        return None

    def shared_draws(self, model, name: str, size: int, draw, into=None, borrow: bool = False):
        return draw()

    def shared_step(self, model, name: str, stream: str | None, reads: tuple, step) -> tuple:
        return step()
