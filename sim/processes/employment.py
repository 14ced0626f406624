"""Work: jobs end at a steady rate and are found at a rate set by each resident's employment propensity.

A resident's propensity is the employment log-odds used to build the population (age, sex, English, ethnic group;
see ``population.employment_logit``). Job finding is ``separation * pi / (1 - pi)`` so that, with unchanged
characteristics, the chance of being in work is stationary at ``pi``: the baseline neither drifts up nor down, and
better English raises ``pi`` and so the job-finding rate (the channel Dustmann & Fabbri 2003 measure). Leaving
school, retiring and the status someone takes on losing a job follow simple age rules: a job loser (or school
leaver) takes a non-working status in proportion to the area's mix at week 0 (so that mix holds steady). When
ageing moves a resident into another age band, their status is redrawn in the coupled way that keeps
P(employed) = pi at the new age (e.g. at 65 some workers stop), so ageing does not make employment lag behind.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from sim.params import param
from sim.population import (AGE_BANDS, CHILD, EMPLOYED, HOME, OTHER, RETIRED, SICK, STUDENT, UNEMPLOYED,
                            employment_logit)  # fmt: skip

# not in work but may take a job: everyone 16+ (students work, as TS066 counts; some over-65s work too)
POOL = (UNEMPLOYED, HOME, SICK, OTHER, STUDENT, RETIRED)


@dataclasses.dataclass
class EmploymentParams:
    separation: float = param(0.0025, "[~] ONS Labour Force Survey flows: about 3% of the employed leave work "
                              "each quarter", low=0, high=0.05, unit="per week")
    max_finding: float = param(0.2, "modelling choice: cap on the weekly job-finding probability", low=0,
                               high=1, unit="per week")
    leave_education: list = param([0.002, 0.008, 0.005, 0.012], "assumption: weekly chance a student leaves "
                                  "education at 16-17, 18, 19-21, 22+", low=0, high=1, unit="per week")
    retirement_age: float = param(66.0, "State Pension age in 2021 (DWP)", low=50, high=80, unit="years")


def band_shift(shift: np.ndarray, age) -> np.ndarray:
    return shift[np.searchsorted(AGE_BANDS, age, side="right")]


def propensity(pop, pop_params, shift: np.ndarray, age=None) -> np.ndarray:
    """Probability pi of being in work at stationarity, per resident (vectorised)."""
    age = pop.age if age is None else age
    eta = employment_logit(age, pop.female, pop.main_english, pop.english, pop.employ_trait, pop_params)
    return 1.0 / (1.0 + np.exp(-(eta + band_shift(shift, age))))


def finding_rate(pi, p: EmploymentParams, boost=1.0):
    return np.minimum(p.separation * pi / np.maximum(1.0 - pi, 1e-6) * boost, p.max_finding)


def calibrate_shift(pop, pop_params, p: EmploymentParams) -> np.ndarray:
    """Per age band, the shift that makes the expected employment of those who can work equal today's count
    (students and the retired are outside the pool, so the pool's own rates differ from the population's): the
    week-0 state is then stationary band by band and the baseline does not drift."""
    pool = pop.alive & (np.isin(pop.status, POOL) | (pop.status == EMPLOYED))
    band = np.searchsorted(AGE_BANDS, pop.age, side="right")
    eta = employment_logit(pop.age, pop.female, pop.main_english, pop.english, pop.employ_trait, pop_params)
    shift = np.zeros(len(AGE_BANDS) + 1)
    for b in range(len(shift)):
        m = pool & (band == b)
        target = float((m & (pop.status == EMPLOYED)).sum())
        if not m.any() or target == 0 or target == m.sum():
            continue
        lo, hi = -15.0, 15.0
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if (1.0 / (1.0 + np.exp(-(eta[m] + mid)))).sum() < target else (lo, mid)
        shift[b] = 0.5 * (lo + hi)
    return shift


def _leave_education_rate(age, p: EmploymentParams):
    le = p.leave_education
    return np.where(age < 18, le[0], np.where(age < 19, le[1], np.where(age < 22, le[2], le[3])))


def inactive_mix(pop) -> np.ndarray:
    """Week-0 counts of each POOL status by age band (rows): a job loser's next status is drawn from their band's
    row, so the make-up of those not in work holds steady."""
    band = np.searchsorted(AGE_BANDS, pop.age, side="right")
    mix = np.zeros((len(AGE_BANDS) + 1, len(POOL)))
    for j, s in enumerate(POOL):
        mix[:, j] = np.bincount(band[pop.alive & (pop.status == s)], minlength=len(AGE_BANDS) + 1)
    mix[mix.sum(axis=1) == 0, 0] = 1.0
    return mix


def _pool_status(u, age, mix, students=True):
    """A non-working status drawn from the week-0 mix of the resident's age band with a uniform ``u``."""
    rows = mix[np.searchsorted(AGE_BANDS, age, side="right")]
    if not students:
        rows = rows * (np.asarray(POOL) != STUDENT)
    cum = np.cumsum(rows, axis=1)
    tot = np.maximum(cum[:, -1], 1e-12)
    k = (cum < (u * tot)[:, None]).sum(axis=1)
    return np.asarray(POOL, dtype=np.int8)[np.minimum(k, len(POOL) - 1)]


def step(pop, week, p: EmploymentParams, pop_params, shift: np.ndarray, mix: np.ndarray, rng) -> np.ndarray:
    """New status for everyone (synchronous). One uniform per resident decides the transition; a second one
    picks the status taken on leaving work or education, a third (only for residents changing age band) the
    coupled redraw."""
    st, age, alive = pop.status, pop.age, pop.alive
    n = len(st)
    u, u_status, u_age = rng.random(n), rng.random(n), rng.random(n)
    new = st.copy()
    pi = propensity(pop, pop_params, shift)
    f = finding_rate(pi, p, week.job_boost)
    emp = alive & (st == EMPLOYED)
    pool = alive & np.isin(st, POOL)
    lose = emp & (u < p.separation)
    new[lose] = _pool_status(u_status[lose], age[lose], mix)
    new[pool & (u < f)] = EMPLOYED
    stud = alive & (st == STUDENT) & (new == STUDENT)
    leave = stud & (u_status < _leave_education_rate(age, p))
    new[leave] = _pool_status(u_age[leave], age[leave], mix, students=False)
    new[alive & (st == CHILD) & (age >= 16)] = STUDENT
    # coupled redraw for residents whose age band changes this week
    cross = (emp | pool) & (np.searchsorted(AGE_BANDS, age, side="right")
                            != np.searchsorted(AGE_BANDS, age + 1 / 52, side="right"))  # fmt: skip
    if cross.any():
        idx = np.flatnonzero(cross)
        a1 = age[idx] + 1 / 52
        eta1 = employment_logit(a1, pop.female[idx], pop.main_english[idx], pop.english[idx],
                                pop.employ_trait[idx], pop_params) + band_shift(shift, a1)
        pi1 = 1.0 / (1.0 + np.exp(-eta1))
        new[idx] = _coupled(new[idx], pi[idx], pi1, u_age[idx], u_status[idx], age[idx], mix)
    new[alive & np.isin(new, POOL) & (age >= p.retirement_age)] = RETIRED
    return new


def _coupled(status, pi0, pi1, u, u_status, age, mix):
    """Keep P(employed) = pi across an age-band change: workers stop w.p. 1 - pi1/pi0 when pi falls; others
    start w.p. (pi1 - pi0)/(1 - pi0) when it rises."""
    out = status.copy()
    emp = status == EMPLOYED
    stop = emp & (pi1 < pi0) & (u < 1 - pi1 / np.maximum(pi0, 1e-9))
    start = ~emp & np.isin(status, POOL) & (pi1 > pi0) & (u < (pi1 - pi0) / np.maximum(1 - pi0, 1e-9))
    out[stop] = _pool_status(u_status[stop], age[stop], mix)
    out[start] = EMPLOYED
    return out


def step_one(prev, i, job_boost, p: EmploymentParams, pop_params, shift: np.ndarray, mix, rng) -> int:
    """The same rule for one resident."""
    st = int(prev["status"][i])
    age = float(prev["age"][i])
    u, u_status, u_age = rng.random(), rng.random(), rng.random()
    new = st

    def pi_at(a):
        eta = employment_logit(np.float32(a), prev["female"][i], prev["main_english"][i], prev["english"][i],
                               prev["employ_trait"][i], pop_params)
        return 1.0 / (1.0 + math.exp(-(float(eta) + float(band_shift(shift, a)))))

    if st == EMPLOYED:
        if u < p.separation:
            new = int(_pool_status(np.array([u_status]), np.array([age]), mix)[0])
    elif st in POOL:
        pi = pi_at(age)
        le = p.leave_education
        if u < min(p.separation * pi / max(1.0 - pi, 1e-6) * job_boost, p.max_finding):
            new = EMPLOYED
        elif st == STUDENT and u_status < (le[0] if age < 18 else le[1] if age < 19 else le[2] if age < 22
                                           else le[3]):
            new = int(_pool_status(np.array([u_age]), np.array([age]), mix, students=False)[0])
    elif st == CHILD and age >= 16:
        new = STUDENT
    if (st == EMPLOYED or st in POOL) and int(np.searchsorted(AGE_BANDS, age, side="right")) != int(
            np.searchsorted(AGE_BANDS, age + 1 / 52, side="right")):
        pi0, pi1 = pi_at(age), pi_at(age + 1 / 52)
        new = int(_coupled(np.array([new], dtype=np.int8), np.array([pi0]), np.array([pi1]), np.array([u_age]),
                           np.array([u_status]), np.array([age]), mix)[0])
    if new in POOL and age >= p.retirement_age:
        new = RETIRED
    return new

