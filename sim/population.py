"""Synthetic residents of one pilot area, built from its Census 2021 marginals.

The population is columnar: one numpy array per attribute, one row per resident. Every marginal the Census gives
is met by exact counts (scaled and rounded so they sum correctly); the joint structure the tables do not give
(who is born abroad, who speaks little English, who works) comes from latent scores whose coefficients are listed
in :class:`PopulationParams` with their sources. Selecting "the k residents with the highest score plus logistic
noise" is a threshold model: each resident is chosen with probability logistic(score - c), so the same score later
gives the weekly rules their stationary probabilities.
"""

from __future__ import annotations

import dataclasses
import types

import numba
import numpy as np

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
from sim.labour import employment_logit
from sim.params import param

# The 19 detailed ethnic groups of TS021, in a fixed order (the area configs use these names).
DETAILED_GROUPS = (
    "white_british", "white_irish", "white_gypsy_traveller", "white_roma", "white_other",
    "mixed_white_asian", "mixed_white_black_african", "mixed_white_black_caribbean", "mixed_other",
    "asian_indian", "asian_pakistani", "asian_bangladeshi", "asian_chinese", "asian_other",
    "black_african", "black_caribbean", "black_other", "other_arab", "other_any",
)  # fmt: skip
# RM104's 8-category grouping of each detailed group (employment by ethnic group is published at this level).
RM104_CATEGORY = {
    "white_british": "white_british", "white_irish": "white_irish", "white_gypsy_traveller": "white_other",
    "white_roma": "white_other", "white_other": "white_other", "mixed_white_asian": "mixed",
    "mixed_white_black_african": "mixed", "mixed_white_black_caribbean": "mixed", "mixed_other": "mixed",
    "asian_indian": "asian", "asian_pakistani": "asian", "asian_bangladeshi": "asian", "asian_chinese": "asian",
    "asian_other": "asian", "black_african": "black", "black_caribbean": "black", "black_other": "black",
    "other_arab": "other", "other_any": "other",
}  # fmt: skip
RM104_CATEGORIES = ("asian", "black", "mixed", "white_british", "white_irish", "white_other", "other")

CENSUS_YEAR = 2021.2  # 21 March 2021

_SOUTH_ASIAN_FEMALE_GAP = ("asian_pakistani", "asian_bangladeshi")


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
    english_age: float = param(-0.4539, "assumption: older migrants speak less English (ONS 2011 proficiency by "
                               "age ordering)", low=-2, high=0, unit="latent sd per decade over 30")
    english_female_gap: float = param(-1.353, "assumption (size not sourced; the ordering is): Pakistani and "
                                      "Bangladeshi women speak less English than men of the same groups (Census 2011 "
                                      "proficiency by sex, e.g. Tower Hamlets: Bangladeshi women 35% vs men 18% not "
                                      "proficient); TS029's totals are met whatever its value",
                                      low=-3, high=0, unit="latent sd")
    english_years_in_uk: float = param(0.03377, "assumption: proficiency rises with residence (ONS 2011 by year of "
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
    employment_good_english: float = param(-0.2478, "ONS 2011 Census analysis (2014): 65.4% employed if well/very "
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
    neighbourhood_minority_position: dict = param(
        {"white_british": 0.0, "white_irish": 0.2, "white_other": 0.5, "minority_default": 1.0},
        "assumption: where groups live relative to each other on a one-dimensional residential axis; the spread "
        "is scaled so the area's dissimilarity index is met", low=-3, high=3,
        shape=True)
    work_local_share: float = param(0.4, "assumption: share of workers whose workplace is in their own "
                                    "neighbourhood", low=0, high=1)
    work_team_size: int = param(12, "assumption: people one works with closely", low=2, high=200, unit="people")
    work_sorting: float = param(3.059, "assumption: how strongly workplaces sort by group (sd of noise relative "
                                "to group key; smaller = more segregated)", low=0.01, high=100,
        plausible=(0.5, 4.0))
    school_size_primary: int = param(300, "assumption: ~2-form-entry primary (DfE schools census typical size)",
                                     low=20, high=3000, unit="pupils")
    school_size_secondary: int = param(1000, "assumption: typical English secondary school size (DfE)",
                                       low=50, high=5000, unit="pupils")
    venue_share: float = param(0.922, "assumption: adults who attend a community venue (faith or community group) "
                               "weekly", low=0, high=1)
    venue_mixed_share: float = param(0.6456, "assumption: share of venue-goers whose venue is mixed (open to all "
                                     "groups in the neighbourhood) rather than of their own group", low=0, high=1,
        plausible=(0.1, 0.7))
    attitude_mean: float = param(0.6285, "assumption: mean intergroup attitude on 0-1 before contact effects "
                                 "(a feeling-thermometer scale rescaled)", low=0, high=1)
    attitude_sd: float = param(0.09839, "assumption: spread of individual attitude set points", low=0, high=0.5)




# ---------------------------------------------------------------------------------------------------------------
# helpers


def integerise(weights, total: int, rng: np.random.Generator) -> np.ndarray:
    """Whole counts proportional to ``weights`` that sum exactly to ``total`` (largest remainders, random ties)."""
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = w / w.sum() * total
    base = np.floor(exact).astype(np.int64)
    short = int(total - base.sum())
    if short:
        order = np.lexsort((rng.random(len(w)), -(exact - base)))
        base[order[:short]] += 1
    return base


def choose_exact(score: np.ndarray, k: int, rng: np.random.Generator, eligible=None) -> np.ndarray:
    """Boolean mask of exactly ``k`` rows: the top ``k`` of score + logistic noise among ``eligible`` rows."""
    if eligible is None:
        return _choose_exact_among(len(score), None, score, k, rng)
    idx = np.flatnonzero(eligible)
    return _choose_exact_among(len(score), idx, score[idx], k, rng)


def _choose_exact_among(n: int, idx, score: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """:func:`choose_exact` among rows ``idx`` of ``n`` (None: all of them), given the scores of those rows alone
    (worked out for them, when it is the same elementwise arithmetic, rather than for everyone and then picked)."""
    mask = np.zeros(n, dtype=bool)
    k = int(min(max(k, 0), n if idx is None else len(idx)))
    if k == 0:
        return mask
    key = score + rng.logistic(size=len(score))
    top = np.argpartition(-key, k - 1)[:k]
    mask[top if idx is None else idx[top]] = True
    return mask


def dissimilarity(neighbourhood: np.ndarray, in_group: np.ndarray, n_neigh: int) -> float:
    """Index of dissimilarity D = 1/2 sum |a_i/A - b_i/B| across neighbourhoods."""
    a = np.bincount(neighbourhood[in_group], minlength=n_neigh)
    b = np.bincount(neighbourhood[~in_group], minlength=n_neigh)
    return dissimilarity_of_counts(a, b)


def dissimilarity_of_counts(a: np.ndarray, b: np.ndarray) -> float:
    """The index of dissimilarity from the two groups' counts in each unit."""
    a, b = a.astype(float), b.astype(float)
    if a.sum() == 0 or b.sum() == 0:
        return 0.0
    return float(0.5 * np.abs(a / a.sum() - b / b.sum()).sum())


def _lookup(table: dict, name: str) -> float:
    return float(table.get(name, table.get("minority_default", 0.0)))


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
    for build_step in (_households, _ethnic_groups, _residents, _ages, _sex, _born_abroad, _language,
                       _economic_status, _neighbourhoods):
        build_step(d)
    columns = {
        "alive": np.arange(d.capacity) < d.n, "age": d.age, "female": d.female,
        "group": np.concatenate([d.det_to_model[d.det[:d.n]], np.zeros(d.capacity - d.n, dtype=np.int8)]),
        "detailed": d.det, "born_abroad": d.born_abroad, "years_in_uk": d.years_in_uk.astype(np.float32),
        "main_english": d.main_english, "english": d.english, "english_entry": d.english.copy(), "status": d.status,
        "household": d.household, "neighbourhood": d.neighbourhood, "employ_trait": d.employ_trait,
    }  # (every other declared column starts at its declared value: workplaces, schools, venues and attitudes are
    # set next)
    pop = Population(area=area["name"], groups=d.model_groups, household_neighbourhood=d.hh_neigh,
                     household_communal=d.hh_communal, n_neighbourhoods=d.n_neigh, columns=columns)
    assign_settings(pop, params, rng)
    set_attitude_points(pop, params, rng)
    return pop


def _households(d) -> None:
    """Households and their sizes (TS017); residents of communal establishments (TS001)."""
    census, rng = d.census, d.rng
    d.model_groups = tuple(d.area["model_groups"]) + ("other",)
    d.det_index = {g: i for i, g in enumerate(DETAILED_GROUPS)}
    d.det_to_model = np.array([d.model_groups.index(g) if g in d.model_groups else len(d.model_groups) - 1
                               for g in DETAILED_GROUPS], dtype=np.int8)  # fmt: skip
    d.n_total = int(round(census["population"] * d.scale))
    d.n_communal = int(round(census["communal_residents"] * d.scale))
    d.n_hh_people = d.n_total - d.n_communal
    hh_counts = np.asarray(census["household_size"], dtype=float)
    sizes = np.arange(1, 9)
    # mean size of "8 or more" households implied by the residents who live in households
    resid_8 = census["population"] - census["communal_residents"] - (hh_counts[:7] * sizes[:7]).sum()
    mean8 = float(np.clip(resid_8 / max(hh_counts[7], 1), 8.0, 12.0))
    hh_n = integerise(hh_counts, int(round(hh_counts.sum() * d.scale)), rng)
    hh_size = np.repeat(sizes, hh_n)
    big = hh_size == 8
    # spread 8+ households over 8..12 people so their mean is mean8, then fix the resident total exactly
    hh_size[big] = 8 + rng.poisson(mean8 - 8.0, size=big.sum()).clip(0, 6)
    _adjust_sizes(hh_size, d.n_hh_people - int(hh_size.sum()), rng)
    d.hh_size, d.n_hh = hh_size, len(hh_size)


def _ethnic_groups(d) -> None:
    """Ethnic group per household (TS021), larger households tilted to groups with larger households."""
    rng = d.rng
    eth_counts = np.array([d.census["ethnicity"][g] for g in DETAILED_GROUPS], dtype=float)
    d.persons_by_det = integerise(eth_counts, d.n_total, rng)
    communal_by_det = integerise(eth_counts, d.n_communal, rng)
    communal_by_det = np.minimum(communal_by_det, d.persons_by_det)
    communal_by_det += integerise(d.persons_by_det - communal_by_det, d.n_communal - communal_by_det.sum(), rng)
    d.communal_by_det = communal_by_det
    d.hh_det = _households_by_group(d.hh_size, d.persons_by_det - communal_by_det, d.params, d.rng)


def _residents(d) -> None:
    """One row per person: household rows first, then communal residents (groups of about 50 per establishment,
    each its own non-private household id); spare rows for growth."""
    n, n_hh, hh_size = d.n_total, d.n_hh, d.hh_size
    d.n = n
    d.capacity = capacity = int(np.ceil(n * (1 + d.headroom))) + 16
    household = np.full(capacity, -1, dtype=np.int32)
    household[: d.n_hh_people] = np.repeat(np.arange(n_hh, dtype=np.int32), hh_size)
    d.n_ce = n_ce = max(1, int(np.ceil(d.n_communal / 50))) if d.n_communal else 0
    household[d.n_hh_people:n] = n_hh + (np.arange(d.n_communal) % max(n_ce, 1))
    d.household = household
    d.hh_communal = np.zeros(n_hh + n_ce, dtype=bool)
    d.hh_communal[n_hh:] = True
    det = np.zeros(capacity, dtype=np.int8)
    det[:d.n_hh_people] = np.repeat(d.hh_det, hh_size)
    det[d.n_hh_people:n] = d.rng.permutation(np.repeat(np.arange(len(DETAILED_GROUPS)), d.communal_by_det))
    d.det = det
    d.slot = np.zeros(n, dtype=np.int32)  # position of each person in their household (0 = head)
    d.starts = np.concatenate([[0], np.cumsum(hh_size)[:-1]])
    d.slot[:d.n_hh_people] = np.arange(d.n_hh_people) - np.repeat(d.starts, hh_size)


def _ages(d) -> None:
    """Ages (TS007): children in child slots of households, older ages to groups with older profiles."""
    n, rng, params, nhp = d.n, d.rng, d.params, d.n_hh_people
    age_counts = np.asarray(d.census["age"], dtype=float)
    ages_pool = np.repeat(np.arange(len(age_counts)), integerise(age_counts, n, rng)).astype(np.float32)
    ages_pool += rng.random(n).astype(np.float32)  # position within the year of age
    age = np.zeros(d.capacity, dtype=np.float32)
    child_pool = ages_pool[ages_pool < 18]
    adult_pool = ages_pool[ages_pool >= 18]
    # child slots: never a household head; 2-person households rarely (lone parents), larger ones mostly
    w = np.zeros(n)
    size_of = np.zeros(n, dtype=np.int32)
    size_of[:nhp] = np.repeat(d.hh_size, d.hh_size)
    w[:nhp] = np.where(d.slot[:nhp] == 0, 0.0,
                       np.where(d.slot[:nhp] == 1, np.where(size_of[:nhp] == 2, params.lone_parent_weight, 0.05),
                                1.0))  # fmt: skip
    n_child = min(len(child_pool), int((w > 0).sum()))
    is_child_slot = choose_exact(np.log(np.maximum(w, 1e-12)), n_child, rng, eligible=w > 0)
    child_rows = np.flatnonzero(is_child_slot)
    age[child_rows] = rng.permutation(child_pool)[: len(child_rows)]
    adult_rows = np.flatnonzero(~is_child_slot[:n])
    leftover_children = rng.permutation(child_pool)[len(child_rows):]
    adult_ages = np.concatenate([adult_pool, leftover_children])
    # older ages go to groups with older profiles and to one-person households (rank matching on a noisy key)
    shift = np.array([_lookup(params.older_group_shift, g) for g in DETAILED_GROUPS])
    key = shift[d.det[adult_rows]] + 0.6 * (size_of[adult_rows] == 1) + rng.normal(size=len(adult_rows))
    age[adult_rows[np.argsort(key)]] = np.sort(adult_ages)
    d.age = age


def _sex(d) -> None:
    """Sex (TS008): the exact female count."""
    sex = d.census["sex"]
    n_female = int(round(sex["female"] / (sex["female"] + sex["male"]) * d.n))
    d.female = np.zeros(d.capacity, dtype=bool)
    d.female[:d.n] = choose_exact(np.zeros(d.n), n_female, d.rng)


def _born_abroad(d) -> None:
    """Born abroad (TS004) and years in the UK (TS015 arrival bands)."""
    n, rng, params, census, age = d.n, d.rng, d.params, d.census, d.age
    ab_logit = np.array([params.born_abroad_logit[g] for g in DETAILED_GROUPS])
    score = ab_logit[d.det[:n]] + np.where(age[:n] < 16, params.born_abroad_child, 0.0) + 0.5 * (age[:n] >= 25)
    n_abroad = int(round(census["born_abroad"] / census["population"] * n))
    d.born_abroad = np.zeros(d.capacity, dtype=bool)
    d.born_abroad[:n] = choose_exact(score, n_abroad, rng)
    years_in_uk = age.copy()
    ab_rows = np.flatnonzero(d.born_abroad)
    bands = np.asarray(census["arrival"]["bands"], dtype=float)
    arr_n = integerise(census["arrival"]["counts"], len(ab_rows), rng)
    arrival = np.repeat(bands[:, 0], arr_n) + rng.random(len(ab_rows)) * np.repeat(bands[:, 1] - bands[:, 0] + 1,
                                                                                     arr_n)  # fmt: skip
    residence = np.sort(CENSUS_YEAR - arrival)
    # longer residence goes to older residents (rank matching with noise), never longer than their age
    key = age[ab_rows] + rng.normal(scale=12.0, size=len(ab_rows))
    years_in_uk[ab_rows[np.argsort(key)]] = residence
    years_in_uk[ab_rows] = np.minimum(years_in_uk[ab_rows], age[ab_rows]).astype(np.float32)
    d.years_in_uk = years_in_uk


def _language(d) -> None:
    """Main language and proficiency (TS029, residents aged 3+); children under 3 share their household's
    language situation: main language English unless the household's head speaks another language (they are
    outside TS029 and every indicator that uses it)."""
    n, rng, params, age, det = d.n, d.rng, d.params, d.age, d.det
    prof = d.census["proficiency"]
    three_plus = np.zeros(d.capacity, dtype=bool)
    three_plus[:n] = age[:n] >= 3
    n3 = int(three_plus.sum())
    lang_logit = np.array([params.other_language_logit[g] for g in DETAILED_GROUPS])
    score = lang_logit[det[:n]] + params.other_language_born_abroad * d.born_abroad[:n]
    n_other_lang = int(round(prof["main_english"] and (prof["total_3plus"] - prof["main_english"])
                             / prof["total_3plus"] * n3))  # fmt: skip
    other_lang = choose_exact(score, n_other_lang, rng, eligible=three_plus[:n])
    main_english = np.ones(d.capacity, dtype=bool)
    main_english[:n] = ~other_lang
    english = np.full(d.capacity, 4.0, dtype=np.float32)
    ol = np.flatnonzero(other_lang)
    gap_groups = [d.det_index[g] for g in _SOUTH_ASIAN_FEMALE_GAP]
    latent = (params.english_age * np.maximum(age[ol] - 30.0, 0.0) / 10.0
              + params.english_female_gap * (d.female[ol] & np.isin(det[ol], gap_groups))
              + params.english_years_in_uk * np.minimum(d.years_in_uk[ol], 30.0)
              + params.english_born_uk * ~d.born_abroad[ol]
              + rng.normal(size=len(ol)))  # fmt: skip
    level_counts = np.array([prof["not_at_all"], prof["not_well"], prof["well"], prof["very_well"]], dtype=float)
    per_level = integerise(level_counts, len(ol), rng)
    order = np.argsort(latent)
    level = np.repeat(np.arange(4), per_level)
    within = np.concatenate([(np.arange(c) + 0.5) / c for c in per_level if c > 0]) if len(ol) else np.zeros(0)
    english[ol[order]] = (level + within).astype(np.float32)
    young = np.flatnonzero(~three_plus[:n])
    head_of = np.zeros(n, dtype=np.int64)
    head_of[:d.n_hh_people] = np.repeat(d.starts, d.hh_size)
    head_other = ~main_english[head_of[young]]
    main_english[young] = ~head_other
    english[young] = np.where(head_other, 0.5, 4.0)
    d.main_english, d.english = main_english, english


def _economic_status(d) -> None:
    """Economic status (TS066, aged 16+), with employment by ethnic group following RM104: group offsets are
    fitted, then the exact selection's threshold turns each resident's score into a stationary probability."""
    n, rng, params, age, female = d.n, d.rng, d.params, d.age, d.female
    status = np.full(d.capacity, CHILD, dtype=np.int8)
    poor = poor_english(d.main_english[:n], d.english[:n])
    econ = d.census["economic_activity"]
    adult16 = age[:n] >= 16
    n16 = int(adult16.sum())
    target = {k: int(round(v / econ["total_16plus"] * n16)) for k, v in econ.items() if k != "total_16plus"}
    rm_cat = np.array([RM104_CATEGORIES.index(RM104_CATEGORY[g]) for g in DETAILED_GROUPS])[d.det[:n]]
    rm_target = np.zeros(len(RM104_CATEGORIES))
    for i, c in enumerate(RM104_CATEGORIES):
        e = d.census["employment_by_ethnicity"][c]
        rm_target[i] = e["employed"] / max(e["residents"], 1)  # employed per resident of the category
    residents_by_cat = np.bincount(rm_cat, minlength=len(RM104_CATEGORIES))
    rm_target_n = rm_target * residents_by_cat
    rm_target_n *= target["employed"] / max(rm_target_n.sum(), 1)
    offset = np.zeros(len(RM104_CATEGORIES))
    base = employment_logit(age[:n], female[:n], d.main_english[:n], d.english[:n], 0.0, params)
    # the offsets are fitted on the same draws each round (common random numbers), from the run's own seed: each
    # round is choose_exact(base + offset[rm_cat], employed, a new generator from fit_seed, eligible=adult16),
    # with its logistic noise drawn once and only the eligible rows' scores formed
    fit_seed = rng.bit_generator.seed_seq.spawn(1)[0]
    fit_rows = np.flatnonzero(adult16)
    k_fit = int(min(max(target["employed"], 0), len(fit_rows)))
    fit_noise = np.random.default_rng(fit_seed).logistic(size=len(fit_rows)) if k_fit else None
    base_fit, cat_fit = base[fit_rows], rm_cat[fit_rows]
    for _ in range(12):  # calibrate group offsets so employment by ethnic group follows RM104
        top = (np.argpartition(-(base_fit + offset[cat_fit] + fit_noise), k_fit - 1)[:k_fit] if k_fit
               else np.zeros(0, dtype=np.int64))
        got = np.bincount(cat_fit[top], minlength=len(RM104_CATEGORIES)).astype(float)
        offset += 0.8 * (np.log(np.maximum(rm_target_n, 0.5)) - np.log(np.maximum(got, 0.5)))
    eta = base + offset[rm_cat]
    employed = choose_exact(eta, target["employed"], rng, eligible=adult16)
    status[:n][adult16] = OTHER
    status[:n][employed] = EMPLOYED
    # the threshold c of the exact selection turns scores into probabilities: pi = logistic(eta - c)
    keyed = eta[adult16]
    c = float(np.quantile(keyed, 1 - target["employed"] / max(n16, 1))) if n16 else 0.0
    d.employ_trait = np.zeros(d.capacity, dtype=np.float32)
    d.employ_trait[:n] = (offset[rm_cat] - c).astype(np.float32)
    rest = adult16 & ~employed
    kids_per_hh = np.bincount(d.household[:n][age[:n] < 16], minlength=d.n_hh + d.n_ce)
    hh_has_child = kids_per_hh[d.household[:n]] > 0
    a, fem = age[:n], female[:n]
    for code, key, score in (  # each status's score of rows r (those still without a status)
        (RETIRED, "retired", lambda r: np.where(a[r] >= 66, 6.0, np.where(a[r] >= 60, 2.0,
                                                                          np.where(a[r] >= 50, -1.5, -6.0)))),
        (STUDENT, "student", lambda r: np.where(a[r] < 19, 5.0, np.where(a[r] < 25, 2.5,
                                                                         np.where(a[r] < 35, -1.0, -5.0)))),
        (HOME, "looking_after_home", lambda r: 2.5 * fem[r] + 1.2 * hh_has_child[r] + 1.0 * poor[r]
         - 2.0 * (a[r] >= 60)),
        (SICK, "long_term_sick", lambda r: np.where((a[r] >= 40) & (a[r] < 66), 1.5, 0.0)),
        (UNEMPLOYED, "unemployed", lambda r: np.where(a[r] < 40, 1.0, 0.0) - 0.3 * fem[r]),
    ):
        rows = np.flatnonzero(rest)
        pick = _choose_exact_among(n, rows, score(rows).astype(float), target[key], rng)
        status[:n][pick] = code
        rest &= ~pick
    d.status = status


def _neighbourhoods(d) -> None:
    """Households to neighbourhoods on a one-dimensional residential axis whose spread of group positions is set
    by bisection so the area's index of dissimilarity is met; communal establishments anywhere."""
    n, n_hh, rng = d.n, d.n_hh, d.rng
    d.n_neigh = n_neigh = int(d.area["neighbourhoods"])
    hh_group_pos = np.array([_lookup(d.params.neighbourhood_minority_position, g) for g in DETAILED_GROUPS])
    largest = d.det_index[d.area["model_groups"][0]]
    hh_det_all = d.det[d.starts[:n_hh]]
    noise = rng.normal(size=n_hh)
    target_d = float(d.area["dissimilarity"])
    # households of the same position on the axis keep the order of their noise at any spread: sorted once (by
    # class of position, then noise), a spread's order is a merge of these few lists (see _place_households)
    _, class_of_group = np.unique(hh_group_pos, return_inverse=True)
    position_class = class_of_group[hh_det_all].astype(np.int16)
    by_class = np.argsort(noise)
    by_class = by_class[np.argsort(position_class[by_class], kind="stable")]
    class_start = np.r_[0, np.cumsum(np.bincount(position_class))]
    pos, noise_by_class = hh_group_pos[hh_det_all][by_class], noise[by_class]
    hh_largest = hh_det_all == largest  # everyone in a household is of its group

    def place(spread):  # x = spread * position + noise, of the households in by_class order
        return _place_households(spread * pos + noise_by_class, by_class, class_start, d.hh_size, hh_largest,
                                 n_neigh)

    lo, hi = 0.0, 20.0
    for _ in range(16):  # bisection on the spread of group positions
        mid = 0.5 * (lo + hi)
        _, in_largest, others = place(mid)
        dis = dissimilarity_of_counts(in_largest, others)
        lo, hi = (mid, hi) if dis < target_d else (lo, mid)
    d.hh_neigh = np.empty(n_hh + d.n_ce, dtype=np.int16)
    d.hh_neigh[:n_hh] = place(0.5 * (lo + hi))[0]
    d.hh_neigh[n_hh:] = rng.integers(0, n_neigh, size=d.n_ce)
    d.neighbourhood = np.zeros(d.capacity, dtype=np.int16)
    d.neighbourhood[:n] = d.hh_neigh[d.household[:n]]


@numba.njit(cache=True, nogil=True)
def _place_households(x, by_class, class_start, size, largest, n_neigh):  # pragma: no cover - compiled
    """Households in the order of a stable sort of their positions (ties by row), filling neighbourhoods of equal
    residents in turn: (each household's neighbourhood, residents of the largest group and of the rest in each
    neighbourhood). ``by_class``: rows grouped by class (``class_start``), in an order within a class in which
    their positions ``x`` (in that order) do not decrease; each class's ties are put back in row order, then the
    classes merged."""
    n = x.shape[0]
    rows = by_class.copy()
    xs = x.copy()
    equal = 0
    for t in range(1, n):
        equal += xs[t] == xs[t - 1]
    for c in range(class_start.shape[0] - 1 if equal else 0):  # (ties are rare: one quick pass to rule them out)
        i = class_start[c]
        while i < class_start[c + 1]:
            j = i + 1
            while j < class_start[c + 1] and xs[j] == xs[i]:
                j += 1
            for t in range(i + 1, j):  # (insertion sort: a tie is a pair or three)
                r = rows[t]
                h = t
                while h > i and rows[h - 1] > r:
                    rows[h] = rows[h - 1]
                    h -= 1
                rows[h] = r
            i = j
    bounds = class_start.copy()
    rows2 = np.empty_like(rows)
    xs2 = np.empty_like(xs)
    while bounds.shape[0] > 2:  # merge neighbouring runs in pairs, by (x, row)
        n_runs = bounds.shape[0] - 1
        new_bounds = np.empty((n_runs + 1) // 2 + 1, dtype=bounds.dtype)
        new_bounds[0] = 0
        for p in range(0, n_runs, 2):
            lo, mid = bounds[p], bounds[p + 1]
            hi = bounds[p + 2] if p + 2 <= n_runs else mid
            i, j, t = lo, mid, lo
            while i < mid and j < hi:
                if xs[j] < xs[i] or (xs[j] == xs[i] and rows[j] < rows[i]):
                    rows2[t], xs2[t] = rows[j], xs[j]
                    j += 1
                else:
                    rows2[t], xs2[t] = rows[i], xs[i]
                    i += 1
                t += 1
            while i < mid:
                rows2[t], xs2[t] = rows[i], xs[i]
                i += 1
                t += 1
            while j < hi:
                rows2[t], xs2[t] = rows[j], xs[j]
                j += 1
                t += 1
            new_bounds[p // 2 + 1] = hi
        rows, rows2 = rows2, rows
        xs, xs2 = xs2, xs
        bounds = new_bounds
    total = max(size.sum(), 1)
    out = np.empty(n, dtype=np.int16)
    a = np.zeros(n_neigh, dtype=np.int64)
    b = np.zeros(n_neigh, dtype=np.int64)
    cum = 0
    q = -n_neigh // total  # (cum - 1) * n_neigh // total, kept up to date without dividing
    for t in range(n):
        r = rows[t]
        cum += size[r]
        v = (cum - 1) * n_neigh
        while (q + 1) * total <= v:
            q += 1
        nb = min(q, n_neigh - 1)
        out[r] = nb
        if largest[r]:
            a[nb] += size[r]
        else:
            b[nb] += size[r]
    return out, a, b


def _adjust_sizes(hh_size: np.ndarray, diff: int, rng) -> None:
    """Add or remove residents from random multi-person households until the total is exact (removing only from
    households of 3 or more, so no household drops below 2)."""
    while diff:
        cand = np.flatnonzero(hh_size >= (3 if diff < 0 else 2))
        take = rng.choice(cand, size=min(abs(diff), len(cand)), replace=False)
        hh_size[take] += np.sign(diff)
        diff -= int(np.sign(diff)) * len(take)


def _households_by_group(hh_size, persons_by_det, params, rng) -> np.ndarray:
    """Detailed group of each household: fit households-by-size x groups to both margins, then round."""
    sizes, counts = np.unique(hh_size, return_counts=True)
    tilt = np.array([_lookup(params.household_size_tilt, g) for g in DETAILED_GROUPS])
    m = np.exp(np.outer(sizes - 1, tilt)) * np.maximum(persons_by_det, 1e-9)[None, :]
    m[:, persons_by_det == 0] = 0
    for _ in range(200):  # iterative fitting: rows = households of each size, columns = persons of each group
        m *= (counts / np.maximum(m.sum(axis=1), 1e-12))[:, None]
        persons = (m * sizes[:, None]).sum(axis=0)
        m *= np.where(persons > 0, persons_by_det / np.maximum(persons, 1e-12), 0)[None, :]
    m *= (counts / np.maximum(m.sum(axis=1), 1e-12))[:, None]
    out = np.empty(len(hh_size), dtype=np.int8)
    for r, s in enumerate(sizes):
        rows = np.flatnonzero(hh_size == s)
        per = integerise(m[r], len(rows), rng)
        out[rng.permutation(rows)] = np.repeat(np.arange(len(DETAILED_GROUPS)), per)
    return out


def assign_settings(pop: Population, params: PopulationParams, rng: np.random.Generator) -> None:
    """Workplaces, schools and community venues, drawn from neighbourhoods so segregation carries into them."""
    alive = np.flatnonzero(pop.alive)
    nn = pop.n_neighbourhoods
    # workplaces: a team in the worker's own neighbourhood or elsewhere; teams sort partly by group (and more for
    # residents with little English, who find work through their own group)
    workers = alive[pop.status[alive] == EMPLOYED]
    local = rng.random(len(workers)) < params.work_local_share
    wn = np.where(local, pop.neighbourhood[workers], rng.integers(0, nn, size=len(workers)))
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
    assign_schools(pop, params)
    assign_venues(pop, alive, params, rng)


def assign_schools(pop: Population, params: PopulationParams) -> None:
    """Pupils by age: primary (4-10) and secondary (11-17) schools cover neighbourhoods in order along the
    residential axis, so school intakes inherit residential segregation; a pupil with an ``intake_pos`` (placed by
    lottery: the mixed-intakes policy) goes to the school at that position instead. Called again as residents age."""
    school, n_schools = school_places(pupils(pop), pop.age, pop.neighbourhood, pop.intake_pos, pop.n_neighbourhoods,
                                      params)
    pop.school[:] = school
    pop.n_schools = int(n_schools[0])


def pupils(pop: Population) -> np.ndarray:
    """Who goes to school: live children and students aged 4-17."""
    return pop.alive & (pop.age >= 4) & (pop.age < 18) & ((pop.status == CHILD) | (pop.status == STUDENT))


def school_places(pupil, age, neighbourhood, intake_pos, n_neighbourhoods: int,
                  params: PopulationParams) -> tuple[np.ndarray, np.ndarray]:
    """(each resident's school or NO_SETTING, [the number of schools]) as :func:`assign_schools` sets them, from
    these arrays alone (``pupil``: :func:`pupils`)."""
    prim = pupil & (age < 11)
    sec = pupil & (age >= 11)
    nn = n_neighbourhoods
    n_prim = max(1, int(round(prim.sum() / params.school_size_primary)))
    n_sec = max(1, int(round(sec.sum() / params.school_size_secondary)))
    new = np.full(len(pupil), NO_SETTING, dtype=np.int32)
    new[prim] = np.minimum(neighbourhood[prim].astype(np.int64) * n_prim // nn, n_prim - 1)
    new[sec] = n_prim + np.minimum(neighbourhood[sec].astype(np.int64) * n_sec // nn, n_sec - 1)
    # pupils placed by lottery (the mixed-intakes policy): their drawn position across the phase's schools
    lot = pupil & (intake_pos >= 0)
    if lot.any():
        pos = intake_pos
        new[lot & prim] = np.minimum((pos[lot & prim] * n_prim).astype(np.int64), n_prim - 1)
        new[lot & sec] = n_prim + np.minimum((pos[lot & sec] * n_sec).astype(np.int64), n_sec - 1)
    return new, np.array([n_prim + n_sec])


def assign_venues(pop: Population, rows: np.ndarray, params: PopulationParams, rng) -> None:
    """Venue-goers attend their own group's venue in the neighbourhood, or the neighbourhood's mixed venue."""
    adults = rows[pop.age[rows] >= 16]
    goes = adults[rng.random(len(adults)) < params.venue_share]
    g = len(pop.groups)
    mixed = rng.random(len(goes)) < params.venue_mixed_share
    pop.venue[goes] = pop.neighbourhood[goes].astype(np.int32) * (g + 1) + np.where(mixed, g, pop.group[goes])
    pop.n_venues = pop.n_neighbourhoods * (g + 1)


def set_attitude_points(pop: Population, params: PopulationParams, rng: np.random.Generator) -> None:
    """Individual attitude set points (before contact); the model moves attitude to its contact fixed point."""
    a = pop.alive
    pop.attitude_set[a] = np.clip(rng.normal(params.attitude_mean, params.attitude_sd, size=int(a.sum())), 0, 1)
    pop.attitude[a] = pop.attitude_set[a]
