"""Registering many agents with Mesa at once: the one place that touches Mesa's private registries.

``Agent.__init__`` registers one agent at a time in three registries (Mesa 3.3.1: ``model._agents``, the agent
type's AgentSet in ``model._agents_by_type`` and ``model._all_agents``); a model of 500,000 residents that gains
and loses hundreds a week spends seconds there. For the Mesa version these were written against, the same
registries are filled in bulk (about 4x faster; a test checks the agents equal those ``Agent(model)`` makes).
Under any other Mesa version the public, one-at-a-time path is used: slower, never wrong. The same holds for
recording the week's indicators (:func:`collect`): appended to the DataCollector's lists as Mesa 3.3.1's own
``collect`` appends them, without its deep copy of each number.
"""

from __future__ import annotations

import weakref

import mesa

BULK_VERSION = "3.3.1"
BULK = mesa.__version__ == BULK_VERSION


# Agents of models released with ``recycle`` (a study's runs: nothing outside the model holds them), emptied and
# kept by class for the next models of this process: filling in a kept agent costs about half of making a new one
# and freeing it later (5.0 against 9.4 ms for 20,000 agents)
_SPARE: dict = {}
SPARE_MAX = 600_000  # agents kept in all (about 100 bytes each)


def add_agents(model, cls, rows) -> list:
    """One agent of ``cls`` per row (``agent.row``; ``rows`` any iterable of ints), registered with ``model``;
    returns them in row order (a new list)."""
    if not BULK:
        return [cls(model, r) for r in rows]
    rows = rows if isinstance(rows, (range, list)) else list(rows)
    ids = mesa.Agent._ids[model]
    made, k = [], 0
    spare = _SPARE.get(cls)
    if spare:
        k = min(len(spare), len(rows))
        made = spare[len(spare) - k:]
        del spare[len(spare) - k:]
        # (zip stops at the end of the kept agents before it takes another row or id)
        for a, r, i in zip(made, rows, ids):
            a.model = model
            a.unique_id = i
            a.pos = None
            a.row = r
    new = cls.__new__
    append = made.append
    # zip takes the next row before the next id: the model's id counter advances once per agent, as next() would
    for r, i in zip(rows[k:] if k else rows, ids):
        a = new(cls)
        a.model = model  # (one statement each: quicker than one tuple assignment)
        a.unique_id = i
        a.pos = None
        a.row = r
        append(a)
    if model._agents:
        model._agents.update(dict.fromkeys(made))
    else:  # a model's first agents (its whole population): the registry made at once, not filled in a second pass
        model._agents = dict.fromkeys(made)
    if cls not in model._agents_by_type:
        model._agents_by_type[cls] = mesa.agent.AgentSet([], random=model.random)
    # the AgentSets hold WeakKeyDictionaries: fill their dicts of weak references directly. Plain weak references
    # (no callback) are shared by both; entries leave through remove_agents, as Mesa's own do (the model holds a
    # strong reference to every live agent, so none dies while still listed)
    refs = dict.fromkeys(map(weakref.ref, made))
    for agentset, last in ((model._agents_by_type[cls], False), (model._all_agents, True)):
        weak = agentset._agents
        if weak.data or weak._pending_removals:
            weak.data.update(refs)
        else:  # empty: the dict (a copy of it for the first set) becomes its contents
            weak.data = refs if last else refs.copy()
    return made


def remove_agents(model, cls, agents: list) -> None:
    """Deregister ``agents`` (the inverse of :func:`add_agents`)."""
    if not BULK:
        for a in agents:
            a.remove()
        return
    registry = model._agents
    for a in agents:
        del registry[a]
    # the AgentSets' WeakKeyDictionaries: what their pop does (mark the length stale, pop the weak reference from
    # the dict), for all the agents at once rather than a Python call each
    refs = list(map(weakref.ref, agents))
    by_type = model._agents_by_type.get(cls)
    for agentset in (by_type, model._all_agents):
        if agentset is None:
            continue
        weak = agentset._agents
        weak._dirty_len = True
        pop = weak.data.pop
        for r in refs:
            pop(r, None)


def collect(datacollector, model, values: dict) -> None:
    """``datacollector.collect(model)`` for model reporters that each read one entry of ``values`` (immutable
    numbers): Mesa 3.3.1's collect deep-copies every value it records, which for a float is the float itself but
    costs a call chain per value and week. Here each is appended as it is; under another Mesa, or before Mesa has
    checked the reporters (the first collect), Mesa's own collect runs."""
    dc = datacollector
    if not (BULK and getattr(dc, "_validated", False) and not dc.agent_reporters and not dc.agenttype_reporters
            and dc.model_vars.keys() <= values.keys()):
        dc.collect(model)
        return
    for var, column in dc.model_vars.items():
        column.append(values[var])


def recycle(model, cls) -> None:
    """Keep ``model``'s agents of ``cls``, emptied, for the next models of this process (:func:`add_agents`); only
    for a model about to be released whose agents nothing else refers to. Under another Mesa, nothing is kept."""
    if not BULK:
        return
    spare = _SPARE.setdefault(cls, [])
    room = SPARE_MAX - sum(len(v) for v in _SPARE.values())
    agents = [a for a in model._agents if a.__class__ is cls][:max(room, 0)]
    for a in agents:
        a.__dict__.clear()  # (no reference to the model or to anything it had set is kept)
    spare.extend(agents)


def release(model) -> None:
    """Let ``model`` be freed: Mesa 3.3.1's ``Agent._ids`` (a per-model id counter) keeps it alive, and the model
    and its agents refer to one another (its registries, ``agent.model``, Mesa's wrapped ``step``), a cycle only the
    cyclic collector could break. Here the registries are emptied and the wrapped step dropped, so the model, its
    agents and its arrays go as soon as the caller lets go of it. The model cannot step afterwards."""
    ids = getattr(mesa.Agent, "_ids", None)
    if ids is not None:
        ids.pop(model, None)
    if not BULK:  # another Mesa: its registries are not ours to empty (the cyclic collector frees the model)
        return
    for agentset in (*getattr(model, "_agents_by_type", {}).values(), getattr(model, "_all_agents", None)):
        if agentset is not None:
            agentset._agents.data.clear()
    if isinstance(getattr(model, "_agents", None), dict):
        model._agents.clear()
    model.__dict__.pop("step", None)  # Model.__init__ set step = the bound _wrapped_step: a cycle
    model.__dict__.pop("_user_step", None)
