"""Who each resident is, the build steps of :func:`sim.population.generate` after the households: age (TS007 of
each MSOA), sex (TS008), born abroad and years in the UK (TS004, TS015: the area's, as neither is published per
MSOA; where the born abroad live follows from their ethnic groups), main language and English proficiency (TS029
of each MSOA) and economic status (TS066, employment by ethnic group as in RM104: the area's; TS065's unemployment
history per MSOA is left to check it against). Each step reads and extends the draft population
``d`` (``population._Draft``)."""

from __future__ import annotations

import numpy as np

from sim.census import CENSUS_YEAR, DETAILED_GROUPS, RM104_CATEGORIES, RM104_CATEGORY, group_value
from sim.columns import CHILD, EMPLOYED, HOME, OTHER, RETIRED, SICK, STUDENT, UNEMPLOYED, poor_english
from sim.fitting import choose_exact, choose_exact_among, integerise
from sim.labour import employment_logit

_SOUTH_ASIAN_FEMALE_GAP = ("asian_pakistani", "asian_bangladeshi")


def ages(d) -> None:
    """Ages (TS007 of each MSOA): children in child slots of households, older ages to groups with older
    profiles, MSOA by MSOA so each MSOA's ages are its own."""
    n, nhp = d.n, d.n_hh_people
    d.age = np.zeros(d.capacity, dtype=np.float32)
    # child slots: never a household head; 2-person households rarely (lone parents), larger ones mostly
    size_of = np.zeros(n, dtype=np.int32)
    size_of[:nhp] = np.repeat(d.hh_size, d.hh_size)
    w = np.zeros(n)
    w[:nhp] = np.where(d.slot[:nhp] == 0, 0.0,
                       np.where(d.slot[:nhp] == 1, np.where(size_of[:nhp] == 2, d.params.lone_parent_weight, 0.05),
                                1.0))  # fmt: skip
    for z, rows in enumerate(_rows_by_msoa(d)):
        _ages_in(d, rows, d.places.age[z], w[rows], size_of[rows])


def _rows_by_msoa(d) -> list[np.ndarray]:
    """The residents (rows) of each MSOA, in row order."""
    by = np.argsort(d.neighbourhood[:d.n], kind="stable")
    return np.split(by, np.cumsum(np.bincount(d.neighbourhood[:d.n], minlength=d.n_neigh))[:-1])


def _ages_in(d, rows, age_counts, w, size_of) -> None:
    """Ages of these residents from their MSOA's single years (``age_counts``), given each one's child-slot
    weight ``w``: a pool of ages matching the counts is dealt to child slots and adults."""
    rng, n = d.rng, len(rows)
    ages_pool = np.repeat(np.arange(len(age_counts)), integerise(age_counts, n, rng)).astype(np.float32)
    ages_pool += rng.random(n).astype(np.float32)  # position within the year of age
    child_pool = ages_pool[ages_pool < 18]
    adult_pool = ages_pool[ages_pool >= 18]
    n_child = min(len(child_pool), int((w > 0).sum()))
    is_child_slot = choose_exact(np.log(np.maximum(w, 1e-12)), n_child, rng, eligible=w > 0)
    child_rows = np.flatnonzero(is_child_slot)
    d.age[rows[child_rows]] = rng.permutation(child_pool)[: len(child_rows)]
    adult_rows = np.flatnonzero(~is_child_slot)
    adult_ages = np.concatenate([adult_pool, rng.permutation(child_pool)[len(child_rows):]])
    # older ages go to groups with older profiles and to one-person households (rank matching on a noisy key)
    shift = np.array([group_value(d.params.older_group_shift, g) for g in DETAILED_GROUPS])
    key = shift[d.det[rows[adult_rows]]] + 0.6 * (size_of[adult_rows] == 1) + rng.normal(size=len(adult_rows))
    d.age[rows[adult_rows[np.argsort(key)]]] = np.sort(adult_ages)


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
    """Main language and proficiency (TS029 of each MSOA, residents aged 3+); children under 3 share their
    household's language situation: main language English unless the household's head speaks another language
    (they are outside TS029 and every indicator that uses it)."""
    n, params, age, det = d.n, d.params, d.age, d.det
    three_plus = np.zeros(d.capacity, dtype=bool)
    three_plus[:n] = age[:n] >= 3
    lang_logit = np.array([params.other_language_logit[g] for g in DETAILED_GROUPS])
    score = lang_logit[det[:n]] + params.other_language_born_abroad * d.born_abroad[:n]
    main_english = np.ones(d.capacity, dtype=bool)
    english = np.full(d.capacity, 4.0, dtype=np.float32)
    gap_groups = [d.det_index[g] for g in _SOUTH_ASIAN_FEMALE_GAP]
    for z, rows in enumerate(_rows_by_msoa(d)):
        counts = d.places.proficiency[z]  # main English, very well, well, not well, not at all
        rows3 = rows[three_plus[rows]]
        n_other = int(round(counts[1:].sum() / max(counts.sum(), 1) * len(rows3)))
        ol = rows3[choose_exact(score[rows3], n_other, d.rng)]
        main_english[ol] = False
        latent = (params.english_age * np.maximum(age[ol] - 30.0, 0.0) / 10.0
                  + params.english_female_gap * (d.female[ol] & np.isin(det[ol], gap_groups))
                  + params.english_years_in_uk * np.minimum(d.years_in_uk[ol], 30.0)
                  + params.english_born_uk * ~d.born_abroad[ol]
                  + d.rng.normal(size=len(ol)))  # fmt: skip
        per_level = integerise(counts[:0:-1], len(ol), d.rng)  # not at all, not well, well, very well
        level = np.repeat(np.arange(4), per_level)
        within = np.concatenate([(np.arange(c) + 0.5) / c for c in per_level if c > 0]) if len(ol) else np.zeros(0)
        english[ol[np.argsort(latent)]] = (level + within).astype(np.float32)
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
