"""Ageing, births, deaths and households moving in and out: what moves the baseline, modelled and shown.

- Ageing: everyone is a week older each week (in both engines, as part of the resident's step).
- Deaths: a Gompertz hazard by age, fitted by eye to the England & Wales life tables (assumption).
- Births: women aged 15-44 give birth at the general fertility rate; the baby joins the mother's household.
- Moves: households leave the area at a steady rate and the same number arrive into the dwellings they left.
  Arrivals are copies of households present at week 0: of recent international migrants (head arrived in the last
  two years) at the rate TS015 shows for 2017-2019, otherwise of any household (internal migration).
Every change is counted in the run's demography table. What arrivals and babies take (from a template resident,
from the mother, or fixed) is declared per column in ``sim.population.COLUMN_SPECS``.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np

from sim.kernels import in_households, row
from sim.params import param
from sim.population import EMPLOYED, assign_venues, fill_arrivals, fill_births
from sim.processes.rule import Rule


@dataclasses.dataclass
class DemographyParams:
    enabled: bool = param(True, "modelling choice: switch births, deaths and moves off to study a closed "
                          "population")
    mortality_a: float = param(3.0e-5, "assumption: Gompertz fit to ONS National life tables 2018-2020 "
                               "(q(40) ~ 0.0013, q(80) ~ 0.055)", low=0, high=1e-3, unit="per year at age 0",
        plausible=(2.0e-5, 4.5e-5))
    mortality_b: float = param(0.095, "assumption: Gompertz slope from the same fit", low=0, high=0.2,
                               unit="per year of age",
        plausible=(0.085, 0.105))
    fertility: float = param(0.0674, "[~] ONS Births in England and Wales 2021: general fertility rate 54.3 per "
                             "1,000 women 15-44 in England; higher in the pilot areas (assumption 62)", low=0,
                             high=0.3, unit="births/woman/year",
        plausible=(0.05, 0.075))
    move_out: float = param(0.05, "[~] ONS internal and international migration: about 5% of a local "
                            "authority's residents move out each year", low=0, high=0.5, unit="households/year",
        plausible=(0.03, 0.08))
    international_share: float = param(-1.0, "share of arriving households that are international migrants; -1 "
                                       "derives it from TS015 arrivals in 2017-2019", low=-1, high=1,
        design="-1 takes it from the area's Census arrivals")


def weekly(p: float) -> float:
    return 1.0 - (1.0 - min(p, 1.0)) ** (1 / 52)


STREAM = "demography"  # the random stream of births, deaths and moves


def death_uniforms(rng, n: int) -> np.ndarray:
    """The week's first draw of the demography stream: a uniform per live resident (``n``), for deaths (drawn
    here or, ahead of the week's demography, by ``VectorisedEngine.draw_ahead``)."""
    return rng.random(n, dtype=np.float32)


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


def deaths(pop, p: DemographyParams, rng, u=None) -> np.ndarray:
    """Residents who die this week (Gompertz hazard at their whole year of age); ``u``: their uniforms, if drawn
    already (:func:`death_uniforms`)."""
    years = np.arange(131)
    weekly_q = (1 - np.exp(-p.mortality_a * np.exp(p.mortality_b * (years + 0.5)) / 52)).astype(np.float32)
    u = death_uniforms(rng, pop.n) if u is None else u
    return dying(pop.alive, pop.age, u, weekly_q)  # one uniform per resident


def mothers(pop, p: DemographyParams, rng) -> np.ndarray:
    w = could_give_birth(pop.alive, pop.female, pop.age, pop.household, pop.household_communal)
    return w[rng.random(len(w)) < weekly(p.fertility)]


def leaving_households(pop, p: DemographyParams, rng) -> np.ndarray:
    n_hh = int((~pop.household_communal).sum())
    k = rng.binomial(n_hh, weekly(p.move_out))
    private = np.flatnonzero(~pop.household_communal)
    return rng.choice(private, size=k, replace=False) if k else np.zeros(0, dtype=np.int64)


def arriving_donors(templates, neighbourhoods: np.ndarray, rng) -> np.ndarray:
    """A template household for each dwelling left (in ``neighbourhoods``): an international migrant household
    with the TS015 share, else a week-0 household of the same neighbourhood, so that moves keep each
    neighbourhood's make-up (and the area's segregation) as it was."""
    k = len(neighbourhoods)
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    by_n, starts, counts = templates["by_neighbourhood"]
    c = counts[neighbourhoods]
    out = by_n[np.minimum(starts[neighbourhoods] + (rng.random(k) * c).astype(np.int64), len(by_n) - 1)]
    intl = rng.random(k) < templates["international_share"]
    pool = templates["international"]
    if pool.size and intl.any():
        # a recent-migrant household that lived in the same neighbourhood if there is one, else anywhere
        nb_pool = templates["neighbourhood"][pool]
        for i in np.flatnonzero(intl):
            here = pool[nb_pool == neighbourhoods[i]]
            out[i] = rng.choice(here if here.size else pool)
    return out


def make_templates(pop, area: dict, scale: float, p: DemographyParams) -> dict:
    """Week-0 households as templates for arrivals, and the international share implied by TS015."""
    alive = np.flatnonzero(pop.alive & ~pop.household_communal[np.maximum(pop.household, 0)])
    hh = pop.household[alive]
    if not np.all(hh[1:] >= hh[:-1]):  # (a new population lists its households' members together, in order)
        order = np.argsort(hh, kind="stable")
        alive, hh = alive[order], hh[order]
    rows = alive
    # each household's first member among the sorted ids, its id and size (np.unique's, without sorting again)
    first = np.ones(len(hh), dtype=bool)
    first[1:] = hh[1:] != hh[:-1]
    starts = np.flatnonzero(first)
    ids, sizes = hh[starts], np.diff(np.r_[starts, len(hh)])
    head = rows[starts]
    intl = np.flatnonzero(pop.born_abroad[head] & (pop.years_in_uk[head] < 2.0))
    share = p.international_share
    if share < 0:
        arr = area["census"]["arrival"]
        per_year = arr["counts"][-2] / 3.0 * scale  # arrived 2017-2019, per year
        mean_size = float(sizes[intl].mean()) if len(intl) else 1.0
        hh_per_year = per_year / mean_size
        movers = len(ids) * p.move_out
        share = float(np.clip(hh_per_year / max(movers, 1e-9), 0, 1))
    nb = pop.household_neighbourhood[ids]
    order_n = np.argsort(nb, kind="stable")
    counts = np.bincount(nb, minlength=pop.n_neighbourhoods)
    return {"n": len(ids), "rows": rows, "starts": starts, "sizes": sizes, "international": intl,
            "international_share": share, "columns": pop.copy_columns(), "neighbourhood": nb,
            "by_neighbourhood": (order_n, np.r_[0, np.cumsum(counts)[:-1]], counts)}


AGE_STEP = np.float32(1 / 52)


def older(years):
    """A week on (age and years in the UK; arrays or one resident's value)."""
    return years + AGE_STEP


def age_everyone(pop) -> None:
    """Every live resident a week older (age and years in the UK), in place: :func:`older` on their rows."""
    np.add(pop.age, AGE_STEP, out=pop.age, where=pop.alive)
    np.add(pop.years_in_uk, AGE_STEP, out=pop.years_in_uk, where=pop.alive)


QUIET_WEEK = {"deaths": 0, "births": 0, "moved_out": 0, "moved_in": 0, "international_arrivals": 0}


def step(model) -> dict:
    """This week's deaths, births and moves, applied to ``model`` through its public hooks (``remove_residents``,
    ``allocate``, ``work_teams``, ``add_agents``); returns the week's counts."""
    p = model.params.demography
    if not p.enabled:
        return dict(QUIET_WEEK)
    pop, rng, t = model.pop, model.rng_for(STREAM), model.templates
    # who dies, gives birth and moves out, and which households arrive, from the stream and the columns below
    # alone: the same in every scenario of a replicate while those are, so shared by its runs (model.shared_step)
    reads = (pop.alive, pop.age, pop.female, pop.household, pop.household_communal, pop.household_neighbourhood)
    dead, mums, leaving, leavers, gone, donors = model.shared_step("demography-events", STREAM, reads,
                                                                   lambda: _events(model, p, rng, t))
    pop.alive[gone] = False
    gone_mask = np.zeros(pop.capacity, dtype=bool)
    gone_mask[gone] = True
    # their ties are dropped on the second thread (a large network) while the arrivals are made: nothing here
    # reads the networks, and the week waits for it before it returns
    pending = model.remove_residents(gone, gone_mask, wait=False)
    # the dwellings left are taken by arriving households (copies of week-0 template households)
    sizes = t["sizes"][donors]
    n_arriving = int(sizes.sum())
    new_rows = model.allocate(n_arriving + len(mums))
    arrived, babies = new_rows[:n_arriving], new_rows[n_arriving:]
    # the template residents of each donor household, household after household
    src = t["rows"][np.repeat(t["starts"][donors] - np.cumsum(sizes) + sizes, sizes) + np.arange(n_arriving)]
    fill_arrivals(pop, arrived, t["columns"], src)
    pop.household[arrived] = np.repeat(leaving, sizes) if len(leaving) else []
    pop.neighbourhood[arrived] = pop.household_neighbourhood[pop.household[arrived]]
    fill_births(pop, babies, mums, rng)
    model.work_teams.join(arrived[pop.status[arrived] == EMPLOYED])
    assign_venues(pop, arrived, model.params.population, rng)
    model.add_agents(np.concatenate([arrived, babies]))
    if pending is not None:
        pending.result()
    return {"deaths": len(dead), "births": len(babies), "moved_out": len(leavers), "moved_in": len(arrived),
            "international_arrivals": int(_international(t)[donors].sum())}


def _events(model, p: DemographyParams, rng, t: dict) -> tuple:
    """This week's (deaths, mothers, households leaving, their residents, everyone gone, arriving template
    households), drawn in this order from the demography stream; reads only the columns ``step`` lists."""
    pop = model.pop
    u = model.drawn(STREAM, pop.n)
    if u is None:
        n = pop.n
        u = model.shared_draws(STREAM, n, lambda: death_uniforms(rng, n))
    dead = deaths(pop, p, rng, u)
    mums = mothers(pop, p, rng)
    leaving = leaving_households(pop, p, rng)
    moving = np.zeros(len(pop.household_communal), dtype=bool)
    moving[leaving] = True
    leavers = in_households(pop.alive, pop.household, moving)
    gone = np.unique(np.concatenate([dead, leavers])).astype(np.int64)
    gone_mask = np.zeros(len(pop.alive), dtype=bool)
    gone_mask[gone] = True
    mums = mums[~gone_mask[mums]]  # a mother who died or moved out this week gives birth elsewhere
    donors = arriving_donors(t, pop.household_neighbourhood[leaving], rng)
    return dead, mums, leaving, leavers, gone, donors


def _international(templates: dict) -> np.ndarray:
    """Which template households are recent international migrants (a mask over them, made once)."""
    if "is_international" not in templates:
        mask = np.zeros(templates["n"], dtype=bool)
        mask[templates["international"]] = True
        templates["is_international"] = mask
    return templates["is_international"]


RULE = Rule(
    "demography", __doc__.splitlines()[0], step=step, step_one=older, kind="demography", group="demography",
    params=DemographyParams,
    owns=("alive", "age", "years_in_uk", "household", "neighbourhood"),
)
