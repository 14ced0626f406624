"""Observation functions: the measures published figures use, computed from the model's state.

A survey question is not a state variable: "mixed socially at least once a month with people of a different
ethnic background" is the chance of at least one such meeting in four weeks, from each tie's weekly chance of
meeting, not a count of ties; "the share of opportunities to mix taken up" compares the make-up of one's contacts
with that of one's area. Each function here computes one such measure for a group of residents; the targets in
``data/targets/`` name them (through ``experiments.targets``).
"""

from __future__ import annotations

import numpy as np

from sim.network import NEIGHBOURHOOD
from sim.population import poor_english

WEEKS_IN_MONTH = 4


def weekly_meeting(net) -> np.ndarray:
    """Each tie slot's weekly chance of meeting (a tie meets when its uniform is at least ``meet_thr``)."""
    return np.clip(1.0 - net.meet_thr.astype(float), 0.0, 1.0)


def chance_of_meeting(model, weeks: int = WEEKS_IN_MONTH, bridging: bool | None = None,
                      setting: int | None = None) -> np.ndarray:
    """Per resident row: the chance of at least one meeting in ``weeks`` weeks with a tie of the kind asked
    (bridging or not, in one setting or any), everyday and programme ties alike."""
    n = model.pop.capacity
    log_none = np.zeros(n)
    for net in model.networks:
        keep = net.alive.copy()
        if bridging is not None:
            keep &= net.bridging == bridging
        if setting is not None:
            keep &= net.setting == setting
        m = weekly_meeting(net)[keep]
        w = weeks * np.log1p(-np.minimum(m, 1 - 1e-12))
        log_none += np.bincount(net.a[keep], weights=w, minlength=n) + np.bincount(net.b[keep], weights=w,
                                                                                      minlength=n)
    return 1.0 - np.exp(log_none)


def _adults(model, low=16.0, high=np.inf, groups=None) -> np.ndarray:
    pop = model.pop
    who = pop.alive & (pop.age >= low) & (pop.age < high)
    if groups is not None:
        who &= np.isin(pop.group, [pop.groups.index(g) for g in groups if g in pop.groups])
    return who


def _mean(x: np.ndarray, who: np.ndarray) -> float:
    return float(x[who].mean()) if who.any() else float("nan")


def minority_groups(model) -> list[str]:
    return [g for g in model.pop.groups if g != "white_british"]


def mixing_monthly(model, groups=None) -> float:
    """Share of residents 16+ (of ``groups``, or all) who meet someone of another ethnic group at least once in
    four weeks (expected, from the ties' weekly chances of meeting)."""
    return _mean(chance_of_meeting(model, bridging=True), _adults(model, groups=groups))


def neighbour_chat_monthly(model, low=16.0, high=np.inf) -> float:
    """Share of residents aged ``low``-``high`` who meet a neighbour (a neighbourhood tie, any group) at least
    once in four weeks."""
    return _mean(chance_of_meeting(model, setting=NEIGHBOURHOOD), _adults(model, low, high))


def opportunities_taken(model, groups=None) -> float:
    """The share of opportunities to mix taken up (British Integration Survey's measure): for each resident 16+
    with contacts, the out-group share of their expected weekly meetings divided by the out-group share of their
    area's residents; the mean over residents (of ``groups``, or all)."""
    pop = model.pop
    n = pop.capacity
    met, out = np.zeros(n), np.zeros(n)
    for net in model.networks:
        m = np.where(net.alive, weekly_meeting(net), 0.0)
        for ends in (net.a, net.b):
            met += np.bincount(ends, weights=m, minlength=n)
            out += np.bincount(ends, weights=m * net.bridging, minlength=n)
    alive = pop.alive
    share = np.bincount(pop.group[alive], minlength=len(pop.groups)) / max(alive.sum(), 1)
    expected = 1.0 - share[pop.group]
    who = _adults(model, groups=groups) & (met > 0) & (expected > 0)
    ratio = np.divide(out, met, out=np.zeros(n), where=met > 0) / np.where(expected > 0, expected, 1.0)
    return _mean(ratio, who)


def ties_of(model, bridging_only: bool = False) -> np.ndarray:
    """Ties per resident row (everyday and programme), or only those joining different ethnic groups."""
    n = model.pop.capacity
    out = np.zeros(n)
    for net in model.networks:
        m = net.alive & net.bridging if bridging_only else net.alive
        out += np.bincount(net.a[m], minlength=n) + np.bincount(net.b[m], minlength=n)
    return out


def fluency_employment_effect(model) -> float:
    """Mean rise in the chance of work if residents aged 16-64 who cannot speak English well came to speak it
    fluently (all else equal: the causal part of the English gaps): the model's counterpart of Dustmann &
    Fabbri's ~22-point fluency effect."""
    from sim.processes import employment

    pop = model.pop
    rows = np.flatnonzero(pop.alive & poor_english(pop.main_english, pop.english) & (pop.age >= 16) & (pop.age < 65))
    if len(rows) == 0:
        return float("nan")
    p = model.params
    now = employment.propensity(pop, p.population, p.employment, model.employment_shift, rows=rows)
    saved = pop.english[rows].copy()
    pop.english[rows] = 3.5  # middle of "very well"
    fluent = employment.propensity(pop, p.population, p.employment, model.employment_shift, rows=rows)
    pop.english[rows] = saved
    return float((fluent - now).mean())
