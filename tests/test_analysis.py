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
    assert len(samples) == 3 * (3 + 1)
    lo, hi = idx.iloc[0][["low", "high"]]
    assert lo < hi
    assert (tmp_path / "sensitivity.png").exists() and (tmp_path / "sensitivity.svg").exists()


def test_sensitivity_ranges_come_from_the_parameter_table():
    prob = sensitivity.problem(["model.language.class_hour", {"interventions.esol.uptake": [0.3, 0.9]},
                                "model.attitude.contact_correlation"], 0.5)
    (lo, hi), (lo2, hi2), (lo3, hi3) = prob["bounds"]
    from sim.processes.language import LanguageParams

    d = LanguageParams().class_hour
    assert lo == pytest.approx(d * 0.5) and hi == pytest.approx(d * 1.5)
    assert (lo2, hi2) == (0.3, 0.9)
    assert lo3 == pytest.approx(0.105) and hi3 == pytest.approx(0.315)
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
    assert len(pd.read_csv(tmp_path / "trials.csv")) == 4
    optimise.run(dict(study, trials=6), tmp_path, progress=False)  # resumes from the journal: 2 more trials
    assert len(pd.read_csv(tmp_path / "trials.csv")) == 6
    meta = json.loads((tmp_path / "study.json").read_text())
    assert meta["trials"] == 6


def test_optimisation_refuses_unknown_objectives(tmp_path):
    with pytest.raises(ConfigError, match="allowed: residents_lifted"):
        optimise.run(dict(BASE, objectives=["happiness"]), tmp_path, progress=False)
