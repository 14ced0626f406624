"""Ties form with opportunity and homophily, and fade.

Each week every member of a setting starts a new tie there with probability ``form``; the partner is drawn from
the same setting, from the resident's own group first with probability ``homophily`` (higher for residents who
cannot speak English well: shared language; lower for residents warmer towards other groups than average).
Fading is drawn with the week's contacts (``contact.week``); ties whose setting no longer joins the pair fade
faster.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.kernels import row
from sim.network import SCHOOL, SETTING_ATTR, TIE_SETTINGS, WORK, TieParams, own_group_probability
from sim.population import POOR_ENGLISH_BELOW, poor_english
from sim.processes.rule import Rule


@numba.njit(cache=True, nogil=True)
def gaps_below(e, log_q, last, n, out, k):  # pragma: no cover - compiled
    """Chosen positions from a chunk of standard exponentials ``e``: each gap is numpy's inversion geometric,
    ceil(-e / log1p(-p)) (``log_q``, computed by numpy), and the positions are ``last`` plus the running sum of
    the gaps (numpy's int64 cumsum); those below ``n`` are written from ``out[k]`` on (they come first: gaps are
    at least 1). Returns (how many there are in all, the chunk's last position)."""
    big = 9.223372036854776e18  # (numpy's cap: the smallest double above the largest int64)
    pos = last
    for t in range(e.shape[0]):
        z = np.ceil(-e[t] / log_q)
        pos += np.int64(z) if z < big else np.int64(9223372036854775807)
        if pos < n:
            out[row(k)] = pos
            k += 1
    return k, pos


@numba.njit(cache=True, nogil=True)
def initiators(members, chosen_at, alive, attitude, reference, main_english, english, homophily, language,
               warmth_effect):  # pragma: no cover - compiled
    """This week's initiators in a setting (the live ones among ``members[chosen_at]``, in order) and each one's
    chance that the new tie is with their own group (``network.own_group_probability``: homophily, plus
    ``language`` for poor English, less ``warmth_effect`` times warmth, clipped to 0-1), in numpy's dtypes:
    warmth (attitude less ``reference``) and its product with ``warmth_effect`` in float32 (both given as
    float32), the rest in float64, added in numpy's order."""
    init = np.empty(chosen_at.shape[0], dtype=members.dtype)
    prob = np.empty(chosen_at.shape[0])
    n = 0
    for t in range(chosen_at.shape[0]):
        i = members[row(chosen_at[t])]
        if not alive[row(i)]:
            continue
        poor = (not main_english[row(i)]) & (english[row(i)] < POOR_ENGLISH_BELOW)
        warmth = attitude[row(i)] - reference
        x = homophily + language * np.float64(poor) - np.float64(warmth_effect * warmth)
        init[n] = i
        prob[n] = min(max(x, 0.0), 1.0)
        n += 1
    return init[:n].copy(), prob[:n].copy()


@numba.njit(cache=True, nogil=True)
def lapsed_ties(alive, setting, a, b, work, school, WORK, SCHOOL, fade_p, fade_table, fade_lapsed,
                lapsed):  # pragma: no cover - compiled
    """Flag work and school ties whose two ends no longer share the workplace or school; set their fade."""
    for k in range(alive.shape[0]):
        if not alive[k]:
            continue
        s = setting[k]
        if s == WORK:
            sid = work
        elif s == SCHOOL:
            sid = school
        else:
            continue
        x = sid[row(a[k])]
        lap = x < 0 or x != sid[row(b[k])]
        lapsed[k] = lap
        fade_p[k] = fade_lapsed if lap else fade_table[row(s)]


def each_with_probability(n: int, prob: float, rng) -> np.ndarray:
    """Indices of the members (of ``n``) who each, independently with probability ``prob``, start a tie this week:
    the per-resident rule (a Bernoulli trial per member, as ``new_ties_one`` draws it), sampled in O(expected
    count) by geometric gaps between successive chosen members instead of one uniform per member."""
    if n == 0 or prob <= 0:
        return np.empty(0, dtype=np.int64)
    if prob >= 1:
        return np.arange(n)
    size = int(n * prob + 6 * np.sqrt(n * prob) + 16)
    if prob < _INVERSION_BELOW:
        # numpy draws a geometric below a third by inversion, ceil(-exponential / log1p(-p)): the same numbers,
        # with the running sum and the cut at n in one compiled pass (gaps_below) instead of four arrays
        log_q = float(np.log1p(-prob))
        out = np.empty(size, dtype=np.int64)
        k, last = gaps_below(rng.standard_exponential(size), log_q, np.int64(-1), n, out, 0)
        while last < n:  # rare: more successes than the allowance
            out = np.concatenate([out[:k], np.empty(size, dtype=np.int64)])
            k, last = gaps_below(rng.standard_exponential(size), log_q, last, n, out, k)
        return out[:k]
    pos = np.cumsum(rng.geometric(prob, size=size)) - 1
    while pos[-1] < n:  # rare: more successes than the allowance
        pos = np.concatenate([pos, pos[-1] + np.cumsum(rng.geometric(prob, size=size))])
    return pos[pos < n]


# numpy's Generator.geometric draws by inversion below this p, by search at or above it (numpy/random/src/
# distributions/distributions.c, random_geometric)
_INVERSION_BELOW = 0.333333333333333333333333


def new_ties(pop, indices: dict, p, rng, reference: float = 0.0) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """(initiators, partners, setting) for this week's new ties (vectorised); ``reference`` is the week-0 mean
    attitude that warmth is measured from."""
    out = []
    compiled = _compiled_form(pop, p)
    for s, name in enumerate(TIE_SETTINGS):
        idx = indices[s]
        members = idx.members
        if len(members) == 0:
            continue
        at = each_with_probability(len(members), p.form[name], rng)
        sid = getattr(pop, SETTING_ATTR[s])
        if compiled:  # (the usual case: the numbers of the lines below, in one pass)
            init, chance = initiators(members, at, pop.alive, pop.attitude, np.float32(reference), pop.main_english,
                                      pop.english, float(p.homophily.get(name, 0.0)), float(p.homophily_language),
                                      np.float32(p.attitude_homophily))
        else:
            init = members[at]
            init = init[pop.alive[init]]
            warmth = pop.attitude[init] - np.float32(reference)
            poor = poor_english(pop.main_english[init], pop.english[init])
            chance = own_group_probability(p, name, poor, warmth)
        partners = idx.draw(init, sid, pop.group, chance, rng)
        out.append((init, partners, s))
    return out


def _compiled_form(pop, p) -> bool:
    """Whether ``initiators`` gives the numpy lines' numbers: numpy's arithmetic for float32 attitudes and
    English and Python-number homophily parameters (a numpy float would change numpy's dtypes)."""
    scalars = [*p.homophily.values(), p.homophily_language, p.attitude_homophily]
    return (all(type(v) in (float, int) for v in scalars)
            and pop.attitude.dtype == np.float32 and pop.english.dtype == np.float32)


def new_ties_one(i: int, prev, indices: dict, p, rng, reference: float = 0.0) -> list[tuple[int, int, int]]:
    """The same rule for one resident: for each setting they belong to, maybe start a tie."""
    out = []
    poor = bool(poor_english(prev["main_english"][i], prev["english"][i]))
    for s, name in enumerate(TIE_SETTINGS):
        sid = prev[SETTING_ATTR[s]]
        if sid[i] < 0 or rng.random() >= p.form[name]:
            continue
        prob = float(own_group_probability(p, name, poor, prev["attitude"][i] - np.float32(reference)))
        partner = indices[s].draw(np.array([i]), sid, prev["group"], prob, rng)[0]
        if partner >= 0:
            out.append((i, int(partner), s))
    return out


def mark_lapsed(pop, net) -> None:
    """Flag ties whose setting no longer joins the two residents (work and school ties); they fade faster."""
    lapsed_ties(net.alive, net.setting, net.a, net.b, pop.workplace, pop.school, WORK, SCHOOL, net.fade_p,
                net.fade_table, net.fade_lapsed, net.lapsed)


RULE = Rule("ties", __doc__.splitlines()[0], step=new_ties, step_one=new_ties_one, kind="ties", group="ties",
            params=TieParams)
