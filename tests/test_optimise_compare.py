"""The optimiser is compared with the provided scenarios by default (issue 32): study.compare_with null means every
funded scenario, re-run beside the best on the same fresh seeds, with a warning when one of them beats it."""

import pandas as pd
import pytest

from experiments import optimise
from sim.interventions import NAMES
from sim.scenario import available_scenarios, load_scenario

FUNDED = [s for s in available_scenarios() if s != "baseline"]
TINY = {"area": "walsall", "seed": 2, "scale": 0.01, "weeks": 4, "objectives": ["extra_bridging_ties"], "model": {}, "interventions": {}, "trials": 1,
        "replicates": 1, "check_replicates": 2, "workers": 1}


def _composed(*overrides):
    from omegaconf import OmegaConf

    from cli import compose
    from cli.configuration import area_study

    overrides = ["experiment=optimise_budget", "area=walsall", *overrides]
    with compose.context({}):
        cfg = compose.compose_checked(overrides, False, overrides)
    return area_study(OmegaConf.to_container(cfg, resolve=True))


def test_the_default_configuration_compares_with_every_provided_funded_scenario():
    assert len(FUNDED) >= 5
    assert optimise.check(_composed())["compare_with"] == FUNDED
    assert optimise.check(_composed("study.compare_with=[]"))["compare_with"] == []  # explicitly none
    assert optimise.check(_composed("study.compare_with=[work_first]"))["compare_with"] == ["work_first"]


def test_a_tiny_optimisation_reruns_every_provided_scenario_and_warns_when_one_beats_its_best(tmp_path, capsys):
    optimise.run(dict(TINY, compare_with=None), tmp_path, progress=False)
    err = capsys.readouterr().err
    table = pd.read_csv(tmp_path / "candidates.csv", keep_default_na=False).set_index("candidate")
    provided = [c for c in table.index if not c.startswith("optimised")]
    assert provided == FUNDED
    # one trial: the first provided scenario that is a point of the search, its allocation in proportion
    trials = pd.read_csv(tmp_path / "trials.csv")
    alloc = load_scenario("balanced")["allocation"]
    assert len(trials) == 1 and all(trials.loc[0, n] == pytest.approx(alloc.get(n, 0.0), abs=1e-5) for n in NAMES)
    (best,) = [c for c in table.index if c.startswith("optimised")]
    assert "balanced" in best and table.loc["balanced", "note"] == "provided; searched as trial 0"
    assert "compared only" in table.loc["schools_first", "note"]  # (a policy: no trial can express it)
    # the same fresh seeds: the optimum and the provided scenario of the same allocation give the same gains
    gains = ["residents_lifted_out_of_poor_english", "extra_people_in_work", "extra_bridging_ties"]
    assert table.loc[best, gains].tolist() == table.loc["balanced", gains].tolist()
    objective = "extra_bridging_ties"  # (the tiny study's objective: at 4 weeks few are lifted out of poor English)
    rival = table.loc[provided, objective].idxmax()
    assert table.loc[rival, objective] > table.loc[best, objective]  # (so the warning below is due)
    assert "warning: the best optimised allocation" in err and f"'{rival}'" in err
    page = (tmp_path / "optimisation.html").read_text()
    assert "<b>Warning:</b>" in page and "beside the provided scenarios balanced, contact_first" in page


def test_an_empty_compare_with_compares_with_none_and_says_so(tmp_path, capsys):
    optimise.run(dict(TINY, compare_with=[]), tmp_path, progress=False)
    table = pd.read_csv(tmp_path / "candidates.csv")
    assert all(c.startswith("optimised") for c in table["candidate"])
    assert "warning" not in capsys.readouterr().err
    assert "compared with no provided scenario (study.compare_with=[])" in (tmp_path / "optimisation.html").read_text()


def test_a_tie_is_not_a_loss_and_two_objectives_need_a_provided_scenario_better_on_both():
    one = {"objectives": ["extra_people_in_work"]}
    table = pd.DataFrame({"candidate": ["optimised #1 (trial 0: english_first's allocation)", "english_first"],
                          "extra_people_in_work": [40.0, 40.0], "extra_bridging_ties": [5.0, 9.0]})
    assert optimise._warning(table, one) is None  # the optimum is the provided allocation itself
    two = {"objectives": ["extra_people_in_work", "extra_bridging_ties"]}
    assert optimise._warning(table.assign(extra_people_in_work=[50.0, 40.0]), two) is None  # a trade-off
    warned = optimise._warning(table.assign(extra_people_in_work=[30.0, 40.0]), two)
    assert "'english_first' beat every optimised allocation on both" in warned
