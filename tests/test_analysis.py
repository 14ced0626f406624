"""Sensitivity analysis (SALib) and budget optimisation (Optuna) at tiny scales."""

import json

import numpy as np
import pandas as pd
import pytest

from experiments import optimise, sensitivity
from sim.params import ConfigError

BASE = {"seed": 3, "scale": 0.005, "weeks": 26, "model": {}, "interventions": {}, "workers": 2,
        "area": "walsall"}


@pytest.mark.slow
def test_morris_screening_ranks_the_class_effect_above_job_support_for_english(tmp_path):
    study = dict(BASE, method="morris", trajectories=3, scenario="english_first", range_factor=0.5,
                 parameters=["model.language.class_hour", "interventions.employment_support.job_boost",
                             "interventions.esol.uptake"])
    sensitivity.run(study, tmp_path, progress=False)
    idx = pd.read_csv(tmp_path / "sensitivity.csv")
    assert set(idx["outcome"]) == {"residents_lifted_out_of_poor_english", "extra_people_in_work",
                                   "extra_bridging_ties", "attitude_difference"}
    eng = idx[idx["outcome"] == "residents_lifted_out_of_poor_english"].set_index("parameter")["mu_star"]
    assert eng["model.language.class_hour"] > eng["interventions.employment_support.job_boost"]
    assert np.isfinite(idx["mu_star_conf"]).all()
    samples = pd.read_csv(tmp_path / "samples.csv")
    assert len(samples) == 3 * (3 + 1 + 1)  # the three parameters and the dummy
    assert "dummy" in set(idx["parameter"]) and "dummy (noise floor)" in set(idx["label"])
    rank = pd.read_csv(tmp_path / "ranking.csv")
    assert list(rank["rank"]) == list(range(1, 5)) and rank["max_relative"].iloc[0] == pytest.approx(1.0)
    lo, hi = idx.iloc[0][["low", "high"]]
    assert lo < hi
    assert (tmp_path / "sensitivity.png").exists() and (tmp_path / "sensitivity.svg").exists()


def test_every_uncertain_parameter_has_a_plausible_range_and_design_choices_are_not_varied():
    from experiments.space import DUMMY, _nest, label, problem, uncertain_keys

    keys = dict(uncertain_keys())
    assert len(keys) > 80
    # calibrated mechanisms, programme effects and unit costs are all in; what a scenario buys is not
    for k in ("model.language.class_hour", "model.ties.meet.neighbourhood", "interventions.esol.unit_cost_gbp",
              "interventions.ncs.ties_per_participant", "model.population.born_abroad_logit.*"):
        assert k in keys
    for k in ("interventions.esol.duration_weeks", "interventions.esol.group_size", "model.ties.reindex_weeks",
              "model.ties.homophily.venue", "model.employment.retirement_age"):
        assert k not in keys
    assert all(lo < hi for lo, hi in keys.values())
    prob = problem("all", dummy=True)
    assert prob["names"][-1] == DUMMY and prob["num_vars"] == len(keys) + 1
    with pytest.raises(ConfigError, match="no plausible range"):
        problem(["interventions.esol.duration_weeks"])
    # a shape multiplier scales the whole default list inside its allowed range; the dummy writes nothing
    model, inter = {}, {}
    _nest("model.employment.leave_education.*", 2.0, model, inter)
    _nest(DUMMY, 0.3, model, inter)
    from sim.processes.employment import EmploymentParams

    assert model == {"employment": {"leave_education": [2 * v for v in EmploymentParams().leave_education]}}
    assert inter == {}
    assert label("model.ties.meet.neighbourhood") == "meet: neighbourhood (ties)"
    assert label("interventions.esol.unit_cost_gbp") == "unit cost gbp (esol)"


def test_sensitivity_ranges_come_from_the_parameter_table():
    prob = sensitivity.problem(["model.language.class_hour", {"interventions.esol.uptake": [0.3, 0.9]},
                                "model.attitude.contact_correlation"], 0.5)
    (lo, hi), (lo2, hi2), (lo3, hi3) = prob["bounds"]
    from sim.processes.language import LanguageParams

    d = LanguageParams().class_hour
    assert lo == pytest.approx(d * 0.5) and hi == pytest.approx(d * 1.5)
    assert (lo2, hi2) == (0.3, 0.9)
    from sim.processes.attitude import AttitudeParams

    c = AttitudeParams().contact_correlation
    assert lo3 == pytest.approx(c * 0.5) and hi3 == pytest.approx(c * 1.5)
    # without a range factor, the plausible range declared with the parameter
    prob = sensitivity.problem(["model.language.class_hour", "interventions.ncs.unit_cost_gbp"])
    assert prob["bounds"] == [[0.002, 0.02], [1300.0, 2000.0]]
    with pytest.raises(ConfigError, match="allowed in 'model.language'"):
        sensitivity.problem(["model.language.speed"], 0.5)
    with pytest.raises(ConfigError, match="unknown parameter"):
        sensitivity.problem(["colour"], 0.5)


@pytest.mark.slow
def test_budget_optimisation_runs_compares_and_resumes(tmp_path):
    study = dict(BASE, name="opt", trials=4, replicates=1, check_replicates=2, budget_gbp=5e6,
                 allocated_share=0.85, objectives=["extra_bridging_ties"], compare_with=["english_first"])
    optimise.run(study, tmp_path, progress=False)
    cand = pd.read_csv(tmp_path / "candidates.csv")
    assert "english_first" in set(cand["candidate"])
    shares = cand.filter(like="share_")
    assert (shares.sum(axis=1) <= 0.85 + 1e-4).all()
    assert (tmp_path / "optimisation.html").exists() and (tmp_path / "optimisation.png").exists()
    trials = pd.read_csv(tmp_path / "trials.csv")
    assert len(trials) == 4
    # the search starts from the provided scenario: its first trial is english_first's allocation, in proportion
    from sim.scenario import load_scenario

    alloc = load_scenario("english_first")["allocation"]
    total = sum(alloc.values())
    for name, share in alloc.items():
        assert trials.loc[0, name] == pytest.approx(0.85 * share / total, abs=1e-5)
    optimise.run(dict(study, trials=6), tmp_path, progress=False)  # resumes from the journal: 2 more trials
    assert len(pd.read_csv(tmp_path / "trials.csv")) == 6
    meta = json.loads((tmp_path / "study.json").read_text())
    assert meta["trials"] == 6


def test_the_optimiser_warns_when_its_best_loses_to_a_provided_scenario():
    table = pd.DataFrame({"candidate": ["optimised #1 (trial 3)", "english_first"],
                          "residents_lifted_out_of_poor_english": [90.0, 120.0]})
    study = {"objectives": ["residents_lifted_out_of_poor_english"]}
    assert "does not beat the provided scenario 'english_first'" in optimise._warning(table, study)
    assert optimise._warning(table.assign(residents_lifted_out_of_poor_english=[130.0, 120.0]), study) is None


def test_optimisation_refuses_unknown_objectives(tmp_path):
    with pytest.raises(ConfigError, match="allowed: residents_lifted"):
        optimise.run(dict(BASE, objectives=["happiness"]), tmp_path, progress=False)
