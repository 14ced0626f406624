"""The Integrated Communities measures added as programmes and policies (issue 14): refugees and their mental
health, the values curriculum, mixed school intakes and the citizenship English rule. Each test checks what the
measure does in the model against what it should do, with paired runs (same seed, same parameters)."""

import json
import shutil

import numpy as np
import pytest

from sim.interventions import NAMES, POLICIES, REGISTRY
from sim.model import IntegrationModel
from sim.params import ConfigError
from sim.processes import mental_health
from sim.scenario import check, load_scenario


def model(scenario="baseline", area="bradford", scale=0.1, weeks=52, seed=4, **kw):
    return IntegrationModel(area=area, scale=scale, weeks=weeks, seed=seed, scenario=scenario, **kw)


def only(name, budget=3e6, **extra):
    return {"name": f"only_{name}", "budget_gbp": budget, "allocation": {name: 1.0}, **extra}


# --- refugees and their mental health ------------------------------------------------------------------------------


@pytest.mark.parametrize("area", ["bradford", "walsall", "blackburn_with_darwen"])
def test_refugees_are_sized_from_the_home_office_figures_of_each_area(area):
    m = model(area=area, scale=0.2, weeks=1)
    pop = m.pop
    resettled, asylum = mental_health.area_counts()[area]
    p = m.params.mental_health
    expected = round((resettled + asylum) * 0.2) + round(p.earlier_refugee_share * pop.n)
    assert pop.refugee.sum() == expected
    assert not (pop.refugee & ~pop.born_abroad).any() and not (pop.refugee & pop.main_english).any()
    assert not (pop.distress & ~pop.refugee).any()  # distress is modelled for refugees only
    m.release()


def test_distressed_refugees_start_less_often_in_work_by_the_job_finding_factor():
    """Placed so that the distressed's week-0 odds of work are job_finding_factor times the others' (their
    stationary level), with the stated prevalence overall."""
    x, y = mental_health.split_prevalence(0.31, 0.5, 0.67)
    assert 0.5 * y + 0.5 * x == pytest.approx(0.31, abs=1e-9)
    assert (y / (1 - y)) / (x / (1 - x)) == pytest.approx(0.67, rel=1e-6)
    assert mental_health.split_prevalence(0.31, 0.5, 1.0) == (0.31, 0.31)


def test_prevalence_holds_steady_without_care_and_falls_with_it():
    base, care = model(weeks=52), model(only("refugee_mental_health"), weeks=52)
    p0 = base.pop.distress[base.pop.refugee].mean()
    base.run(), care.run()
    refugees = base.pop.refugee & base.pop.alive
    p_base = base.pop.distress[refugees].mean()
    p_care = care.pop.distress[care.pop.refugee & care.pop.alive].mean()
    assert abs(p_base - p0) < 0.06  # onset balances remission: no drift in the baseline
    assert p_care < p_base - 0.05  # treated refugees recover
    served = care.intervention_report()[0]
    assert served["participants"] > 0 and served["spend_gbp"] > 0
    base.release(), care.release()


def test_untreated_distress_slows_learning_and_job_finding():
    m = model(weeks=2)
    week = m.week
    rows = np.flatnonzero(m.pop.distress & m.pop.alive)
    assert len(rows) > 0
    week.job_boost[:] = 1.0
    week.learn_factor[:] = 1.0
    mental_health.prepare(m, week)
    p = m.params.mental_health
    assert np.allclose(week.job_boost[rows], p.job_finding_factor)
    assert np.allclose(week.learn_factor[rows], p.learning_factor)
    well = np.flatnonzero(~m.pop.distress & m.pop.alive)
    assert (week.job_boost[well] == 1.0).all() and (week.learn_factor[well] == 1.0).all()
    m.release()


# --- values curriculum ---------------------------------------------------------------------------------------------


def test_the_curriculum_lifts_pupils_attitudes_and_the_lift_fades_after_it():
    scen = only("values_curriculum", budget=2e6, end_week=40)
    taught, base = model(scen, weeks=80), model(weeks=80)
    taught.run(), base.run()
    iv = taught.interventions[0]
    pupils = iv.rows[iv.completed]
    assert len(pupils) > 100
    lift = taught.pop.attitude_lift[pupils]
    assert (lift > 0).mean() > 0.95  # (a few rows were taken by newcomers after a pupil left)
    # lifted by about effect_sd x sd over the year, then fading with the half-life for the weeks since
    p = iv.p
    peak = p.effect_sd * taught.params.population.attitude_sd
    assert lift.mean() < peak
    gap = taught.pop.attitude[pupils].mean() - base.pop.attitude[pupils].mean()
    assert gap > 0.25 * peak  # warmer than the same pupils without the programme
    assert taught.interventions[0].report()["unit_cost_gbp"] == p.unit_cost_gbp
    taught.release(), base.release()


# --- mixed school intakes --------------------------------------------------------------------------------------------


def test_mixed_intakes_lower_school_segregation_only_as_cohorts_enter():
    scen = {"name": "mix", "budget_gbp": 0, "allocation": {}, "policies": {"mixed_intakes": True}}
    base, mixed = model(weeks=104), model(scen, weeks=104, intervention_params={"mixed_intakes": {"reach": 0.5}})
    at_school = np.flatnonzero(mixed.pop.alive & (mixed.pop.school >= 0))
    base.run(), mixed.run()
    d_base = base.timeseries()["school_dissimilarity"].to_numpy()
    d_mix = mixed.timeseries()["school_dissimilarity"].to_numpy()
    assert d_mix[0] == d_base[0]
    drop = d_base - d_mix
    assert drop[104] > 0.03  # segregation fell ...
    assert drop[13] < drop[52] < drop[104]  # ... slowly, cohort by cohort
    # pupils at school when the policy began were not moved (only entrants are placed)
    still = at_school[mixed.pop.alive[at_school] & (mixed.pop.age[at_school] < 11)]
    placed = (mixed.pop.intake_pos[still[mixed.pop.age[still] >= 6]] >= 0).mean()
    assert placed < 0.05  # (a few rows were taken by newcomers, who are entrants; half of entrants are placed)
    rep = mixed.intervention_report()[0]
    assert rep["participants"] > 0 and rep["spend_gbp"] == pytest.approx(
        rep["participants"] * rep["unit_cost_gbp"], rel=1e-9)
    base.release(), mixed.release()


# --- citizenship English rule ----------------------------------------------------------------------------------------


def test_the_citizenship_rule_motivates_only_those_who_could_apply_and_lack_the_level():
    scen = {"name": "cit", "budget_gbp": 0, "allocation": {}, "policies": {"citizenship_english": True}}
    m = model(scen, weeks=2, intervention_params={"citizenship_english": {"intending_share": 1.0}})
    pop, p = m.pop, m.interventions[0].p
    could = (pop.alive & pop.born_abroad & ~pop.main_english & (pop.english < p.level)
             & (pop.years_in_uk >= p.min_years))  # at the start of the week, what the rule reads
    m.step()
    motivated = m.week.class_uptake > 1.0
    assert could.sum() > 50 and (motivated == could).all()
    assert np.allclose(m.week.class_uptake[could], p.uptake_boost)
    m.release()


def test_the_citizenship_rule_raises_class_take_up_with_the_same_money():
    esol = {"name": "e", "budget_gbp": 2e6, "allocation": {"esol": 1.0}}
    both = {**esol, "policies": {"citizenship_english": True}}
    ip = {"citizenship_english": {"intending_share": 1.0, "uptake_boost": 1.5}}
    a, b = model(esol, weeks=30, intervention_params=ip), model(both, weeks=30, intervention_params=ip)
    a.run(), b.run()
    ra = next(r for r in a.intervention_report() if r["intervention"] == "esol")
    rb = next(r for r in b.intervention_report() if r["intervention"] == "esol")
    # the same places filled from fewer offers: more of those offered take a place, so the money buys the same
    assert rb["participants"] == pytest.approx(ra["participants"], rel=0.05)
    eligible = b.pop.born_abroad & (b.pop.years_in_uk >= 5)
    took_b = np.isin(np.flatnonzero(eligible), b.interventions[1].rows).sum()
    took_a = np.isin(np.flatnonzero(eligible), a.interventions[0].rows).sum()
    assert took_b > took_a  # places go more to those the rule motivates
    a.release(), b.release()


# --- scenarios: policies are switched on, programmes are bought ------------------------------------------------------


def test_policies_are_switched_not_funded_with_clear_errors():
    with pytest.raises(ConfigError, match="'mixed_intakes' is a policy.*scenario.policies.mixed_intakes=true"):
        check({"name": "x", "budget_gbp": 1e6, "allocation": {"mixed_intakes": 0.5}}, "walsall", 52)
    with pytest.raises(ConfigError, match="unknown policy 'scenario.policies.esol'.*is a programme"):
        check({"name": "x", "policies": {"esol": True}}, "walsall", 52)
    with pytest.raises(ConfigError, match="unknown policy 'scenario.policies.nope'; known: citizenship_english"):
        check({"name": "x", "policies": {"nope": True}}, "walsall", 52)
    with pytest.raises(ConfigError, match="'scenario.policies.mixed_intakes' must be true or false, got 'yes'"):
        check({"name": "x", "policies": {"mixed_intakes": "yes"}}, "walsall", 52)
    with pytest.raises(ConfigError, match="'scenario.policies' must be a mapping"):
        check({"name": "x", "policies": ["mixed_intakes"]}, "walsall", 52)
    sc = check("schools_first", "walsall", 104)
    assert sc.policies == ("mixed_intakes",) and "values_curriculum" in sc.allocation
    assert check("refugees_first", "bradford", 104).policies == ("citizenship_english",)
    assert set(load_scenario("baseline")["policies"]) == set(POLICIES)


def test_every_new_measure_has_a_parameter_file_and_ranges_in_the_ensemble():
    from experiments.space import uncertain_keys

    keys = {k for k, _ in uncertain_keys()}
    for name in ("refugee_mental_health", "values_curriculum", "mixed_intakes", "citizenship_english"):
        assert name in REGISTRY
        assert any(k.startswith(f"interventions.{name}.") for k in keys), name
    for k in ("model.mental_health.prevalence", "model.mental_health.job_finding_factor",
              "model.attitude.lift_half_life_weeks", "model.ties.attitude_homophily"):
        assert k in keys
    assert "refugee_mental_health" in NAMES and "mixed_intakes" not in NAMES


def test_parameters_missing_from_a_published_ensemble_are_drawn_with_each_member(tmp_path):
    """An ensemble published before a parameter was declared: the parameter is drawn per member from its range,
    the same for the same member, and named in the provenance."""
    from experiments.uncertainty import DEFAULT_ENSEMBLE, parameter_sets, resolve_ensemble
    from sim.manifest import MANIFEST, sha256_file

    src = resolve_ensemble(DEFAULT_ENSEMBLE)
    shutil.copytree(src, tmp_path / "ens")
    meta = json.loads((tmp_path / "ens" / "calibration.json").read_text())
    key = "interventions.mixed_intakes.reach"
    for part in ("parameters", "drawn"):
        meta[part] = [n for n in meta.get(part, []) if n != key]
    (tmp_path / "ens" / "calibration.json").write_text(json.dumps(meta))
    manifest = json.loads((tmp_path / "ens" / MANIFEST).read_text())  # as such an ensemble was published
    manifest["sha256"]["calibration.json"] = sha256_file(tmp_path / "ens" / "calibration.json")
    (tmp_path / "ens" / MANIFEST).write_text(json.dumps(manifest))
    sets, info = parameter_sets("ensemble", 6, 1, {}, {}, ensemble=tmp_path / "ens")
    assert key in info["drawn_late"]
    values = [s["interventions"]["mixed_intakes"]["reach"] for s in sets]
    assert len(set(values)) > 1 and all(0.02 <= v <= 0.2 for v in values)
    again, _ = parameter_sets("ensemble", 6, 1, {}, {}, ensemble=tmp_path / "ens")
    assert [s["interventions"]["mixed_intakes"]["reach"] for s in again] == values
    held, info = parameter_sets("ensemble", 2, 1, {}, {"mixed_intakes": {"reach": 0.3}}, ensemble=tmp_path / "ens")
    assert key not in info["drawn_late"] and held[0]["interventions"]["mixed_intakes"]["reach"] == 0.3
