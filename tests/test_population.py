"""Week-0 populations reproduce each area's Census 2021 marginals, with the joint structure the evidence shows."""

import numpy as np
import pytest

from sim.config import load_area
from sim.fitting import dissimilarity
from sim.marginals import compare
from sim.places.margins import dissimilarity as msoa_dissimilarity
from sim.population import EMPLOYED, PopulationParams, generate

AREAS = ("blackburn_with_darwen", "bradford", "peterborough", "walsall", "waltham_forest")


def _check_marginals(area_name, scale, seed=1):
    area = load_area(area_name)
    pop = generate(area, scale, PopulationParams(), np.random.default_rng(seed))
    for key, target, got in compare(area, pop, scale):
        if key == "population":
            assert abs(got - target) / target < 0.005, (area_name, key, target, got)
        elif key == "households":
            assert abs(got - target) / target < 0.02, (area_name, key, target, got)
        elif key == "poor_english_3plus":
            assert abs(got - target) < 0.003, (area_name, key, target, got)
        else:  # shares of ethnic groups, age bands, born abroad, employment, sex
            assert abs(got - target) < 0.01, (area_name, key, target, got)
    return area, pop


@pytest.mark.parametrize("area_name", AREAS)
def test_marginals_at_a_tenth(area_name):
    _check_marginals(area_name, 0.1)


@pytest.mark.slow
@pytest.mark.parametrize("area_name", AREAS)
def test_marginals_at_full_scale(area_name):
    area, pop = _check_marginals(area_name, 1.0)
    assert pop.n == pytest.approx(area["census"]["population"], rel=0.005)


@pytest.fixture(scope="module")
def bradford():
    area = load_area("bradford")
    return area, generate(area, 0.1, PopulationParams(), np.random.default_rng(7))


def test_poor_english_concentrated_among_migrants_older_and_women(bradford):
    _, pop = bradford
    a = pop.alive & (pop.age >= 16)
    poor = a & ~pop.main_english & (pop.english < 2)
    assert pop.born_abroad[poor].mean() > 0.75  # most who cannot speak English well were born abroad
    assert pop.born_abroad[poor].mean() > 3 * pop.born_abroad[a].mean()
    other = a & ~pop.main_english  # among those whose main language is not English, older people fare worse
    assert poor[other & (pop.age >= 50)].mean() > poor[other & (pop.age < 50)].mean()
    pak = pop.groups.index("asian_pakistani")
    women, men = a & pop.female & (pop.group == pak), a & ~pop.female & (pop.group == pak)
    assert poor[women].mean() > 1.3 * poor[men].mean()


def test_employment_by_english_and_sex_follows_ons_2011_ordering(bradford):
    _, pop = bradford
    wa = pop.alive & (pop.age >= 16) & (pop.age < 65)
    emp = pop.status == EMPLOYED
    main = wa & pop.main_english
    good = wa & ~pop.main_english & (pop.english >= 2)
    poor = wa & ~pop.main_english & (pop.english < 2)
    r_main, r_good, r_poor = emp[main].mean(), emp[good].mean(), emp[poor].mean()
    assert r_poor < r_good < r_main + 0.05
    assert r_main - r_poor > 0.15  # ONS 2011: 71.9% vs 48.3%
    assert emp[poor & pop.female].mean() < 0.7 * emp[poor & ~pop.female].mean()  # 34.3% vs 68.0%


def test_employment_by_ethnic_group_follows_rm104(bradford):
    area, pop = bradford
    from sim.census import DETAILED_GROUPS, RM104_CATEGORY

    e = area["census"]["employment_by_ethnicity"]
    for cat in ("asian", "white_british"):
        dets = [i for i, g in enumerate(DETAILED_GROUPS) if RM104_CATEGORY[g] == cat]
        m = pop.alive & np.isin(pop.detailed, dets)
        target = e[cat]["employed"] / e[cat]["residents"]
        assert (pop.status[m] == EMPLOYED).mean() == pytest.approx(target, abs=0.015)


def test_residential_segregation_is_the_census_msoas_and_carries_into_schools(bradford):
    _, pop = bradford
    a = pop.alive
    d = dissimilarity(pop.neighbourhood[a], pop.group[a] == 0, pop.n_neighbourhoods)
    got, census = msoa_dissimilarity(pop)  # (the same index, White British against the rest, and the Census's)
    assert got == pytest.approx(census, abs=0.02) and census == pytest.approx(0.595, abs=0.001)
    assert d == pytest.approx(got, abs=1e-9)  # (in Bradford the largest model group is White British)
    pupils = a & (pop.school >= 0)
    d_school = dissimilarity(pop.school[pupils], pop.group[pupils] == 0, pop.n_schools)
    assert d_school > 0.5 * d  # schools draw on their neighbourhoods


def test_settings_are_assigned_consistently(bradford):
    _, pop = bradford
    a = pop.alive
    assert ((pop.workplace >= 0) == (pop.status == EMPLOYED))[a].all()
    assert (pop.school[a & (pop.age >= 18)] == -1).all()
    assert (pop.venue[a & (pop.age < 16)] == -1).all()
    assert (pop.years_in_uk[a] <= pop.age[a] + 1e-4).all()
    # every household has an adult head
    hh = pop.household[a]
    first = np.unique(hh, return_index=True)[1]
    assert (pop.age[np.flatnonzero(a)[first]] >= 18).mean() > 0.99


def test_scale_keeps_shares():
    area = load_area("walsall")
    small = compare(area, generate(area, 0.02, PopulationParams(), np.random.default_rng(3)), 0.02)
    large = compare(area, generate(area, 0.2, PopulationParams(), np.random.default_rng(3)), 0.2)
    for (k, _, s), (_, _, g) in zip(small, large):
        if k not in ("population", "households"):
            assert s == pytest.approx(g, abs=0.01), k
