"""Work: jobs end at a steady rate and are found at a rate set by each resident's employment propensity.

A resident's propensity is the employment log-odds used to build the population (age, sex, English, ethnic group;
see ``labour.employment_logit``). Job finding is ``separation * pi / (1 - pi)`` so that, with unchanged
characteristics, the chance of being in work is stationary at ``pi``: the baseline neither drifts up nor down, and
better English raises ``pi`` and so the job-finding rate (the channel Dustmann & Fabbri 2003 measure). Leaving
school, retiring and the status someone takes on losing a job follow simple age rules: at 16 a child starts
work with probability pi (else is a student); a job loser (or school
leaver) takes a non-working status in proportion to the area's mix at week 0 (so that mix holds steady). When
ageing moves a resident into another age band, their status is redrawn in the coupled way that keeps
P(employed) = pi at the new age (e.g. at 65 some workers stop), so ageing does not make employment lag behind.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.labour import AGE_BANDS, BAND_OF_YEAR, age_band, employment_logit, language_terms
from sim.network import PartnerIndex
from sim.params import param
from sim.population import CHILD, EMPLOYED, HOME, NO_SETTING, OTHER, RETIRED, SICK, STUDENT, UNEMPLOYED, poor_english
from sim.processes.employment_kernels import (
    employment_decide,
    employment_exponents,
    employment_rows,
    join_teams,
    pool_status,
    set_status,
)
from sim.processes.rule import Column, Rule, WeekField

# not in work but may take a job: everyone 16+ (students work, as TS066 counts; some over-65s work too)
POOL = (UNEMPLOYED, HOME, SICK, OTHER, STUDENT, RETIRED)


@dataclasses.dataclass
class EmploymentParams:
    separation: float = param(0.00158, "[~] ONS Labour Force Survey flows: about 3% of the employed leave work "
                              "each quarter", low=0, high=0.05, unit="per week",
        plausible=(0.00125, 0.00375))
    max_finding: float = param(0.2, "modelling choice: cap on the weekly job-finding probability", low=0,
                               high=1, unit="per week",
        design="a numerical cap that keeps weekly finding a probability; it binds only with large boosts")
    leave_education: list = param([0.002, 0.008, 0.005, 0.012], "assumption: weekly chance a student leaves "
                                  "education at 16-17, 18, 19-21, 22+", low=0, high=1, unit="per week")
    retirement_age: float = param(66.0, "State Pension age in 2021 (DWP)", low=50, high=80, unit="years",
        design="statutory State Pension age")
    english_effect: float = param(
        1.234, "calibrated (data/calibration/): the share of the general cross-sectional English gap (ONS 2011) that "
        "is a causal effect of English on the chance of work, fitted to Dustmann & Fabbri (2003), about 22 points "
        "from fluency (calibration target fluency_employment_effect)", low=0, high=2, unit="share of the gap",
        plausible=(0.3, 2.0))
    english_effect_women: float = param(
        0.8995, "assumption, range 0-1 carried into the uncertainty: the share of the extra gap of women with poor "
        "English that English itself causes; ONS (2014) finds half of the inactive non-proficient women looking "
        "after home or family, so caring roles explain much of it", low=0, high=1, unit="share of the gap",
        plausible=(0.0, 1.0))


IS_POOL = np.isin(np.arange(8), POOL)
_POOL_CODES = np.asarray(POOL, dtype=np.int8)


def band_shift(shift: np.ndarray, age) -> np.ndarray:
    return shift[age_band(age)]


def probability(eta, shift: np.ndarray, age):
    """Probability pi of being in work at stationarity, from the log-odds and the age band's calibrated shift."""
    return 1.0 / (1.0 + np.exp(-(eta + band_shift(shift, age))))


def logit(age, female, main_english, english, english_entry, trait, pop_params, p: EmploymentParams):
    """A resident's employment log-odds now: the cross-sectional log-odds at the English they entered with, plus
    the causal share of each English gap for what they have learnt since (arrays, or one resident's values)."""
    general0, women0 = language_terms(main_english, english_entry, female, pop_params)
    eta = employment_logit(age, female, main_english, english_entry, trait, pop_params, terms=(general0, women0))
    general, women = language_terms(main_english, english, female, pop_params)
    return eta + p.english_effect * (general - general0) + p.english_effect_women * (women - women0)


def propensity(pop, pop_params, p: EmploymentParams, shift: np.ndarray, rows=None, age=None) -> np.ndarray:
    """Probability pi of being in work at stationarity, for ``rows`` (default all) at ``age`` (default now)."""
    rows = slice(None) if rows is None else rows
    age = pop.age[rows] if age is None else age
    eta = logit(age, pop.female[rows], pop.main_english[rows], pop.english[rows], pop.english_entry[rows],
                pop.employ_trait[rows], pop_params, p)
    return probability(eta, shift, age)


def crosses_band(age):
    """Whether a week older moves a resident into another employment age band (arrays or one value)."""
    year, next_year = np.asarray(age).astype(np.int32), np.asarray(age + np.float32(1 / 52)).astype(np.int32)
    return (next_year != year) & (age_band(next_year) != age_band(year))


def draws(rng, n: int) -> np.ndarray:
    """The week's three uniforms per resident row (see :func:`step`); both engines take them from here."""
    return rng.random((3, n), dtype=np.float32)


def finding_rate(pi, p: EmploymentParams, boost=1.0):
    return np.minimum(p.separation * pi / np.maximum(1.0 - pi, 1e-6) * boost, p.max_finding)


def calibrate_shift(pop, pop_params, p: EmploymentParams) -> np.ndarray:
    """Per age band, the shift that makes the expected employment of those who can work equal today's count
    (students and the retired are outside the pool, so the pool's own rates differ from the population's): the
    week-0 state is then stationary band by band and the baseline does not drift."""
    pool = pop.alive & (np.isin(pop.status, POOL) | (pop.status == EMPLOYED))
    band = age_band(pop.age)
    eta = employment_logit(pop.age, pop.female, pop.main_english, pop.english, pop.employ_trait, pop_params)
    shift = np.zeros(len(AGE_BANDS) + 1)
    for b in range(len(shift)):
        m = pool & (band == b)
        target = float((m & (pop.status == EMPLOYED)).sum())
        if not m.any() or target == 0 or target == m.sum():
            continue
        x, s = eta[m], 0.0
        for _ in range(30):  # Newton's method on sum(logistic(x + s)) = target
            pi = 1.0 / (1.0 + np.exp(-(x + s)))
            step = (pi.sum() - target) / max((pi * (1 - pi)).sum(), 1e-9)
            s -= float(np.clip(step, -2, 2))
            if abs(step) < 1e-7:
                break
        shift[b] = s
    return shift


def _leave_education_rate(age, p: EmploymentParams):
    le = p.leave_education
    return np.where(age < 18, le[0], np.where(age < 19, le[1], np.where(age < 22, le[2], le[3])))


def inactive_mix(pop) -> np.ndarray:
    """Week-0 counts of each POOL status by age band (rows): a job loser's next status is drawn from their band's
    row, so the make-up of those not in work holds steady."""
    band = age_band(pop.age)
    mix = np.zeros((len(AGE_BANDS) + 1, len(POOL)))
    for j, s in enumerate(POOL):
        mix[:, j] = np.bincount(band[pop.alive & (pop.status == s)], minlength=len(AGE_BANDS) + 1)
    mix[mix.sum(axis=1) == 0, 0] = 1.0
    return mix


def _pool_table(mix, students=True):
    """(cumulative weights of each band's row of the mix, their totals), with or without studying."""
    cum = np.cumsum(mix if students else mix * (np.asarray(POOL) != STUDENT), axis=1)  # (each band's row)
    return cum, np.maximum(cum[:, -1], 1e-12)


def _pool_status(u, age, mix, students=True):
    """A non-working status drawn from the week-0 mix of the resident's age band with a uniform ``u``."""
    u, age = np.atleast_1d(u), np.atleast_1d(age)  # (compiled below: the same comparisons)
    return pool_status(u, age, *_pool_table(mix, students), BAND_OF_YEAR, _POOL_CODES)


# the population parameters the language terms take in float32 (as numpy takes a Python float with float32 columns)
_F32_POPULATION = ("employment_poor_english", "employment_good_english", "employment_female_poor_english")
_COLUMNS = {"age": np.float32, "english": np.float32, "english_entry": np.float32, "employ_trait": np.float32,
            "female": np.bool_, "main_english": np.bool_}


def _compiled_form(pop, pop_params, p: EmploymentParams) -> bool:
    """Whether the rule's compiled form (``employment_kernels``: ``employment_exponents``, ``employment_decide``)
    gives the numbers of its numpy form: it does numpy's arithmetic for float32 columns and Python-number parameters (a
    numpy float64 parameter would make numpy compute the language terms in float64). Otherwise the numpy form
    runs."""
    scalars = [getattr(pop_params, k) for k in (*_F32_POPULATION, "employment_female")]
    scalars += [p.english_effect, p.english_effect_women, p.separation, p.max_finding]
    return (all(type(v) in (float, int) for v in scalars)
            and all(getattr(pop, k).dtype == t for k, t in _COLUMNS.items()))


def step(pop, week, p: EmploymentParams, pop_params, shift: np.ndarray, mix: np.ndarray, rng, u=None,
         scratch=None) -> np.ndarray:
    """New status for everyone (synchronous: every decision reads the start-of-week state).

    Three uniforms per resident row are drawn every week whatever happens (u0: lose or find a job, or start work
    at 16; u1: which non-working status; u2: leaving education, or the coupled redraw at a new age band), so a
    resident's draws do not depend on anyone else's: scenarios share them (common random numbers)."""
    st, age, alive = pop.status, pop.age, pop.alive
    new = st.copy()
    u0, u1, u2 = draws(rng, len(st)) if u is None else u
    # which rows each branch concerns, in one compiled pass; only those rows' rates are computed (a resident whose
    # uniform is above the highest rate a branch can have cannot take it)
    scratch = np.empty((6, len(st)), dtype=np.int64) if scratch is None else scratch  # (room for six row lists)
    counts = employment_rows(alive, st, age, u0, u2, IS_POOL, EMPLOYED, CHILD, STUDENT, RETIRED,
                             np.float32(p.separation), float(p.max_finding), float(max(p.leave_education)),
                             np.float32(p.retirement_age), np.float32(1 / 52), BAND_OF_YEAR, scratch)
    if _compiled_form(pop, pop_params, p):  # (the usual case: the numbers of the lines below, in two passes)
        e = np.exp(employment_exponents(
            scratch, counts, age, np.float32(1 / 52), pop.female, pop.main_english, pop.english, pop.english_entry,
            pop.employ_trait, np.asarray(pop_params.employment_age, dtype=np.float64), shift, BAND_OF_YEAR,
            float(pop_params.employment_female), *(np.float32(getattr(pop_params, k)) for k in _F32_POPULATION),
            np.float32(p.english_effect), np.float32(p.english_effect_women)))
        return employment_decide(new, scratch, counts, e, u0, u1, u2, age, week.job_boost, float(p.separation),
                                 float(p.max_finding), np.asarray(p.leave_education, dtype=np.float64),
                                 *_pool_table(mix, True), *_pool_table(mix, False), BAND_OF_YEAR, _POOL_CODES,
                                 IS_POOL, EMPLOYED, STUDENT, RETIRED)
    lose, cand, stud, turning, cross, old = (scratch[k, :c].copy() for k, c in enumerate(counts))
    # the chance of work for every row a branch needs it for (the pool now, those turning 16 now, those crossing
    # a band now and a week on), in one evaluation: elementwise, so the numbers of one evaluation per branch, in
    # a quarter of the calls (a small run's week is mostly the cost of calls)
    pi_pool, pi16, pi0, pi1 = np.split(
        propensity(pop, pop_params, p, shift, rows=np.concatenate((cand, turning, cross, cross)),
                   age=np.concatenate((age[cand], age[turning], age[cross], age[cross] + np.float32(1 / 52)))),
        np.cumsum((len(cand), len(turning), len(cross))))
    find = cand[u0[cand] < finding_rate(pi_pool, p, week.job_boost[cand])]
    new[lose] = _pool_status(u1[lose], age[lose], mix)
    new[find] = EMPLOYED
    stud = stud[new[stud] == STUDENT]  # those who found a job do not also leave education
    leave = stud[u2[stud] < _leave_education_rate(age[stud], p)]
    new[leave] = _pool_status(u1[leave], age[leave], mix, students=False)
    # at 16 a child enters the labour market at its stationary chance of work (the chain itself would take
    # years to get there, longer than the two years spent in the 16-17 band)
    if len(turning):
        new[turning] = np.where(u0[turning] < pi16, EMPLOYED, STUDENT)
    # coupled redraw for residents whose age band changes this week (band limits are whole years)
    if len(cross):
        new[cross] = _coupled(new[cross], pi0, pi1, u2[cross], u1[cross], age[cross], mix)
    old = old[IS_POOL[new[old]]]
    new[old] = RETIRED
    return new


def _scratch(scratch: dict, n: int) -> np.ndarray:
    """Reused room for the week's row lists (six lists of up to ``n`` rows), in the engine's ``scratch``: models
    stepped at the same time in one process (the explorer's sessions, each in its own thread) each have their
    own."""
    room = scratch.get("employment_rows")
    if room is None or room.shape[1] != n:
        room = scratch["employment_rows"] = np.empty((6, n), dtype=np.int64)
    return room


def _coupled(status, pi0, pi1, u, u_status, age, mix):
    """Keep P(employed) = pi across an age-band change: workers stop w.p. 1 - pi1/pi0 when pi falls; others
    start w.p. (pi1 - pi0)/(1 - pi0) when it rises."""
    out = status.copy()
    emp = status == EMPLOYED
    stop = emp & (pi1 < pi0) & (u < 1 - pi1 / np.maximum(pi0, 1e-9))
    start = ~emp & IS_POOL[status] & (pi1 > pi0) & (u < (pi1 - pi0) / np.maximum(1 - pi0, 1e-9))
    out[stop] = _pool_status(u_status[stop], age[stop], mix)
    out[start] = EMPLOYED
    return out


def step_one(prev, i, job_boost, p: EmploymentParams, pop_params, shift: np.ndarray, mix, u) -> int:
    """The same rule for one resident, read branch by branch, with the same formulas and the same three uniforms
    ``u`` as :func:`step` (so the two engines give identical statuses)."""
    st, age = int(prev["status"][i]), prev["age"][i]
    u0, u1, u2 = u
    one = np.array([age])

    def pi_at(a):
        eta = logit(a, prev["female"][i], prev["main_english"][i], prev["english"][i], prev["english_entry"][i],
                    prev["employ_trait"][i], pop_params, p)
        return probability(eta, shift, a)

    new = st
    if st == EMPLOYED:
        if u0 < p.separation:
            new = int(_pool_status(np.array([u1]), one, mix)[0])
    elif st in POOL:
        if u0 < finding_rate(pi_at(age), p, job_boost):
            new = EMPLOYED
        elif st == STUDENT and u2 < _leave_education_rate(age, p):
            new = int(_pool_status(np.array([u1]), one, mix, students=False)[0])
    elif st == CHILD and age >= 16:
        new = EMPLOYED if u0 < pi_at(age) else STUDENT
    if st != CHILD and crosses_band(age):
        pi0, pi1 = pi_at(age), pi_at(age + np.float32(1 / 52))
        new = int(_coupled(np.array([new], dtype=np.int8), np.array([pi0]), np.array([pi1]), np.array([u2]),
                           np.array([u1]), one, mix)[0])
    if IS_POOL[new] and age >= p.retirement_age:
        new = RETIRED
    return new


class WorkTeams:
    """Who works with whom: a new job is in the team of a random worker of the same group and English level (a
    referral).

    Joining where a like worker works keeps the expected make-up of work teams (and so the share of bridging
    work ties) what it was at week 0, rather than mixing teams at random as people change jobs. Workers are
    indexed by (group, poor English) every few weeks, like the other partner indices (``refresh``).
    """

    def __init__(self, pop, rng):
        self.pop, self.rng = pop, rng
        self.index = None

    def refresh(self) -> None:
        self.index = None

    def apply_status(self, new: np.ndarray) -> None:
        """Set the new statuses; people who start work join a work team, people who stop leave theirs (the
        statuses, and who starts and stops, in one compiled pass)."""
        pop = self.pop
        self.join(set_status(pop.status, new, pop.alive, pop.workplace, EMPLOYED, NO_SETTING))

    def join(self, rows: np.ndarray) -> None:
        pop, rng = self.pop, self.rng
        if len(rows) == 0:
            return
        if self.index is None:
            self.index = PartnerIndex(np.where(pop.status == EMPLOYED, self._key(), -1),
                                      np.zeros(pop.capacity, dtype=np.int8), pop.alive, 1)
        idx = self.index
        if len(idx.rows) == 0:
            return
        # a worker of the joiner's key (the index's draw: its own-group coin, never heads at chance 0, then where
        # among them), else anyone's team; the rest in one compiled pass (employment_kernels.join_teams)
        n = len(rows)
        rng.random(n)
        u = rng.random(n)
        pick = rng.integers(0, len(idx.rows), size=n)
        join_teams(rows, u, pick, pop.group, pop.main_english, pop.english, idx.start_s, idx.len_s, idx.rows,
                   pop.alive, pop.workplace)

    def _key(self, rows=slice(None)) -> np.ndarray:
        pop = self.pop
        return pop.group[rows].astype(np.int32) * 2 + poor_english(pop.main_english[rows], pop.english[rows])


STREAM = "employment"


def weekly_draws(model):
    return draws(model.rng_for(STREAM), model.pop.capacity)


def weekly(model, week, u):
    p = model.params
    return step(model.pop, week, p.employment, p.population, model.employment_shift, model.inactive_mix, None, u=u,
                scratch=_scratch(model.stepper.scratch, model.pop.capacity))


def weekly_one(model, i, prev, week, u):
    p = model.params
    return step_one(prev, i, week.job_boost[i], p.employment, p.population, model.employment_shift,
                    model.inactive_mix, u[:, i])


def commit(model, new):
    model.work_teams.apply_status(new)


RULE = Rule(
    "employment", __doc__.splitlines()[0], step=weekly, step_one=weekly_one, draws=weekly_draws, commit=commit,
    stream=STREAM, group="employment",
    params=EmploymentParams, owns=("status", "workplace"), reads=("job_boost",),
    columns={"status": Column(np.int8, birth=CHILD, doc="economic status code (population.STATUS_NAMES, TS066)"),
             "workplace": Column(np.int32, missing=NO_SETTING, birth=NO_SETTING, arrival="placed",
                                 doc="work team id, -1 if none"),
             "employ_trait": Column(np.float32, doc="fixed part of the employment log-odds (group offset less the "
                                                    "area threshold)")},
    defines={"job_boost": WeekField(np.float32, 1.0, "multiplier of the job-finding rate (employment support)")},
)
