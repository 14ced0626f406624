"""What the runs of one replicate share: the week-0 state (:class:`WeekZero`) and the big weekly draws and
events the first run made (:class:`SharedDraws`), keyed by a random stream's exact position."""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import weakref

SHARED_DRAWS_BUDGET = 256 * 2**20  # bytes of shared draws (SharedDraws) a process keeps, all replicates together
_LIVE_DRAWS: weakref.WeakSet = weakref.WeakSet()
_USES = itertools.count()  # when each SharedDraws was last used (put or taken from), to make room from the oldest
_ROOM = threading.Lock()  # (the explorer steps models in threads: the set of live draws is read and added to in turn)


def state_key(state: dict) -> tuple | None:
    """A random stream's position as a hashable key (numpy's PCG64 state; None for another bit generator)."""
    if state.get("bit_generator") != "PCG64":
        return None
    return state["state"]["state"], state["state"]["inc"], state["has_uint32"], state["uinteger"]


class SharedDraws:
    """What a replicate's runs have in common week by week, kept by the first for the others: its big draws, and
    the demographic events decided from them.

    Every scenario of a replicate starts from the same week-0 state and random streams, and the big weekly
    draws (a uniform per tie slot for contact; per resident row for employment, mental health and deaths) are
    made whatever the funding does (common random numbers): so each scenario draws the same numbers while its
    stream stands where the first run's stood. The first run keeps them here, keyed by stream, size and the
    stream's exact position; a later run whose stream is at that position takes them and moves the stream on to
    where drawing would have left it. The numbers are therefore those it would have drawn, bit for bit, and a
    run whose stream has moved elsewhere (its population or network grew differently) simply draws afresh. A
    step that draws from a stream and reads some columns (the week's deaths, births and moves) is kept with
    copies of what it read, and taken only where the stream stands alike and those columns are equal
    (:meth:`sim.speed.fast.Fast.shared_step`). Kept up to ``SHARED_DRAWS_BUDGET`` bytes for the whole process,
    room being made by dropping whole replicates' draws, least recently used first (a worker takes the scenarios
    of one replicate after another, so those of replicates it has finished with would otherwise fill the budget
    and stop every later replicate sharing); the arrays are read-only."""

    def __init__(self):
        self.entries: dict = {}
        self.nbytes = 0
        self.used = next(_USES)
        with _ROOM:
            _LIVE_DRAWS.add(self)

    def get(self, key):
        hit = self.entries.get(key)
        if hit is not None:
            self.used = next(_USES)
        return hit

    def put(self, key, value: tuple, arrays=None) -> None:
        """Keep ``value`` under ``key``; ``arrays`` (default: its first item) are what it holds, counted against
        the budget and made read-only."""
        arrays = [value[0]] if arrays is None else arrays
        size = sum(a.nbytes for a in arrays)
        self.used = next(_USES)
        if key in self.entries or not self._room(size):
            return
        for a in arrays:
            a.setflags(write=False)
        self.entries[key] = value
        self.nbytes += size

    def _room(self, size: int) -> bool:
        """Whether ``size`` more bytes fit the budget, after dropping the draws of other replicates, least
        recently used first, as far as needed (a run that later misses them draws afresh: the same numbers)."""
        with _ROOM:
            others = sorted((d for d in _LIVE_DRAWS if d is not self and d.nbytes), key=lambda d: d.used)
            held = sum(d.nbytes for d in others) + self.nbytes
            for old in others:
                if held + size <= SHARED_DRAWS_BUDGET:
                    break
                held -= old.nbytes
                old.entries, old.nbytes = {}, 0
            return held + size <= SHARED_DRAWS_BUDGET


@dataclasses.dataclass(frozen=True)
class WeekZero:
    """A model's state before its first week, for a given area, scale, seed and parameters: the same for every
    funding scenario, so a study builds it once per replicate and starts each scenario from a copy (and its
    runs share their big weekly draws: :class:`SharedDraws`). Made with the speed machinery switched off, it
    holds no state (``state`` empty): a model started from it builds its own."""

    key: tuple
    state: dict
    draws: SharedDraws = dataclasses.field(default_factory=SharedDraws, compare=False, repr=False)


def setup_key(model) -> tuple:
    """What a model's week-0 state depends on: its area, scale, seed and parameters."""
    s = model.seed_sequence
    return (json.dumps(model.area, sort_keys=True, default=str), model.scale, s.entropy, tuple(s.spawn_key),
            dataclasses.astuple(model.params))


def check_start(model, start) -> None:
    """``start`` is a WeekZero made for ``model``'s area, scale, seed and parameters (else an error)."""
    if not isinstance(start, WeekZero):
        raise TypeError(f"'start' must be a WeekZero (from IntegrationModel.week_zero()), got {type(start).__name__}")
    if start.key != setup_key(model):
        raise ValueError("'start' is the week-0 state of another run (area, scale, seed or parameters differ)")
