"""The employment rule's compiled passes (``employment.step`` takes them when they give its numpy form's numbers:
``employment._compiled_form``; ``tests/test_week_kernels.py`` compares both forms): which rows each branch looks
at, the exponents of their chances of work, the branches themselves, and applying the week's statuses and joining
work teams. Kept beside ``employment.py`` (its sibling), as the rule's own.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.kernels import row
from sim.population import POOR_ENGLISH_BELOW


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

