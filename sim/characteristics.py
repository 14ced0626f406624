"""Who each resident is, the build steps of :func:`sim.population.generate` after the households: age (TS007),
sex (TS008), born abroad and years in the UK (TS004, TS015), main language and English proficiency (TS029) and
economic status (TS066, employment by ethnic group as in RM104). Each step reads and extends the draft population
``d`` (``population._Draft``)."""

from __future__ import annotations

import numpy as np

from sim.census import CENSUS_YEAR, DETAILED_GROUPS, RM104_CATEGORIES, RM104_CATEGORY, group_value
from sim.columns import CHILD, EMPLOYED, HOME, OTHER, RETIRED, SICK, STUDENT, UNEMPLOYED, poor_english
from sim.fitting import choose_exact, choose_exact_among, integerise
from sim.labour import employment_logit

_SOUTH_ASIAN_FEMALE_GAP = ("asian_pakistani", "asian_bangladeshi")


def ages(d) -> None:
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
    shift = np.array([group_value(params.older_group_shift, g) for g in DETAILED_GROUPS])
    key = shift[d.det[adult_rows]] + 0.6 * (size_of[adult_rows] == 1) + rng.normal(size=len(adult_rows))
    age[adult_rows[np.argsort(key)]] = np.sort(adult_ages)
    d.age = age


def sex(d) -> None:
    """Sex (TS008): the exact female count."""
    sex = d.census["sex"]
    n_female = int(round(sex["female"] / (sex["female"] + sex["male"]) * d.n))
    d.female = np.zeros(d.capacity, dtype=bool)
    d.female[:d.n] = choose_exact(np.zeros(d.n), n_female, d.rng)


def born_abroad(d) -> None:
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


def language(d) -> None:
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


def economic_status(d) -> None:
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
        pick = choose_exact_among(n, rows, score(rows).astype(float), target[key], rng)
        status[:n][pick] = code
        rest &= ~pick
    d.status = status
