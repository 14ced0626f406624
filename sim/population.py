"""Synthetic residents of one pilot area, built from its Census 2021 marginals.

The population is columnar: one numpy array per attribute, one row per resident. Every marginal the Census gives
is met by exact counts (scaled and rounded so they sum correctly); the joint structure the tables do not give
(who is born abroad, who speaks little English, who works) comes from latent scores whose coefficients are listed
in :class:`PopulationParams` with their sources. Selecting "the k residents with the highest score plus logistic
noise" is a threshold model: each resident is chosen with probability logistic(score - c), so the same score later
gives the weekly rules their stationary probabilities.

This module holds the generator's parameters, the order of its steps (:func:`generate`) and the settings residents
meet in (workplaces, schools, venues); the steps themselves are in :mod:`sim.households` (where residents live) and
:mod:`sim.characteristics` (who each resident is), on the fitting helpers of :mod:`sim.fitting` and the Census
categories of :mod:`sim.census`.
"""

from __future__ import annotations

import dataclasses
import types

import numpy as np

from sim import characteristics, households
from sim.columns import (  # noqa: F401 (re-exported: the population's columns and codes are read from here)
    BASE_COLUMNS,
    CHILD,
    COLUMN_SPECS,
    EMPLOYED,
    HOME,
    NO_SETTING,
    OTHER,
    POOR_ENGLISH_BELOW,
    RETIRED,
    SICK,
    STATUS_NAMES,
    STUDENT,
    UNEMPLOYED,
    Column,
    Population,
    declare_columns,
    fill_arrivals,
    fill_births,
    grow,
    poor_english,
)
from sim.params import param
from sim.places import places
from sim.places.geometry import shapes
from sim.school_choice import SchoolSetting, place, school_phase
from sim.venues import assign_venues  # noqa: F401 (re-exported: arrivals are given venues too)


@dataclasses.dataclass
class PopulationParams:
    """How the generator fills in what the Census tables do not cross-tabulate."""

    household_size_tilt: dict = param(
        {"asian_pakistani": 0.45, "asian_bangladeshi": 0.45, "asian_indian": 0.2, "white_british": 0.0,
         "minority_default": 0.12},
        "assumption: log-odds per extra household member; South Asian households are larger (ONS 2021 household "
        "size by ethnic group shows the ordering, not these values)", low=-1, high=2, unit="log-odds/person",
        shape=True)
    lone_parent_weight: float = param(
        0.25, "assumption: relative chance that a 2-person household is a parent and child (TS003 lone parents)",
        low=0, high=1)
    older_group_shift: dict = param(
        {"white_british": 0.8, "white_irish": 0.8, "black_caribbean": 0.5, "minority_default": 0.0},
        "assumption: groups with older age profiles (2021 Census age by ethnicity ordering)", low=-3, high=3,
        unit="sd of the adult-age rank key",
        shape=True)
    born_abroad_logit: dict = param(
        {"white_british": -4.5, "white_irish": 0.5, "white_gypsy_traveller": -1.5, "white_roma": 2.0,
         "white_other": 2.5, "mixed_white_asian": -2.0, "mixed_white_black_african": -1.5,
         "mixed_white_black_caribbean": -3.0, "mixed_other": -1.0, "asian_indian": 0.6, "asian_pakistani": 0.0,
         "asian_bangladeshi": 0.3, "asian_chinese": 1.5, "asian_other": 1.5, "black_african": 1.0,
         "black_caribbean": -0.5, "black_other": 0.0, "other_arab": 1.5, "other_any": 1.5},
        "assumption: relative chance of being born abroad by group (ordering as in ONS 2021 country of birth by "
        "ethnic group); the level is set so the area's TS004 total is met exactly", low=-8, high=8, unit="log-odds",
        shape=True)
    born_abroad_child: float = param(-2.5, "assumption: children are mostly UK-born second generation",
                                     low=-8, high=2, unit="log-odds")
    other_language_logit: dict = param(
        {"white_british": -5.0, "white_irish": -4.0, "white_gypsy_traveller": -2.0, "white_roma": 2.0,
         "white_other": 2.0, "mixed_white_asian": -2.5, "mixed_white_black_african": -2.5,
         "mixed_white_black_caribbean": -4.0, "mixed_other": -2.0, "asian_indian": 0.3, "asian_pakistani": 0.3,
         "asian_bangladeshi": 0.8, "asian_chinese": 1.0, "asian_other": 1.0, "black_african": -0.5,
         "black_caribbean": -4.0, "black_other": -1.5, "other_arab": 1.5, "other_any": 0.5},
        "assumption: chance that the main language is not English by group (TS024 languages: Urdu, Panjabi, Polish, "
        "Romanian ...); the level is set so TS029's 'main language not English' count is met exactly",
        low=-8, high=8, unit="log-odds",
        shape=True)
    other_language_born_abroad: float = param(3.0, "assumption: born abroad strongly predicts a main language "
                                              "other than English", low=0, high=8, unit="log-odds")
    english_age: float = param(-0.6327, "assumption: older migrants speak less English (ONS 2011 proficiency by "
                               "age ordering)", low=-2, high=0, unit="latent sd per decade over 30")
    english_female_gap: float = param(-0.9127, "assumption (size not sourced; the ordering is): Pakistani and "
                                      "Bangladeshi women speak less English than men of the same groups (Census 2011 "
                                      "proficiency by sex, e.g. Tower Hamlets: Bangladeshi women 35% vs men 18% not "
                                      "proficient); TS029's totals are met whatever its value",
                                      low=-3, high=0, unit="latent sd")
    english_years_in_uk: float = param(0.04723, "assumption: proficiency rises with residence (ONS 2011 by year of "
                                       "arrival ordering)", low=0, high=0.3, unit="latent sd per year")
    english_born_uk: float = param(2.5, "assumption: UK-born residents with another main language mostly speak "
                                   "English well", low=0, high=6, unit="latent sd")
    employment_female: float = param(-0.37, "UK gender gap in the employment rate, about 7 points (ONS Labour "
                                     "Force Survey 2021) on the logit scale", low=-2, high=0, unit="log-odds",
        plausible=(-0.45, -0.3))
    employment_poor_english: float = param(-1.005, "ONS 2011 Census analysis (2014): 48.3% employed if English not "
                                           "well/not at all vs 71.9% main language English, logit difference",
                                           low=-3, high=0, unit="log-odds",
        plausible=(-1.2, -0.8))
    employment_good_english: float = param(-0.167, "ONS 2011 Census analysis (2014): 65.4% employed if well/very "
                                           "well vs 71.9% main language English, logit difference",
                                           low=-2, high=0.5, unit="log-odds",
        plausible=(-0.45, -0.15))
    employment_female_poor_english: float = param(-1.03, "ONS 2011 Census analysis (2014): non-proficient women "
                                                  "34.3% vs men 68.0% employed (logit gap 1.40) less the general "
                                                  "sex gap", low=-3, high=0, unit="log-odds",
        plausible=(-1.25, -0.8))
    employment_age: list = param(
        [-2.0, -0.6, 0.4, 0.1, -0.9, -2.6, -4.5],
        "assumption: shape of the UK employment-by-age profile for bands 16-17, 18-24, 25-49, 50-59, 60-64, "
        "65-69, 70+ (ONS Labour Force Survey ordering)", low=-8, high=3, unit="log-odds")
    work_local_share: float = param(0.4, "assumption: share of workers whose workplace is in their own "
                                    "neighbourhood", low=0, high=1)
    work_distance_km: float = param(
        4.0, "[X] assumption, a stated range: how fast the pull of a workplace MSOA falls with distance (by e every "
        "this many km) for those who work away from their own MSOA; Census 2021 travel to work: most commuters of "
        "these areas work in their own council (66% Walsall to 85% Peterborough, ODWP01EW flows between councils), "
        "so within an area distances are short", low=0.5, high=50, unit="km", plausible=(2.0, 8.0))
    work_team_size: int = param(12, "assumption: people one works with closely", low=2, high=200, unit="people")
    work_sorting: float = param(1.472, "assumption: how strongly workplaces sort by group (sd of noise relative "
                                "to group key; smaller = more segregated)", low=0.01, high=100,
        plausible=(0.5, 4.0))
    school_distance_km: dict = param(
        {"primary": 0.3, "secondary": 0.7},
        "[X] assumption, a stated range: the distance over which a school's appeal falls by one unit of a family's "
        "own taste (Gumbel); with these about half of pupils attend their nearest school (sim.school_choice; Allen "
        "2007, Urban Studies 44(4): about 50% of secondary pupils at the school proximity alone would give them; EPI "
        "2020: about half of all pupils at their nearest), and the median secondary journey is about the DfE's 1.1 "
        "miles (parliamentary answer, 28 October 2016)", low=0.05, high=20, unit="km",
        plausible={"primary": (0.15, 0.6), "secondary": (0.35, 1.4)})
    school_faith_pull: float = param(
        1.0, "[X] assumption, a stated range: how much a family of a faith prefers a school of it, in units of "
        "taste; with faith schools' priority to their faith it gives faith schools mostly of their faith (about "
        "70% of pupils in Catholic schools are Catholic: Catholic Education Service census 2012/13)", low=0,
        high=10, unit="utility", plausible=(0.0, 2.0))
    school_choices: int = param(6, "the preferences a family may name: the School Admissions Code 2021 (2.22) "
                                "requires at least three; most councils, London's among them, allow six", low=1,
                                high=20, unit="schools")
    school_spare_places: float = param(0.05, "assumption: places beyond the pupils at week 0, so that every pupil "
                                       "has one as the area grows (DfE school capacity statistics 2022: about 10% of "
                                       "primary and 9% of secondary places unfilled nationally)", low=0, high=0.5)
    worship_attendance: dict = param(
        {"christian": 0.15, "muslim": 0.45, "hindu": 0.35, "sikh": 0.35, "buddhist": 0.2, "jewish": 0.25,
         "other": 0.25, "no_religion": 0.0, "not_answered": 0.0},
        "[X] assumption, a stated range: adults of each religion who attend a place of worship of it regularly (at "
        "least monthly); the ordering follows the Citizenship Survey 2008-09 (practising their religion: Muslims "
        "80%, Hindus 70%, Sikhs and Buddhists 66%, Christians 32%) and the Millennium Cohort Study's parents (weekly: "
        "Muslim fathers 57%, Sikh mothers 32%, Catholic 31%, other Christian 13%)", low=0, high=1,
        plausible={"christian": (0.08, 0.3), "muslim": (0.25, 0.7), "hindu": (0.15, 0.5), "sikh": (0.15, 0.5)})
    congregation_size: dict = param(
        {"christian": 80.0, "muslim": 500.0, "hindu": 300.0, "sikh": 400.0, "buddhist": 60.0, "jewish": 100.0,
         "other": 60.0, "no_religion": 1.0, "not_answered": 1.0},
        "[X] assumption, a stated range: regular attenders of one place of worship (a parish church tens, a "
        "mosque, mandir or gurdwara hundreds): sets how many places each faith has, and so how far a congregation "
        "draws from", low=1, high=10_000, unit="people",
        plausible={"christian": (40.0, 160.0), "muslim": (200.0, 1000.0)})
    venue_share: float = param(0.6444, "assumption: adults who attend no place of worship but a community venue "
                               "(a faith or community group's activities, a club, a centre) weekly", low=0, high=1)
    venue_mixed_share: float = param(0.5788, "assumption: share of venue-goers whose venue is mixed (open to all "
                                     "groups in the neighbourhood) rather than of their own group", low=0, high=1,
        plausible=(0.1, 0.7))
    attitude_mean: float = param(0.4114, "assumption: mean intergroup attitude on 0-1 before contact effects "
                                 "(a feeling-thermometer scale rescaled)", low=0, high=1)
    attitude_sd: float = param(0.06466, "assumption: spread of individual attitude set points", low=0, high=0.5)


# ---------------------------------------------------------------------------------------------------------------
# the generator


class _Draft(types.SimpleNamespace):
    """The population as it is being built: each step of :func:`generate` reads what earlier steps left here."""


def generate(area: dict, scale: float, params: PopulationParams, rng: np.random.Generator,
             headroom: float = 0.06) -> Population:
    """Build the residents of ``area`` (an area config mapping) at ``scale`` of the real population: one named
    step per Census table or fitted structure, in a fixed order (the draws of each step come from ``rng`` in
    turn, so the order is part of the result)."""
    d = _Draft(area=area, census=area["census"], scale=scale, params=params, rng=rng, headroom=headroom)
    for build_step in (households.households, households.ethnic_groups, households.msoas, households.residents,
                       households.religions, characteristics.ages, characteristics.sex, characteristics.born_abroad,
                       characteristics.language, characteristics.economic_status):
        build_step(d)
    columns = {
        "alive": np.arange(d.capacity) < d.n, "age": d.age, "female": d.female,
        "group": np.concatenate([d.det_to_model[d.det[:d.n]], np.zeros(d.capacity - d.n, dtype=np.int8)]),
        "detailed": d.det, "born_abroad": d.born_abroad, "years_in_uk": d.years_in_uk.astype(np.float32),
        "main_english": d.main_english, "english": d.english, "english_entry": d.english.copy(), "status": d.status,
        "household": d.household, "neighbourhood": d.neighbourhood, "religion": d.religion,
        "employ_trait": d.employ_trait,
    }  # (every other declared column starts at its declared value: workplaces, schools, venues and attitudes are
    # set next)
    pop = Population(area=area["name"], groups=d.model_groups, household_neighbourhood=d.hh_neigh,
                     household_communal=d.hh_communal, n_neighbourhoods=d.n_neigh, ons_code=area["ons_code"],
                     household_lsoa=d.hh_lsoa,
                     columns=columns)
    assign_settings(pop, params, rng)
    set_attitude_points(pop, params, rng)
    return pop


def assign_settings(pop: Population, params: PopulationParams, rng: np.random.Generator) -> None:
    """Workplaces, schools and community venues, drawn from neighbourhoods so segregation carries into them."""
    alive = np.flatnonzero(pop.alive)
    nn = pop.n_neighbourhoods
    # workplaces: a team in the worker's own neighbourhood or elsewhere; teams sort partly by group (and more for
    # residents with little English, who find work through their own group)
    workers = alive[pop.status[alive] == EMPLOYED]
    local = rng.random(len(workers)) < params.work_local_share
    wn = np.where(local, pop.neighbourhood[workers], _work_msoa(pop, workers, params, rng))
    poor = poor_english(pop.main_english[workers], pop.english[workers])
    sd = params.work_sorting * np.where(poor, 0.3, 1.0)
    key = pop.group[workers] + sd * rng.normal(size=len(workers))
    # by neighbourhood, then key (lexsort((key, wn)) in two quicker sorts: its order whenever no two workers have
    # the same neighbourhood and key, the only case where sorts can differ, which falls back to lexsort itself)
    order = np.argsort(key)
    order = order[np.argsort(wn[order].astype(np.int16), kind="stable")]  # neighbourhood ids fit int16
    wn_sorted = wn[order]
    if np.any((wn_sorted[1:] == wn_sorted[:-1]) & (key[order[1:]] == key[order[:-1]])):
        order = np.lexsort((key, wn))
        wn_sorted = wn[order]
    team = np.zeros(len(workers), dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, wn_sorted[1:] != wn_sorted[:-1]])
    pos = np.arange(len(workers)) - np.repeat(starts, np.diff(np.r_[starts, len(workers)]))
    team_in_n = pos // params.work_team_size
    ntn = np.zeros(nn, dtype=np.int64)
    np.maximum.at(ntn, wn_sorted, team_in_n + 1)
    offs = np.concatenate([[0], np.cumsum(ntn)[:-1]])
    team[order] = offs[wn_sorted] + team_in_n
    pop.workplace[workers] = team
    pop.n_workplaces = int(ntn.sum())
    assign_schools(pop, params, rng)
    assign_venues(pop, alive, params, rng)


def _work_msoa(pop: Population, workers: np.ndarray, params: PopulationParams, rng) -> np.ndarray:
    """The MSOA of each worker's workplace away from home: nearer MSOAs and busier ones more likely (a gravity
    model: residents as the measure of size, for want of workplace counts per MSOA, and a weight falling by e for
    every ``work_distance_km``)."""
    sh = shapes(pop.ons_code)
    w = places(pop.ons_code).residents[None, :] * np.exp(-sh.distances() / params.work_distance_km)
    np.fill_diagonal(w, 0.0)  # (away from home: the home MSOA is the local share's)
    nz = pop.n_neighbourhoods
    cum = np.cumsum(w / np.maximum(w.sum(axis=1, keepdims=True), 1e-300), axis=1)
    home = pop.neighbourhood[workers].astype(np.int64)
    # each home's row of cumulative weights, offset by the row's number so all rows make one increasing list
    flat = (cum + np.arange(nz)[:, None]).ravel()
    pick = np.searchsorted(flat, home + rng.random(len(workers)), side="right") - home * nz
    return np.clip(pick, 0, nz - 1)


def assign_schools(pop: Population, params: PopulationParams, rng: np.random.Generator) -> None:
    """Pupils to the area's real schools (:mod:`sim.school_choice`): places in proportion to each school's roll."""
    pupil = pupils(pop)
    phase = school_phase(pop.age)
    by_phase = np.bincount(phase[pupil], minlength=3)
    pop.schools = SchoolSetting.make(pop.ons_code, by_phase, params.school_spare_places, int(rng.integers(2**62)))
    pop.school[:] = place_pupils(pop, params, admissions=True)
    pop.n_schools = pop.schools.n


def place_pupils(pop: Population, params: PopulationParams, previous=None, admissions=False) -> np.ndarray:
    """Each resident's school, from each pupil's school before (``previous``; None: nobody has one yet), in the
    year's admissions round or in-year (:func:`sim.school_choice.place`)."""
    prev = np.full(pop.capacity, NO_SETTING, dtype=np.int32) if previous is None else previous
    return place(prev, pupils(pop), pop.age, pop.household, home_lsoa(pop), pop.religion, pop.female,
                 pop.schools, params, admissions)


def home_lsoa(pop: Population) -> np.ndarray:
    """Each resident's LSOA (index), by their household's (0 for an unused row)."""
    return pop.household_lsoa[np.maximum(pop.household, 0)]


def pupils(pop: Population) -> np.ndarray:
    """Who goes to school: live children and students aged 4-17."""
    return pop.alive & (pop.age >= 4) & (pop.age < 18) & ((pop.status == CHILD) | (pop.status == STUDENT))


def set_attitude_points(pop: Population, params: PopulationParams, rng: np.random.Generator) -> None:
    """Individual attitude set points (before contact); the model moves attitude to its contact fixed point."""
    a = pop.alive
    pop.attitude_set[a] = np.clip(rng.normal(params.attitude_mean, params.attitude_sd, size=int(a.sum())), 0, 1)
    pop.attitude[a] = pop.attitude_set[a]
