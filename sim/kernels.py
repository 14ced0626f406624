"""Compiled (numba) passes over the tie arrays: the two hottest loops of the weekly step, fused.

Each is a plain loop over tie slots that numpy would need several passes and temporaries for. Random numbers are
drawn outside (numpy Generator streams, so seeding is unchanged); these functions only read them.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.population import POOR_ENGLISH_BELOW

LEARNER, FLUENT, MAIN_ENGLISH = 0, 1, 2


CHUNKS = 2  # fixed, so results do not depend on how many threads run them


@numba.njit(cache=True, nogil=True)
def tie_week(u, fade_p, meet_thr, keep):  # pragma: no cover - compiled
    """(fades, meets) for one tie from its one uniform ``u``: it fades if u < fade_p, the pair meet if
    u >= meet_thr (disjoint when fade + meet <= 1). ``keep`` < 1 scales the chance of meeting, 1 - meet_thr, down
    (time the pair spend on programmes this week). The rule, for the compiled pass and the per-agent engine."""
    if u < fade_p:
        return True, False
    if keep >= 1.0:
        return False, u >= meet_thr
    return False, u >= 1.0 - (1.0 - meet_thr) * keep


@numba.njit(cache=True, nogil=True)
def speaks_english_to(listener, speaker, bridging):  # pragma: no cover - compiled
    """Whether a contact is in English for the ``listener`` (speaker codes): the listener's main language is not
    English and the speaker's is, or the speaker is fluent and from another group (so they share no other
    language, most likely). The rule, for the compiled pass and the per-agent engine."""
    return listener != MAIN_ENGLISH and (speaker == MAIN_ENGLISH or (speaker == FLUENT and bridging))


@numba.njit(cache=True, nogil=True)
def meet_range(lo, hi, u, fade_p, meet_thr, a, b, setting, bridging, quality, code, keep, fade, contacts,
               bridging_q, english, idx):  # pragma: no cover - compiled
    """Slots lo..hi-1 in two passes: first which ties fade and which meet (branch-free, in slot order: the
    outcome of a tie is a coin flip, which a branch would mispredict half the time), listing the met slots in
    ``idx[lo:]``; then, for the met ties only, the contacts at both ends. ``keep`` None: nobody was on a
    programme this week (every tie at its usual chance)."""
    m = lo
    one = np.float32(1.0)
    for k in range(lo, hi):
        kp = one if keep is None else keep[a[k]] * keep[b[k]]
        fades, meets = tie_week(u[k], fade_p[k], meet_thr[k], kp)
        fade[k] = fades
        idx[m] = k
        m += meets
    for t in range(lo, m):
        k = idx[t]
        i = a[k]
        j = b[k]
        contacts[i] += 1
        contacts[j] += 1
        br = bridging[k]
        if br:
            q = quality[setting[k]]
            bridging_q[i] += q
            bridging_q[j] += q
        ci = code[i]
        cj = code[j]
        if speaks_english_to(ci, cj, br):
            english[i] += 1.0
        if speaks_english_to(cj, ci, br):
            english[j] += 1.0


@numba.njit(cache=True, parallel=True)
def meet_and_expose(u, fade_p, meet_thr, a, b, setting, bridging, quality, code, keep, fade, contacts, bridging_q,
                    english, idx):  # pragma: no cover - compiled
    """For every tie slot: fade if u < fade_p; meet if u >= meet_thr. For met ties add, at both ends, one contact,
    the setting's quality if bridging, and an English contact for a resident whose main language is not English
    when the partner speaks English to them (main language English, or fluent and from another group).

    The slots are split into CHUNKS fixed ranges, each accumulating into its own arrays (in parallel where cores
    allow), then summed in a fixed order: the same numbers whatever the thread count. ``idx``: scratch, one
    entry per slot."""
    n = contacts.shape[0]
    m = u.shape[0]
    c_part = np.zeros((CHUNKS, n), dtype=np.int32)
    q_part = np.zeros((CHUNKS, n), dtype=np.float32)
    e_part = np.zeros((CHUNKS, n), dtype=np.float32)
    for c in numba.prange(CHUNKS):
        lo = m * c // CHUNKS
        hi = m * (c + 1) // CHUNKS
        meet_range(lo, hi, u, fade_p, meet_thr, a, b, setting, bridging, quality, code, keep, fade, c_part[c],
                   q_part[c], e_part[c], idx)
    for c in range(CHUNKS):
        for i in range(n):
            contacts[i] += c_part[c, i]
            bridging_q[i] += q_part[c, i]
            english[i] += e_part[c, i]


@numba.njit(cache=True, nogil=True)
def touching(alive, a, b, gone):  # pragma: no cover - compiled
    """Mask of live tie slots with an end in ``gone``."""
    out = np.zeros(alive.shape[0], dtype=np.bool_)
    for k in range(alive.shape[0]):
        if alive[k] and (gone[a[k]] or gone[b[k]]):
            out[k] = True
    return out


@numba.njit(cache=True, nogil=True)
def counting_order(key, n_keys):  # pragma: no cover - compiled
    """Stable order that sorts non-negative integer ``key`` (< n_keys): a counting sort, O(n + n_keys)."""
    start = np.zeros(n_keys + 1, dtype=np.int64)
    for k in key:
        start[k + 1] += 1
    for i in range(n_keys):
        start[i + 1] += start[i]
    out = np.empty(key.shape[0], dtype=np.int64)
    for i in range(key.shape[0]):
        k = key[i]
        out[start[k]] = i
        start[k] += 1
    return out


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
        x = sid[a[k]]
        lap = x < 0 or x != sid[b[k]]
        lapsed[k] = lap
        fade_p[k] = fade_lapsed if lap else fade_table[s]


# the sums resident_counts returns, by position (compiled code indexes them with these constants)
(ALIVE, AGED_3, POOR_3, AGED_16_64, EMPLOYED_16_64, POOR_16_64, EMPLOYED_POOR_16_64, ADULTS_18, ISOLATED_18, AGED_16,
 ATTITUDE_SUM_16, OTHER_LANGUAGE_3, ENGLISH_SUM_OTHER_3) = range(13)
N_SUMS = 13


@numba.njit(cache=True, nogil=True)
def resident_counts(alive, age, main_english, english, status, contacts, attitude, group, neighbourhood, n_neigh,
                    employed_code):  # pragma: no cover - compiled
    """One pass over residents for the indicators: returns (sums, largest group per neighbourhood, others per
    neighbourhood). sums: alive, aged 3+, poor English 3+, 16-64, employed 16-64, 16-64 poor English, employed
    16-64 poor English, adults 18+, isolated adults, aged 16+, attitude sum 16+, other main language 3+, English
    sum of those."""
    s = np.zeros(N_SUMS)
    a_n = np.zeros(n_neigh)
    b_n = np.zeros(n_neigh)
    for i in range(alive.shape[0]):
        if not alive[i]:
            continue
        x = age[i]
        poor = (not main_english[i]) and english[i] < POOR_ENGLISH_BELOW  # population.poor_english, compiled
        s[ALIVE] += 1
        if group[i] == 0:
            a_n[neighbourhood[i]] += 1
        else:
            b_n[neighbourhood[i]] += 1
        if x >= 3:
            s[AGED_3] += 1
            if poor:
                s[POOR_3] += 1
            if not main_english[i]:
                s[OTHER_LANGUAGE_3] += 1
                s[ENGLISH_SUM_OTHER_3] += english[i]
        if 16 <= x < 65:
            emp = status[i] == employed_code
            s[AGED_16_64] += 1
            s[EMPLOYED_16_64] += emp
            if poor:
                s[POOR_16_64] += 1
                s[EMPLOYED_POOR_16_64] += emp
        if x >= 16:
            s[AGED_16] += 1
            s[ATTITUDE_SUM_16] += attitude[i]
        if x >= 18:
            s[ADULTS_18] += 1
            s[ISOLATED_18] += contacts[i] == 0
    return s, a_n, b_n


@numba.njit(cache=True, nogil=True)
def tie_counts(alive, bridging, meet_thr, rarest):  # pragma: no cover - compiled
    """(ties, bridging ties) among live ties that meet at least as often as ``rarest`` (a weekly chance of
    meeting; a tie meets when its uniform is at least meet_thr, so its chance is 1 - meet_thr)."""
    n = 0
    nb = 0
    for k in range(alive.shape[0]):
        if alive[k] and 1.0 - meet_thr[k] >= rarest:
            n += 1
            nb += bridging[k]
    return n, nb
