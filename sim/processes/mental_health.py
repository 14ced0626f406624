"""Refugees' mental health: untreated distress slows learning English and finding work; it lifts with time or care.

Residents who came as refugees or to seek asylum are marked when the population is made (``place_refugees``): per
area, the people resettled there in 2014-2020 and those on asylum support at the Census (Home Office tables,
``data/refugees/``), plus earlier refugees as a stated share of residents (no local count exists). A share of them
start with a common mental disorder (PTSD, depression, anxiety: ``distress``), placed so that, with the slower job
finding below, the week-0 employment of the distressed is already at its stationary level (no drift in the
baseline). Each week a distressed refugee recovers with the natural remission chance, or more while treated (the
programme writes ``recovery_chance``); a well refugee becomes distressed at the rate that holds the prevalence
steady. While distressed, their job-finding rate and their adult learning are multiplied down (``prepare`` writes
those factors into the week's ``job_boost`` and ``learn_factor``, which the employment and language rules read).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import pathlib

import numba
import numpy as np

from sim.params import param
from sim.population import EMPLOYED
from sim.processes.employment import POOL
from sim.processes.rule import Column, Rule, WeekField

DATA = pathlib.Path(__file__).resolve().parent.parent.parent / "data" / "refugees" / "pilot_areas.csv"
RECENT_YEARS = 7.0  # resettled 2014-2020 and asylum seekers of 2021 arrived at most seven years before the Census


@dataclasses.dataclass
class MentalHealthParams:
    earlier_refugee_share: float = param(
        0.005, "[X] assumption, a stated range: residents who came as refugees or asylum seekers before 2014, as a "
        "share of all residents (Census 2021 asked no reason for migration; see data/refugees/README.md)",
        low=0, high=0.1, unit="share of residents", plausible=(0.002, 0.01))
    prevalence: float = param(
        0.31, "[A] Blackmore et al. 2020 (PLoS Med, 26 studies, diagnosed): PTSD 31%, depression 32%, overlapping; "
        "Henkelmann et al. 2020 (BJPsych Open): depression 30%, PTSD 29%; the low end is Fazel et al. 2005 (Lancet, "
        "about 10% PTSD)", low=0, high=0.95, unit="share of refugees", plausible=(0.10, 0.45))
    remission_per_year: float = param(
        0.15, "[X] assumption, a stated range: untreated disorder lifts slowly; long-settled refugees' rates stay "
        "at 20% and above (Bogic, Njoku & Priebe 2015)", low=0, high=1, unit="per year", plausible=(0.05, 0.30))
    job_finding_factor: float = param(
        0.67, "[A] Walther et al. 2020 (BMJ Open, 2,639 refugees in Germany): distressed men's employment risk ratio "
        "0.67 (0.52-0.86); cross-sectional, so an association", low=0, high=1, unit="x job-finding rate",
        plausible=(0.52, 0.86))
    learning_factor: float = param(
        0.8, "[X] assumption, a stated range: PTSD symptom load slows language learning (Sondergaard & Theorell "
        "2004, no effect size); integration-course participation RR 0.90 (Walther et al. 2020)", low=0, high=1,
        unit="x adult learning rate", plausible=(0.6, 1.0))


@functools.lru_cache(maxsize=1)
def area_counts() -> dict:
    """Per area: (resettled 2014-2020, on asylum support in March 2021), people (``data/refugees/pilot_areas.csv``)."""
    with open(DATA, newline="") as f:
        return {r["area"]: (int(r["resettled_2014_2020"]), int(r["asylum_support_2021q1"])) for r in csv.DictReader(f)}


def weekly_remission(p: MentalHealthParams) -> float:
    return 1.0 - (1.0 - p.remission_per_year) ** (1.0 / 52.0)


def weekly_onset(p: MentalHealthParams) -> float:
    """The onset chance that holds the prevalence among refugees steady against remission."""
    return weekly_remission(p) * p.prevalence / max(1.0 - p.prevalence, 1e-9)


def split_prevalence(p: float, employed_share: float, odds_ratio: float) -> tuple[float, float]:
    """(P(distress | not employed), P(distress | employed)) with overall prevalence ``p`` among those who could
    work, such that the odds of being employed are ``odds_ratio`` times lower with distress: the stationary
    state of job finding slowed by that factor. Bisection on the monotone mixture."""
    if odds_ratio >= 1.0 or employed_share <= 0 or employed_share >= 1:
        return p, p
    lo, hi = 0.0, 1.0
    for _ in range(60):
        x = 0.5 * (lo + hi)
        y = odds_ratio * x / max(1.0 - x + odds_ratio * x, 1e-12)
        if employed_share * y + (1 - employed_share) * x < p:
            lo = x
        else:
            hi = x
    x = 0.5 * (lo + hi)
    return x, odds_ratio * x / max(1.0 - x + odds_ratio * x, 1e-12)


def place_refugees(pop, area_name: str, scale: float, p: MentalHealthParams, rng) -> None:
    """Mark who came as a refugee and who of them starts distressed (week 0; a stream of its own, so nothing
    else in the population changes). Recent refugees are drawn among residents born abroad with another main
    language who arrived within seven years; earlier ones among those who arrived before."""
    resettled, asylum = area_counts().get(area_name, (0, 0))
    alive = pop.alive
    other = alive & pop.born_abroad & ~pop.main_english
    recent_pool = np.flatnonzero(other & (pop.years_in_uk < RECENT_YEARS))
    earlier_pool = np.flatnonzero(other & (pop.years_in_uk >= RECENT_YEARS))
    n_recent = min(int(round((resettled + asylum) * scale)), len(recent_pool))
    n_earlier = min(int(round(p.earlier_refugee_share * int(alive.sum()))), len(earlier_pool))
    rows = np.r_[rng.choice(recent_pool, n_recent, replace=False), rng.choice(earlier_pool, n_earlier, replace=False)]
    pop.refugee[rows] = True
    # distress, placed so the distressed's employment already sits at its slower stationary level
    could_work = (pop.age[rows] >= 16) & (pop.age[rows] < 65) & np.isin(pop.status[rows], POOL + (EMPLOYED,))
    employed = pop.status[rows] == EMPLOYED
    share = float(employed[could_work].mean()) if could_work.any() else 0.0
    x, y = split_prevalence(p.prevalence, share, p.job_finding_factor)
    chance = np.where(could_work, np.where(employed, y, x), p.prevalence)
    pop.distress[rows] = rng.random(len(rows)) < chance


def next_distress(distress, refugee, u, recovery_chance, p: MentalHealthParams):
    """Distress after a week (arrays, or one resident's values): the rule, defined once. A distressed refugee
    recovers if u falls under the chance of either natural remission or treatment; a well refugee becomes
    distressed if u falls under the onset chance; everyone else stays as they are (never distressed)."""
    lift = 1.0 - (1.0 - weekly_remission(p)) * (1.0 - recovery_chance)
    return np.where(distress, u >= lift, refugee & (u < weekly_onset(p)))


STREAM = "mental-health"


def draws(model) -> np.ndarray:
    return model.rng_for(STREAM).random(model.pop.capacity, dtype=np.float32)


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


def weekly(model, week, u):
    """Only refugees' distress can change (everyone else is never distressed), so the rule is applied to their
    rows alone: the same values as applying it to every row."""
    pop, p = model.pop, model.params.mental_health
    if _compiled_form(u, week, p):  # (the usual case: the numbers of the lines below, in one pass)
        return distress_after(pop.alive, pop.refugee, pop.distress, u, week.recovery_chance,
                              np.float32(1.0 - weekly_remission(p)), np.float32(weekly_onset(p)))
    new = pop.distress.copy()
    r = np.flatnonzero(pop.alive & pop.refugee)
    new[r] = next_distress(pop.distress[r], pop.refugee[r], u[r], week.recovery_chance[r], p)
    return new


def _compiled_form(u, week, p: MentalHealthParams) -> bool:
    """Whether ``distress_after`` gives the numpy lines' numbers: numpy's float32 arithmetic for float32
    draws and chances and Python-number rates (whose float64 results numpy then takes as float32)."""
    return (type(p.remission_per_year) in (float, int) and type(p.prevalence) in (float, int)
            and u.dtype == np.float32 and week.recovery_chance.dtype == np.float32)


def weekly_one(model, i, prev, week, u):
    return bool(next_distress(prev["distress"][i], prev["refugee"][i], u[i], week.recovery_chance[i],
                              model.params.mental_health))


def prepare(model, week) -> None:
    """The week's slowing of the untreated distressed: their job finding and their adult learning."""
    pop, p = model.pop, model.params.mental_health
    rows = np.flatnonzero(pop.alive & pop.distress)
    if len(rows):
        week.job_boost[rows] *= np.float32(p.job_finding_factor)
        week.learn_factor[rows] *= np.float32(p.learning_factor)


RULE = Rule(
    "mental_health", __doc__.splitlines()[0], step=weekly, step_one=weekly_one, group="mental_health",
    params=MentalHealthParams, owns=("distress",), reads=("recovery_chance", "job_boost", "learn_factor"),
    draws=draws, prepare=prepare, stream=STREAM,
    columns={"refugee": Column(bool, missing=False, birth=False,  # (arrivals: the donor's)
                               doc="came as a refugee or to seek asylum"),
             "distress": Column(bool, missing=False, birth=False, doc="untreated common mental disorder (refugees)")},
    defines={"recovery_chance": WeekField(np.float32, 0.0, "weekly chance that treatment lifts distress "
                                                             "(refugee mental-health programme)")},
)
