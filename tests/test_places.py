"""The real places: each area's MSOAs as published (data/msoa2021), and a synthetic population that lands on each
MSOA's own tables. The thresholds are about 1.5 times what five areas x three seeds gave at a tenth of the
residents (docs/places.md has the figures at 1:1); a population placed without its MSOAs' tables (households at
random) misses the ethnic groups by about half of all residents."""

import numpy as np
import pytest

from sim.config import load_area
from sim.places import places
from sim.places.geometry import shapes
from sim.places.margins import dissimilarity, margins
from sim.population import PopulationParams, generate

AREAS = {"blackburn_with_darwen": 18, "bradford": 63, "peterborough": 22, "walsall": 39, "waltham_forest": 28}


@pytest.mark.parametrize("name, msoas", AREAS.items())
def test_each_area_has_its_msoas_and_their_tables(name, msoas):
    area = load_area(name)
    pl = places(area["ons_code"])
    assert pl.n == msoas and len(set(pl.codes)) == msoas and all(c.startswith("E02") for c in pl.codes)
    # sums of the MSOAs' tables are the area's own (within the ONS's cell-key perturbation)
    for table in (pl.residents, pl.ethnicity, pl.age, pl.religion):
        assert table.sum() == pytest.approx(area["census"]["population"], rel=2e-4)
    assert pl.proficiency.sum() == pytest.approx(area["census"]["proficiency"]["total_3plus"], rel=2e-4)
    s = shapes(area["ons_code"])
    assert len(s.rings) == msoas and (s.area_km2 > 0.1).all()
    assert s.distances().max() < 30  # (km: one local authority)


@pytest.mark.parametrize("name", AREAS)
def test_the_population_lands_on_each_msoas_tables(name):
    area = load_area(name)
    pop = generate(area, 0.1, PopulationParams(), np.random.default_rng(11))
    fit = {r["table"].split(" (")[0]: r["tae_share"] for r in margins(pop)}
    assert fit["residents"] < 0.025
    assert fit["ethnic group"] < 0.06
    assert fit["age"] < 0.03
    assert fit["proficiency in English"] < 0.03
    got, census = dissimilarity(pop)
    assert got == pytest.approx(census, abs=0.01)


def test_households_placed_at_random_would_fail_the_margins():
    """The check above can fail: the same population with its households shuffled across MSOAs misses."""
    area = load_area("bradford")
    pop = generate(area, 0.1, PopulationParams(), np.random.default_rng(11))
    rng = np.random.default_rng(0)
    moved = rng.permutation(pop.household_neighbourhood)
    a = pop.alive
    pop.neighbourhood[a] = moved[pop.household[a]]
    fit = {r["table"].split(" (")[0]: r["tae_share"] for r in margins(pop)}
    assert fit["ethnic group"] > 0.3
    assert dissimilarity(pop)[0] < 0.2


def _dfe_rows(ons_code):
    import csv

    from sim.places import DATA

    with open(DATA / "dfe_schools_2022_23_by_school.csv", newline="") as f:
        return [r for r in csv.DictReader(f) if r["lad21cd"] == ons_code
                and r["phase_type_grouping"] in ("State-funded primary", "State-funded secondary")]


@pytest.mark.parametrize("name", ["walsall", "blackburn_with_darwen"])
def test_every_real_school_exists_with_its_roll_and_takes_pupils(name):
    area = load_area(name)
    pop = generate(area, 0.05, PopulationParams(), np.random.default_rng(3))
    s = pop.schools
    rows = {int(r["urn"]): float(r["headcount of pupils"]) for r in _dfe_rows(area["ons_code"])}
    from sim.places.schools import schools

    real = schools(area["ons_code"])
    assert sorted(real.urn) == sorted(rows) and s.n == len(rows) == pop.n_schools
    assert all(real.roll[i] == round(rows[u]) for i, u in enumerate(real.urn))
    for ph in (1, 2):  # places in proportion to the real roll (to rounding up), at least one a school
        m = s.phase == ph
        ratio = s.capacity[m] / real.roll[m]
        assert (s.capacity[m] >= 1).all() and np.ptp(ratio[real.roll[m] >= 200]) < 0.02
    from sim.population import pupils

    p = pupils(pop) & (pop.school >= 0)
    assert (pupils(pop) & (pop.school < 0)).sum() == 0  # at week 0 every pupil has a place
    counts = np.bincount(pop.school[p], minlength=s.n)
    assert (counts <= s.capacity).all()
    assert (counts > 0).mean() > 0.9  # (nearly every school has pupils even at 5% of residents)
    # a pupil's school is of their phase and takes their sex
    assert (s.phase[pop.school[p]] == np.where(pop.age[p] < 11, 1, 2)).all()
    assert not ((s.sex[pop.school[p]] == 1) & ~pop.female[p]).any()
    assert not ((s.sex[pop.school[p]] == 2) & pop.female[p]).any()


def test_deferred_acceptance_gives_a_stable_allocation_with_faith_first():
    """No pupil and school would both rather have each other (no blocking pair), on random instances; and a
    faith school that is full takes its own faith's applicants before closer others."""
    from sim.school_choice import deferred_acceptance

    rng = np.random.default_rng(5)
    for _ in range(20):
        m, ns, k = 60, 6, 4
        pref = np.array([rng.permutation(ns)[:k] for _ in range(m)])
        prio_of = rng.random((m, ns))  # school s's rank of pupil i (lower first)
        priority = prio_of[np.arange(m)[:, None], pref]
        cap = rng.integers(0, 12, ns)
        got = deferred_acceptance(pref, priority, cap)
        assert (np.bincount(got[got >= 0], minlength=ns) <= cap).all()
        for i in range(m):
            better = pref[i] if got[i] < 0 else pref[i][: list(pref[i]).index(got[i])]
            for s in better:  # a school i prefers: full, with everyone it holds ranked above i
                held = np.flatnonzero(got == s)
                assert len(held) == cap[s] and (prio_of[held, s] < prio_of[i, s]).all()
    pref = np.array([[0, 1]] * 3)
    dist = np.array([[0.1, 1.0], [0.2, 1.0], [5.0, 1.0]])
    faith_first = np.array([[False, False], [False, False], [True, False]])
    got = deferred_acceptance(pref, dist + 1e6 * ~faith_first, np.array([2, 5]))
    assert got[2] == 0 and sorted(got[:2]) == [0, 1]  # the far pupil of the faith in; the farther other out


def test_the_outcomes_per_msoa_add_up_to_the_areas_indicators():
    """msoa.csv's counts are the indicators' own, split by MSOA: at week 0 and at the last week they sum to the
    run's counts (residents, poor English, employed 16-64, bridging ties)."""
    from sim.model import IntegrationModel
    from sim.places.outcomes import table

    m = IntegrationModel(area="walsall", scale=0.02, seed=3, weeks=6, scenario="balanced")
    m.run()
    t = table(m.pop, m.msoa_counts)
    ts = m.timeseries()
    assert sorted(t.week.unique()) == [0, 6] and t.msoa.nunique() == 39
    for week in (0, 6):
        got = t[t.week == week].sum(numeric_only=True)
        row = ts[ts.week == week].iloc[0]
        assert got.residents == row.n_residents and got.poor_english == row.n_poor_english
        assert got.employed_16_64 == row.n_employed_16_64
        assert got.bridging_tie_ends == pytest.approx(row.n_bridging_ties)
        assert got.tie_ends == pytest.approx(row.ties_per_resident * row.n_residents / 2)


def test_places_of_worship_are_congregations_of_one_faith_drawn_across_neighbourhoods():
    """Each place of worship gathers adults of one religion; their number is about the same at any scale; a
    mosque draws from more than one MSOA in Bradford; nobody of no religion attends one."""
    from sim.places import RELIGIONS

    area = load_area("bradford")
    small = generate(area, 0.05, PopulationParams(), np.random.default_rng(2))
    big = generate(area, 0.25, PopulationParams(), np.random.default_rng(2))
    assert abs(small.n_worship - big.n_worship) <= 0.05 * big.n_worship
    at = big.alive & (big.venue >= 0) & (big.venue < big.n_worship)
    faiths = np.zeros((big.n_worship, len(RELIGIONS)), dtype=np.int64)
    np.add.at(faiths, (big.venue[at], big.religion[at]), 1)
    assert ((faiths > 0).sum(axis=1) <= 1).all()  # one faith a place
    assert not (at & (big.religion == RELIGIONS.index("no_religion"))).any()
    muslim = faiths[:, RELIGIONS.index("muslim")] > 0
    msoas = [len(np.unique(big.neighbourhood[at & (big.venue == v)])) for v in np.flatnonzero(muslim)]
    assert max(msoas) > 1
    community = big.alive & (big.venue >= big.n_worship)
    assert community.any() and (big.venue[community] < big.n_venues).all()
