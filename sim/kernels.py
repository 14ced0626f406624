"""Compiled (numba) passes shared by several parts of the model; a rule's own passes live in its file (or its
sibling, ``processes/employment_kernels.py``), the indicators' in ``indicators.py``.

Here: ``row`` (an index known not to be negative) and ``CHUNKS`` (the contact pass's fixed split, which the
model's week-0 passes follow too); the tie arrays' slots freed and filled (``network.ContactNetwork``: fading,
the departed, new ties of the ties rule and of programmes); the residents of moving households (demography, and
school linking); and the cohort passes of programmes (``interventions/base.py``). Random numbers are drawn outside
(numpy Generator streams, so seeding is unchanged); these functions only read them.
"""

from __future__ import annotations

import numba
import numpy as np

CHUNKS = 2  # fixed, so results do not depend on how many threads run them


@numba.njit(cache=True, nogil=True, inline="always")
def row(i):  # pragma: no cover - compiled
    """An index known not to be negative (a resident row or a tie slot), as an unsigned integer: numba then skips
    the check for negative indices (counted from the end) that it makes on every signed one. In the scattered
    loops below that check cost a third of the contact pass (57 against 35 ms for all of Bradford's slots,
    measured in one process), with the same numbers."""
    return np.uint32(i)


@numba.njit(cache=True, nogil=True)
def _free_one(s, alive, fade_p, meet_thr, free, k):  # pragma: no cover - compiled
    """Slot ``s`` stops fading and meeting and goes on top of the stack of free slots (at ``free[k]``)."""
    alive[s] = False
    fade_p[s] = -1.0
    meet_thr[s] = 2.0
    free[k] = s


@numba.njit(cache=True, nogil=True)
def free_slots(mask, alive, fade_p, meet_thr, free, n_free):  # pragma: no cover - compiled
    """Free the live slots in ``mask`` in slot order, onto the stack of free slots (``free[:n_free]``, top at the
    end). Returns (new n_free, slots freed). A week's fade mask is mostly False: it is read eight slots at a time
    (as one 64-bit word) and only the words with a slot set are looked into (17 against 41 us for Bradford 0.05's
    129k slots)."""
    k = n_free
    n = alive.shape[0]
    whole = n - n % 8
    words = mask[:whole].view(np.uint64)
    for w in range(words.shape[0]):
        if words[w] != 0:
            for s in range(8 * w, 8 * w + 8):
                if mask[s] and alive[s]:
                    _free_one(s, alive, fade_p, meet_thr, free, k)
                    k += 1
    for s in range(whole, n):
        if mask[s] and alive[s]:
            _free_one(s, alive, fade_p, meet_thr, free, k)
            k += 1
    return k, k - n_free


@numba.njit(cache=True, nogil=True)
def free_touching(gone, a, b, alive, fade_p, meet_thr, free, n_free):  # pragma: no cover - compiled
    """As :func:`free_slots`, for the live slots with an end in ``gone`` (residents who died or left)."""
    k = n_free
    for s in range(alive.shape[0]):
        if alive[s] and (gone[row(a[s])] or gone[row(b[s])]):
            _free_one(s, alive, fade_p, meet_thr, free, k)
            k += 1
    return k, k - n_free


@numba.njit(cache=True, nogil=True)
def in_households(alive, household, moving):  # pragma: no cover - compiled
    """Rows (in order) of live residents of a private household that is moving out."""
    out = np.empty(alive.shape[0], dtype=np.int64)
    n = 0
    for i in range(alive.shape[0]):  # branch-free, as could_give_birth
        h = household[i]
        out[n] = i
        n += alive[i] & (h >= 0) & moving[row(max(h, 0))]
    return out[:n].copy()


@numba.njit(cache=True, nogil=True)
def courses_this_week(active, began, week, duration, completed):  # pragma: no cover - compiled
    """A programme's week for its records: those active whose course has run ``duration`` weeks by ``week``
    complete (no longer active); returns (the records still active, in order; whether any was active)."""
    out = np.empty(active.shape[0], dtype=np.int64)
    n = 0
    anyone = False
    for k in range(active.shape[0]):
        if active[k]:
            anyone = True
            if week - began[k] >= duration:
                active[k] = False
                completed[k] = True
            else:
                out[n] = k
                n += 1
    return out[:n].copy(), anyone


@numba.njit(cache=True, nogil=True)
def staying(records, u, dropout, active, dropped):  # pragma: no cover - compiled
    """Of ``records`` (each with its uniform ``u``), those under ``dropout`` drop out (no longer active);
    returns the rest, in order."""
    out = np.empty(records.shape[0], dtype=np.int64)
    n = 0
    for t in range(records.shape[0]):
        k = row(records[t])
        if u[t] < dropout:
            active[k] = False
            dropped[k] = True
        else:
            out[n] = k
            n += 1
    return out[:n].copy()


@numba.njit(cache=True, nogil=True)
def runs_of(sorted_values):  # pragma: no cover - compiled
    """For each position of a sorted array, where its run of equal values starts and how long the run is
    (``np.searchsorted`` left, and right minus left, of each value in the array)."""
    n = sorted_values.shape[0]
    start = np.empty(n, dtype=np.int64)
    size = np.empty(n, dtype=np.int64)
    i = 0
    while i < n:
        j = i + 1
        while j < n and sorted_values[j] == sorted_values[i]:
            j += 1
        for k in range(i, j):
            start[k] = i
            size[k] = j - i
        i = j
    return start, size


@numba.njit(cache=True, nogil=True)
def chosen(u, rate, size):  # pragma: no cover - compiled
    """Positions whose uniform is below ``rate`` and whose run has someone else in it, in order."""
    out = np.empty(u.shape[0], dtype=np.int64)
    n = 0
    for t in range(u.shape[0]):
        out[n] = t
        n += (u[t] < rate) & (size[t] > 1)
    return out[:n].copy()


@numba.njit(cache=True, nogil=True)
def other_in_run(who, start, size, u, members):  # pragma: no cover - compiled
    """(members at ``who``, for each a uniformly drawn other member of its run) as int32 rows: position
    start + floor(u * (size - 1)), moved on by one at or after oneself."""
    a = np.empty(who.shape[0], dtype=np.int32)
    b = np.empty(who.shape[0], dtype=np.int32)
    for t in range(who.shape[0]):
        w = row(who[t])
        other = start[w] + np.int64(u[t] * np.float64(size[w] - 1))
        other += other >= w
        a[t] = members[w]
        b[t] = members[row(other)]
    return a, b


@numba.njit(cache=True, nogil=True)
def kept_pairs(a, b):  # pragma: no cover - compiled
    """How many pairs a[t]-b[t] :func:`add_ties` keeps (a partner, and not oneself)."""
    k = 0
    for t in range(a.shape[0]):
        k += (b[t] >= 0) & (a[t] != b[t])
    return k


@numba.njit(cache=True, nogil=True)
def add_ties(a, b, setting, group, meet_thr_new, fade_table, meet_table, t_a, t_b, t_setting, t_bridging,
             t_lapsed, t_alive, t_fade_p, t_meet_thr, free, n_free):  # pragma: no cover - compiled
    """Ties a[t]-b[t] in setting[t] into free slots, taken from the top of the stack ``free[:n_free]`` (the k-th
    kept tie into ``free[n_free - K + k]``, K the number kept); pairs with a missing partner (-1) or a resident
    with themself are dropped. ``meet_thr_new`` < 0: each tie meets at its setting's usual chance. Returns the new
    n_free (the caller has made room)."""
    k = 0
    for t in range(a.shape[0]):
        k += (b[t] >= 0) & (a[t] != b[t])
    base = n_free - k
    j = 0
    for t in range(a.shape[0]):
        i, p = a[t], b[t]
        if p < 0 or i == p:
            continue
        slot = row(free[base + j])
        j += 1
        s = setting[t]
        t_a[slot] = i
        t_b[slot] = p
        t_setting[slot] = s
        t_bridging[slot] = group[row(i)] != group[row(p)]
        t_lapsed[slot] = False
        t_alive[slot] = True
        t_fade_p[slot] = fade_table[row(s)]
        t_meet_thr[slot] = meet_table[row(s)] if meet_thr_new < 0 else meet_thr_new
    return base

