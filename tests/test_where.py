"""Programmes target places (issue 'real places'): a programme's recruits come from its eligible residents wherever
they live, in proportion to where they are; a scenario may confine a programme or policy to chosen MSOAs
(``scenario.where.<name>``), and then only their residents are reached; ``python -m sim.places <area>`` lists the
codes. The refusals of bad ``where`` input are in the catalogue (tests/test_bad_input.py)."""

import numpy as np
import pytest
from scipy.stats import chisquare

from sim.interventions import REGISTRY
from sim.model import IntegrationModel
from sim.params import ConfigError
from sim.places import places
from sim.scenario import check, intervention_params

WALSALL = places("E08000030")


def _model(scenario, weeks=2, scale=0.02, **kwargs):
    m = IntegrationModel(area="walsall", scale=scale, seed=4, weeks=weeks, scenario=scenario, **kwargs)
    m.run()
    return m


def _programme(m, name):
    return next(p for p in m.interventions if p.name == name)


def test_recruits_come_from_the_eligible_wherever_they_live_in_proportion():
    """Offers go by targeting weight alone: with no targeting, a cohort's recruits by MSOA follow its eligible
    residents by MSOA (a chi-square test of fit, on a fixed seed), from nearly every MSOA that has any."""
    m = IntegrationModel(area="walsall", scale=0.05, seed=1, weeks=1)
    ip = intervention_params({"esol": {"women_priority": 0.0}})["esol"]
    esol = REGISTRY["esol"](ip, 1e9, 0, 1, 0.05, np.random.default_rng(5))
    esol.prepare(m)
    eligible = np.flatnonzero(esol.eligible(m) & m.pop.alive)
    rows = esol.select(m, len(eligible) // 4)
    n = m.pop.n_neighbourhoods
    seen = np.bincount(m.pop.neighbourhood[rows], minlength=n)
    there = np.bincount(m.pop.neighbourhood[eligible], minlength=n)
    assert len(rows) > 150 and set(rows) <= set(eligible)
    assert chisquare(seen, there / there.sum() * seen.sum()).pvalue > 0.05
    assert (seen > 0).sum() >= 0.8 * (there > 0).sum()


def _most_eligible(k):
    m = IntegrationModel(area="walsall", scale=0.02, seed=4, weeks=1)
    esol = REGISTRY["esol"](intervention_params(None)["esol"], 1e9, 0, 1, 0.02, np.random.default_rng(0))
    counts = np.bincount(m.pop.neighbourhood[esol.eligible(m) & m.pop.alive], minlength=WALSALL.n)
    return [WALSALL.codes[i] for i in np.argsort(-counts, kind="stable")[:k]]


def test_esol_with_where_recruits_only_residents_of_those_msoas():
    """Every participant lives in a chosen MSOA (rows are not reused within two weeks); the same seed without
    ``where`` recruits elsewhere too."""
    where = _most_eligible(3)
    allowed = [WALSALL.index_of(c) for c in where]
    scenario = {"name": "esol_here", "budget_gbp": 2e6, "allocation": {"esol": 0.5}}
    here = _model({**scenario, "where": {"esol": where}})
    rows = _programme(here, "esol").rows
    assert len(rows) >= 10 and np.isin(here.pop.neighbourhood[rows], allowed).all()
    anywhere = _model(scenario)
    other = _programme(anywhere, "esol").rows
    assert not np.isin(anywhere.pop.neighbourhood[other], allowed).all()
    assert not np.array_equal(np.sort(rows), np.sort(other))


def _need(m):
    """Each MSOA's need, as community spaces rank it: its residents' diversity across the model's groups."""
    pop = m.pop
    counts = np.zeros((pop.n_neighbourhoods, len(pop.groups)))
    np.add.at(counts, (pop.neighbourhood[pop.alive], pop.group[pop.alive]), 1)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    return 1 - (shares**2).sum(axis=1)


def test_community_spaces_open_by_need_within_where_and_serve_its_residents():
    """Spaces open in the most diverse of the chosen MSOAs (here the five least diverse of all, so not where they
    open without ``where``), and every user lives in an MSOA with a space."""
    need = _need(IntegrationModel(area="walsall", scale=0.02, seed=4, weeks=1))
    least = np.argsort(need, kind="stable")[:5]
    where = [WALSALL.codes[i] for i in least]
    scenario = {"name": "spaces_here", "budget_gbp": 1e6, "allocation": {"community_spaces": 1.0}}
    m = _model({**scenario, "where": {"community_spaces": where}})
    spaces = _programme(m, "community_spaces")
    assert len(spaces.rows) == 3  # GBP 1m at GBP 300k a space
    top = least[np.argsort(-need[least], kind="stable")][:3]
    assert sorted(spaces.rows.tolist()) == sorted(top.tolist())
    assert len(spaces.users) and np.isin(m.pop.neighbourhood[spaces.users], spaces.rows).all()
    anywhere = _programme(_model(scenario), "community_spaces")
    assert sorted(anywhere.rows.tolist()) == sorted(np.argsort(-need, kind="stable")[:3].tolist())
    assert not set(anywhere.rows.tolist()) & set(least.tolist())


def test_mixed_intakes_with_where_places_only_pupils_living_there():
    where = list(WALSALL.codes[20:30])
    scenario = {"name": "mixed_here", "policies": {"mixed_intakes": True}}
    ip = {"mixed_intakes": {"reach": 1.0}}
    placed = []
    for s in ({**scenario, "where": {"mixed_intakes": where}}, scenario):
        m = _model(s, weeks=20, intervention_params=ip)
        rows = np.flatnonzero(m.pop.alive & (m.pop.intake_pos >= 0))
        placed.append(set(m.pop.neighbourhood[rows].tolist()))
    assert placed[0] and placed[0] <= set(range(20, 30))
    assert placed[1] - set(range(20, 30))  # the same seed without where places pupils elsewhere too


def test_where_is_kept_in_code_order_and_a_null_reaches_the_whole_area():
    s = check({"name": "x", "budget_gbp": 1e6, "allocation": {"esol": 0.5, "ncs": 0.2},
               "where": {"esol": ["E02002111", "E02002110"], "ncs": None}}, "walsall", 10)
    assert s.where == {"esol": ("E02002110", "E02002111")}


@pytest.mark.parametrize("where, says", [
    (["E02999999"], "unknown MSOA 'E02999999' in 'scenario.where.esol'; allowed: walsall's 39 MSOA codes"),
    (["E02002615"], "MSOA 'E02002615' in 'scenario.where.esol' is in blackburn_with_darwen, not walsall"),
    ([], "'scenario.where.esol' is empty"),
    ("E02002110", "'scenario.where.esol' must be a list of MSOA codes (e.g. scenario.where.esol=[E02002110,"),
], ids=["unknown", "another-area", "empty", "not-a-list"])
def test_a_bad_code_list_names_the_key_and_how_to_list_the_codes(where, says):
    with pytest.raises(ConfigError) as e:
        check({"name": "x", "budget_gbp": 1e6, "allocation": {"esol": 0.5}, "where": {"esol": where}}, "walsall", 10)
    assert says in str(e.value)
    assert "python -m sim.places walsall" in str(e.value)


def test_a_scenario_file_and_a_study_scenario_may_give_where(monkeypatch, tmp_path):
    from hydra.core.global_hydra import GlobalHydra

    from cli.main import _hydra_main
    from cli.preflight import _preflight
    from tests.bad_input import CMP, SMALL, in_tmp

    in_tmp(monkeypatch, tmp_path)
    (tmp_path / "cfg" / "scenario").mkdir(parents=True)
    (tmp_path / "cfg" / "scenario" / "mine.yaml").write_text(
        "defaults:\n  - _schema\n  - _self_\nname: mine\nbudget_gbp: 1000000\nallocation: {esol: 0.5}\n"
        "where:\n  esol: [E02002110, E02002111]\n")
    try:
        _, cfg, _ = _preflight(["--config-dir", str(tmp_path / "cfg"), "area=walsall", "scenario=mine"] + SMALL,
                               task_function=_hydra_main)
        assert list(cfg.scenario.where.esol) == ["E02002110", "E02002111"]
    finally:
        GlobalHydra.instance().clear()
    try:
        _preflight(CMP + ["study.areas=[walsall]", "study.scenarios=[baseline,{name: mine, budget_gbp: 1e6, "
                          "allocation: {esol: 0.5}, where: {esol: [E02002110]}}]"], task_function=_hydra_main)
    finally:
        GlobalHydra.instance().clear()


def test_the_places_listing_gives_every_code_with_its_name_and_residents(capsys):
    from sim.places.__main__ import main

    assert main(["walsall"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + WALSALL.n
    assert lines[1].split()[:3] == ["E02002110", "Walsall", "001"] and lines[1].split()[-1] == "7,024"
    with pytest.raises(SystemExit) as e:
        main(["atlantis"])
    assert e.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: unknown area 'atlantis' for key 'area'")


def test_an_optimisation_does_not_search_from_a_scenario_with_places_of_its_own():
    """Its candidates reach the whole area, so a provided scenario with ``where`` is compared only, and says why."""
    from experiments.optimise import _note, fits_search
    from sim.scenario import load_scenario

    study = {"weeks": 104, "allocated_share": 0.85, "area": "walsall", "budget_gbp": 1e7}
    scen = load_scenario("balanced")
    assert fits_search(scen, study)
    scen["where"]["esol"] = ["E02002110"]
    assert not fits_search(scen, study)
    assert "places of its own" in _note(scen, study, None)
