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


@numba.njit(cache=True, nogil=True, inline="always")
def row(i):  # pragma: no cover - compiled
    """An index known not to be negative (a resident row or a tie slot), as an unsigned integer: numba then skips
    the check for negative indices (counted from the end) that it makes on every signed one. In the scattered
    loops below that check cost a third of the contact pass (57 against 35 ms for all of Bradford's slots,
    measured in one process), with the same numbers."""
    return np.uint32(i)


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
    # (bitwise, not `and`/`or`: numba compiles those to branches, which the contact pass mispredicts; the same
    # truth value)
    return (listener != MAIN_ENGLISH) & ((speaker == MAIN_ENGLISH) | ((speaker == FLUENT) & bridging))


@numba.njit(cache=True, nogil=True)
def meet_range(lo, hi, u, fade_p, meet_thr, a, b, setting, bridging, quality, code, keep, fade, contacts,
               bridging_q, english, idx):  # pragma: no cover - compiled
    """Slots lo..hi-1 in two passes: first which ties fade and which meet (branch-free, in slot order: the
    outcome of a tie is a coin flip, which a branch would mispredict half the time), listing the met slots in
    ``idx[lo:]``; then, for the met ties only, the contacts at both ends, also branch-free (adding 0 where a
    contact is not bridging or not in English leaves a sum as it was, so the numbers are those of the
    branching form; without mispredicted branches the scattered reads of the two ends overlap). ``keep`` None:
    nobody was on a programme this week (every tie at its usual chance)."""
    m = lo
    one = np.float32(1.0)
    for k in range(lo, hi):
        kp = one if keep is None else keep[row(a[k])] * keep[row(b[k])]
        fades, meets = tie_week(u[k], fade_p[k], meet_thr[k], kp)
        fade[k] = fades
        idx[m] = k
        m += meets
    for t in range(lo, m):
        k = row(idx[t])
        i = row(a[k])
        j = row(b[k])
        contacts[i] += 1
        contacts[j] += 1
        br = bridging[k]
        q = quality[row(setting[k])] * np.float32(br)  # (times 1 or 0, exactly; a branch here was mispredicted)
        bridging_q[i] += q
        bridging_q[j] += q
        ci = code[i]
        cj = code[j]
        english[i] += np.float32(speaks_english_to(ci, cj, br))
        english[j] += np.float32(speaks_english_to(cj, ci, br))


@numba.njit(cache=True, nogil=True)
def meet_chunk(c, u, fade_p, meet_thr, a, b, setting, bridging, quality, code, keep, fade, part_contacts,
               part_bridging, part_english, idx):  # pragma: no cover - compiled
    """Chunk ``c`` of CHUNKS fixed ranges of slots, into its own partial sums (row ``c`` of each ``part_``
    array, chunks x residents, zeroed here). A large network's pass is its chunks, each on whichever thread is
    free (``contact.Pass``), then :func:`add_chunks`: the same numbers whoever ran each chunk. Each sum is its own
    contiguous array (row ``c`` of a C-ordered array): sums kept side by side in one array (residents x 4) are
    read through strided views, which numba compiles to slower scattered access (24-30 ms a chunk for all of
    Bradford against 14-19 ms, measured in one process)."""
    m = u.shape[0]
    contacts, bridging_q, english = part_contacts[c], part_bridging[c], part_english[c]
    contacts[:] = 0
    bridging_q[:] = 0.0
    english[:] = 0.0
    meet_range(m * c // CHUNKS, m * (c + 1) // CHUNKS, u, fade_p, meet_thr, a, b, setting, bridging, quality, code,
               keep, fade, contacts, bridging_q, english, idx)


@numba.njit(cache=True, nogil=True)
def add_chunks(contacts, bridging_q, english, part_contacts, part_bridging, part_english):  # pragma: no cover
    """The chunks' partial sums added to the outputs in chunk order (the fixed order that makes the result the
    same whoever computed each chunk)."""
    for c in range(CHUNKS):
        for i in range(contacts.shape[0]):
            contacts[i] += part_contacts[c, i]
            bridging_q[i] += part_bridging[c, i]
            english[i] += part_english[c, i]


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


# the sums resident_counts returns, by position (compiled code indexes them with these constants)
(ALIVE, AGED_3, POOR_3, AGED_16_64, EMPLOYED_16_64, POOR_16_64, EMPLOYED_POOR_16_64, ADULTS_18, ISOLATED_18, AGED_16,
 ATTITUDE_SUM_16, OTHER_LANGUAGE_3, ENGLISH_SUM_OTHER_3) = range(13)


@numba.njit(cache=True, nogil=True)
def resident_counts(alive, age, main_english, english, status, contacts, attitude, group, neighbourhood, n_neigh,
                    employed_code, school, n_schools):  # pragma: no cover - compiled
    """One pass over residents for the indicators: returns (sums, largest group per neighbourhood, others per
    neighbourhood, pupils of the largest group per school, other pupils per school). sums: alive, aged 3+, poor
    English 3+, 16-64, employed 16-64, 16-64 poor English, employed 16-64 poor English, adults 18+, isolated
    adults, aged 16+, attitude sum 16+, other main language 3+, English sum of those. The counts are kept in local
    integers and the two float sums in local float64 accumulators, added in row order."""
    # branch-free (ages, groups and schools follow no order a branch could predict): a count adds a condition, a
    # float sum adds its (finite) value times 0 or 1, so 0.0 where the condition fails, which leaves it as it was
    # (the numbers of the branching form; a conditional expression compiled to a mispredicted branch, 0.20 against
    # 0.16 ms for Bradford 0.05's 29k rows);
    # residents of the largest group (row 0) and the rest (row 1) per neighbourhood and per school (column
    # n_schools: no school)
    by_n = np.zeros((2, n_neigh))
    by_s = np.zeros((2, n_schools + 1))
    n_alive = n3 = poor3 = n1664 = emp1664 = poor1664 = emppoor1664 = n18 = iso18 = n16 = other3 = 0
    att16 = 0.0
    eng_other3 = 0.0
    for i in range(alive.shape[0]):
        if not alive[i]:
            continue
        x = age[i]
        me = main_english[i]
        poor = (not me) & (english[i] < POOR_ENGLISH_BELOW)  # population.poor_english, compiled
        n_alive += 1
        g = np.int64(group[i] != 0)
        by_n[g, row(neighbourhood[i])] += 1
        sc = np.int64(school[i])
        by_s[g, row(sc if (sc >= 0) & (sc < n_schools) else n_schools)] += 1
        a3 = x >= 3
        o3 = a3 & (not me)
        n3 += a3
        poor3 += a3 & poor
        other3 += o3
        eng_other3 += np.float64(english[i]) * np.float64(o3)
        w = (x >= 16) & (x < 65)
        emp = status[i] == employed_code
        n1664 += w
        emp1664 += w & emp
        poor1664 += w & poor
        emppoor1664 += w & poor & emp
        a16 = x >= 16
        n16 += a16
        att16 += np.float64(attitude[i]) * np.float64(a16)
        a18 = x >= 18
        n18 += a18
        iso18 += a18 & (contacts[i] == 0)
    a_n, b_n = by_n[0].copy(), by_n[1].copy()
    a_s, b_s = by_s[0, :n_schools].copy(), by_s[1, :n_schools].copy()
    # in the order of the constants ALIVE .. ENGLISH_SUM_OTHER_3
    s = np.array([float(n_alive), float(n3), float(poor3), float(n1664), float(emp1664), float(poor1664),
                  float(emppoor1664), float(n18), float(iso18), float(n16), att16, float(other3), eng_other3])
    return s, a_n, b_n, a_s, b_s


@numba.njit(cache=True, nogil=True)
def tie_counts(alive, bridging, meet_thr, rarest):  # pragma: no cover - compiled
    """(ties, bridging ties) among live ties that meet at least as often as ``rarest`` (a weekly chance of
    meeting; a tie meets when its uniform is at least meet_thr, so its chance is 1 - meet_thr). Branch-free."""
    n = 0
    nb = 0
    for k in range(alive.shape[0]):
        c = alive[k] & (1.0 - meet_thr[k] >= rarest)
        n += c
        nb += c & bridging[k]
    return n, nb


@numba.njit(cache=True, nogil=True)
def employment_rows(alive, status, age, u0, u2, is_pool, employed, child, student, retired, separation, max_finding,
                    max_leaving, retirement_age, age_step, band_of_year, out):  # pragma: no cover - compiled
    """The rows each branch of the employment rule looks at this week, in row order, from one pass (integer and
    comparison work only; the rates themselves are computed by numpy on these rows, as before):
    (jobs lost: employed with u0 < separation; may find a job: in the pool with u0 below the cap on the finding
    rate (a rate is never above it); students who may leave education: u2 below the highest leaving rate; children
    turning 16; residents (not children) whose age band changes this week; residents at or over retirement age
    and not retired already). ``separation``, ``retirement_age`` and ``age_step`` are float32, as numpy compares
    float32 columns with Python floats; ``max_finding`` and ``max_leaving`` float64, as the rates they bound.
    ``out``: scratch of shape (6, rows); returns the six counts (the lists are ``out[k, :counts[k]]``)."""
    # the candidates for a job (about a fifth of the pool, in no order a branch could predict) are kept
    # branch-free, as in could_give_birth; the other lists are rare, so one well-predicted branch guards them
    # (a mispredicted branch per row or two made this pass 0.12 ms a week at Walsall 0.05, 0.09 ms without)
    n0 = n1 = n2 = n3 = n4 = n5 = 0
    for i in range(alive.shape[0]):
        live = alive[i]
        s = status[i]
        x = age[i]
        emp = s == employed
        pool = is_pool[row(s)] & (not emp)
        out[1, row(n1)] = i
        n1 += live & pool & (np.float64(u0[i]) < max_finding)
        kid = s == child
        year = np.int64(x)  # whole years, as employment.crosses_band takes them
        next_year = np.int64(x + age_step)
        lose = emp & (u0[i] < separation)
        leave = pool & (s == student) & (np.float64(u2[i]) < max_leaving)
        sixteen = kid & (x >= 16)
        cross = (not kid) & (next_year != year) & (band_of_year[row(min(max(next_year, 0), 130))]
                                                   != band_of_year[row(min(max(year, 0), 130))])
        old = (x >= retirement_age) & (s != retired)
        if live & (lose | leave | sixteen | cross | old):
            if lose:
                out[0, row(n0)] = i
                n0 += 1
            if leave:
                out[2, row(n2)] = i
                n2 += 1
            if sixteen:
                out[3, row(n3)] = i
                n3 += 1
            if cross:
                out[4, row(n4)] = i
                n4 += 1
            if old:
                out[5, row(n5)] = i
                n5 += 1
    return np.array([n0, n1, n2, n3, n4, n5])


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
def dying(alive, age, u, weekly_q):  # pragma: no cover - compiled
    """Rows (in order) of the live residents whose uniform (one per live resident, in row order) falls under the
    weekly death chance at their whole year of age (capped at 130)."""
    out = np.empty(u.shape[0], dtype=np.int64)
    k = 0
    n = 0
    cap = np.float32(130.0)
    for i in range(alive.shape[0]):
        if alive[i]:
            out[n] = i
            n += u[k] < weekly_q[row(min(age[i], cap))]
            k += 1
    return out[:n].copy()


@numba.njit(cache=True, nogil=True)
def could_give_birth(alive, female, age, household, communal):  # pragma: no cover - compiled
    """Rows (in order) of live women aged 15-44 in private households."""
    out = np.empty(alive.shape[0], dtype=np.int64)
    n = 0
    for i in range(alive.shape[0]):  # branch-free: every row is written, and kept if it qualifies
        x = age[i]
        out[n] = i
        n += alive[i] & female[i] & (x >= 15) & (x < 45) & (not communal[row(max(household[i], 0))])
    return out[:n].copy()


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
def learners(alive, main_english, english):  # pragma: no cover - compiled
    """Rows (in order) of live residents still learning English (``language.learning``: another main language
    and below 4)."""
    out = np.empty(alive.shape[0], dtype=np.int64)
    n = 0
    four = np.float32(4.0)
    for i in range(alive.shape[0]):  # branch-free, as could_give_birth
        out[n] = i
        n += alive[i] & (not main_english[i]) & (english[i] < four)
    return out[:n].copy()


@numba.njit(cache=True, nogil=True)
def attitude_step(alive, attitude, attitude_set, lift, drive, effect, adjust):  # pragma: no cover - compiled
    """``attitude.adjust`` for every live resident (others keep theirs), in float32 as numpy computes it:
    target = clip(set + lift + effect * drive, 0, 1); attitude + adjust * (target - attitude). ``drive`` (the
    logarithm) comes from numpy; ``effect`` and ``adjust`` are float32, as numpy takes Python floats with float32
    arrays."""
    out = attitude.copy()
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for i in range(alive.shape[0]):
        if alive[i]:
            t = attitude_set[i] + lift[i] + effect * drive[i]
            t = min(max(t, zero), one)
            a = attitude[i]
            out[i] = a + adjust * (t - a)
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def band_of(age, band_of_year):  # pragma: no cover - compiled
    """``population.age_band`` of one float32 age: its whole years (capped at 130) looked up."""
    return row(band_of_year[row(np.int32(min(age, np.float32(130.0))))])


@numba.njit(cache=True, nogil=True, inline="always")
def pool_one(u, age, cum, tot, band_of_year, pool):  # pragma: no cover - compiled
    """One resident's :func:`pool_status`."""
    b = band_of(age, band_of_year)
    x = np.float64(u) * tot[b]
    k = 0
    for j in range(cum.shape[1]):
        k += cum[b, j] < x
    return pool[min(k, pool.shape[0] - 1)]


@numba.njit(cache=True, nogil=True)
def pool_status(u, age, cum, tot, band_of_year, pool):  # pragma: no cover - compiled
    """``employment._pool_status`` in one pass: for each resident, the first POOL status whose cumulative weight
    in their age band's row of ``cum`` is not below u * the row's total ``tot`` (float64, as numpy compares it)."""
    out = np.empty(u.shape[0], dtype=np.int8)
    for i in range(u.shape[0]):
        out[i] = pool_one(u[i], age[i], cum, tot, band_of_year, pool)
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def language_terms_one(main_english, english, female, poor, good, female_poor):  # pragma: no cover - compiled
    """``population.language_terms`` of one resident, in float32 as numpy computes it for float32 columns and
    Python-float parameters (``poor``, ``good``, ``female_poor``: those parameters as float32)."""
    zero, one = np.float32(0.0), np.float32(1.0)
    e = min(max(english, zero), np.float32(4.0))
    w = min(max((e - one) / np.float32(2.5), zero), one)
    general = zero if main_english else (one - w) * poor + w * good
    women = zero if main_english else (one - w) * female_poor * np.float32(female)
    return general, women


@numba.njit(cache=True, nogil=True)
def employment_exponents(rows, counts, age, age_step, female, main_english, english, english_entry, trait,
                         employment_age, shift, band_of_year, female_gap, poor, good, female_poor, effect,
                         effect_women):  # pragma: no cover - compiled
    """``-(logit + band shift)`` (``employment.logit``, ``employment.probability``: the argument of its exp) for
    the rows the employment rule needs a chance of work for, in the order it takes them: those who may find a
    job (``rows[1]``), children turning 16 (``rows[3]``), those crossing an age band (``rows[4]``) at their
    age, and the same a week older. Float32 where numpy computes in float32 (the language terms and their
    scaled differences: ``poor``, ``good``, ``female_poor``, ``effect`` and ``effect_women`` are float32),
    float64 where it computes in float64 (``female_gap`` and the tables), adding in numpy's order."""
    n_cand, n_turn, n_cross = counts[1], counts[3], counts[4]
    out = np.empty(n_cand + n_turn + 2 * n_cross)
    k = 0
    for block in range(4):
        which = 1 if block == 0 else (3 if block == 1 else 4)
        for t in range(counts[which]):
            i = row(rows[which, t])
            x = age[i] + age_step if block == 3 else age[i]
            b = band_of(x, band_of_year)
            g0, w0 = language_terms_one(main_english[i], english_entry[i], female[i], poor, good, female_poor)
            g, w = language_terms_one(main_english[i], english[i], female[i], poor, good, female_poor)
            eta = (employment_age[b] + female_gap * np.float64(female[i]) + np.float64(g0) + np.float64(w0)
                   + np.float64(trait[i]))
            eta = eta + np.float64(effect * (g - g0)) + np.float64(effect_women * (w - w0))
            out[k] = -(eta + shift[b])
            k += 1
    return out


@numba.njit(cache=True, nogil=True)
def employment_decide(new, rows, counts, e, u0, u1, u2, age, job_boost, separation, max_finding, leave_rates,
                      cum, tot, cum_working, tot_working, band_of_year, pool, is_pool, employed, student,
                      retired):  # pragma: no cover - compiled
    """The employment rule's branches (``employment.step``), in its order, on the rows ``employment_rows``
    listed, with ``e`` the exp of :func:`employment_exponents` (a chance of work is 1 / (1 + e)): jobs lost
    (a non-working status from ``cum``/``tot``), jobs found (the finding rate, capped), students leaving
    education (a status from ``cum_working``/``tot_working``, which leave out studying), children turning 16,
    the coupled redraw at a new age band, and retirement. Each row's outcome reads only its own row, so a row at
    a time gives the numbers of numpy's one branch at a time; float64 as numpy computes them."""
    n_lose, n_cand, n_stud, n_turn, n_cross, n_old = counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]
    for t in range(n_lose):
        i = row(rows[0, t])
        new[i] = pool_one(u1[i], age[i], cum, tot, band_of_year, pool)
    for t in range(n_cand):
        i = row(rows[1, t])
        pi = 1.0 / (1.0 + e[t])
        rate = min(separation * pi / max(1.0 - pi, 1e-6) * np.float64(job_boost[i]), max_finding)
        if np.float64(u0[i]) < rate:
            new[i] = employed
    for t in range(n_stud):
        i = row(rows[2, t])
        x = age[i]
        rate = leave_rates[0] if x < 18 else (leave_rates[1] if x < 19 else (leave_rates[2] if x < 22
                                                                              else leave_rates[3]))
        if new[i] == student and np.float64(u2[i]) < rate:
            new[i] = pool_one(u1[i], x, cum_working, tot_working, band_of_year, pool)
    for t in range(n_turn):
        i = row(rows[3, t])
        pi16 = 1.0 / (1.0 + e[n_cand + t])
        new[i] = employed if np.float64(u0[i]) < pi16 else student
    base = n_cand + n_turn
    for t in range(n_cross):
        i = row(rows[4, t])
        pi0 = 1.0 / (1.0 + e[base + t])
        pi1 = 1.0 / (1.0 + e[base + n_cross + t])
        s = new[i]
        u = np.float64(u2[i])
        if s == employed:
            if pi1 < pi0 and u < 1 - pi1 / max(pi0, 1e-9):
                new[i] = pool_one(u1[i], age[i], cum, tot, band_of_year, pool)
        elif is_pool[row(s)] and pi1 > pi0 and u < (pi1 - pi0) / max(1 - pi0, 1e-9):
            new[i] = employed
    for t in range(n_old):
        i = row(rows[5, t])
        if is_pool[row(new[i])]:
            new[i] = retired
    return new


@numba.njit(cache=True, nogil=True)
def join_teams(rows, u, pick, group, main_english, english, start_s, len_s, members, alive,
               workplace):  # pragma: no cover - compiled
    """``employment.WorkTeams.join`` after its draws: each joiner (``rows``) takes the workplace of the member at
    ``u`` of the index's members with their key (group and poor English, ``WorkTeams._key``; the index's
    ``start_s``/``len_s``), or, with none such alive, of the member at ``pick``, or that member's own workplace if
    the first has none. Every workplace is read before any is written, as numpy's fancy indexing does."""
    n_key = len_s.shape[0]
    last = members.shape[0] - 1
    out = np.empty(rows.shape[0], dtype=workplace.dtype)
    for t in range(rows.shape[0]):
        i = row(rows[t])
        key = np.int64(group[i]) * 2 + np.int64((not main_english[i]) & (english[i] < POOR_ENGLISH_BELOW))
        ref = -1
        if key >= 0 and key < n_key and len_s[row(key)] > 0:
            start, length = start_s[row(key)], len_s[row(key)]
            r = members[row(min(start + min(np.int64(u[t] * length), max(length - 1, 0)), last))]
            if alive[row(r)]:
                ref = r
        anyone = members[row(pick[t])]
        if ref < 0:
            ref = anyone
        team = workplace[row(ref)]
        out[t] = team if team >= 0 else workplace[row(anyone)]
    for t in range(rows.shape[0]):
        workplace[row(rows[t])] = out[t]


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
def distress_after(alive, refugee, distress, u, recovery_chance, stay, onset):  # pragma: no cover - compiled
    """``mental_health.next_distress`` for the live refugees (everyone else keeps theirs), in float32 as numpy
    computes it for float32 draws and chances and Python-number rates (``stay``, 1 less the weekly remission, and
    ``onset``, given as float32): a distressed refugee recovers when u >= 1 - stay * (1 - recovery chance); a well
    one becomes distressed when u < onset."""
    out = distress.copy()
    one = np.float32(1.0)
    for i in range(alive.shape[0]):
        if alive[i] & refugee[i]:
            if distress[i]:
                out[i] = u[i] >= one - stay * (one - recovery_chance[i])
            else:
                out[i] = u[i] < onset
    return out


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
def time_left(programme_contacts, displacement, time_budget):  # pragma: no cover - compiled
    """``contact.keep_after_programmes`` in float32 as numpy computes it (``displacement`` and ``time_budget``
    given as float32): 1 - displacement * contacts / budget, clipped to 0-1."""
    out = np.empty(programme_contacts.shape[0], dtype=np.float32)
    zero, one = np.float32(0.0), np.float32(1.0)
    for i in range(programme_contacts.shape[0]):
        used = displacement * np.float32(programme_contacts[i]) / time_budget
        out[i] = min(max(one - used, zero), one)
    return out


@numba.njit(cache=True, nogil=True)
def set_status(status, new, alive, workplace, employed, no_setting):  # pragma: no cover - compiled
    """The week's statuses into ``status``: live residents who stop work leave their workplace; returns the live
    residents who start work (in row order), who are to join a work team."""
    out = np.empty(status.shape[0], dtype=np.int64)
    n = 0
    for i in range(status.shape[0]):
        old, now = status[i], new[i]
        status[i] = now
        if old != now and alive[i]:
            if now == employed:
                out[n] = i
                n += 1
            elif old == employed:
                workplace[i] = no_setting
    return out[:n].copy()


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


@numba.njit(cache=True, nogil=True)
def speaker_codes(main_english, english, fluent_from):  # pragma: no cover - compiled
    """``contact.code_of`` for every row: MAIN_ENGLISH, else FLUENT at ``fluent_from`` (float32) or above, else
    LEARNER."""
    out = np.empty(main_english.shape[0], dtype=np.int8)
    for i in range(main_english.shape[0]):
        out[i] = MAIN_ENGLISH if main_english[i] else (FLUENT if english[i] >= fluent_from else LEARNER)
    return out


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
