"""Properties of funded programmes and scenarios (issue: interventions and funding scenarios)."""

import numpy as np
import pytest

from sim.interventions import NAMES, REGISTRY
from sim.model import IntegrationModel
from sim.params import ConfigError
from sim.scenario import available_scenarios, check

SMALL = dict(area="blackburn_with_darwen", scale=0.02, weeks=30)


def run(scenario, seed=1, **kw):
    m = IntegrationModel(scenario=scenario, seed=seed, **{**SMALL, **kw})
    m.run()
    ts = m.timeseries()
    rep = m.intervention_report()
    m.release()
    return ts, rep


def one(name, budget, **extra):
    alloc = {n: 0.0 for n in NAMES}
    alloc[name] = 1.0
    return {"name": f"only_{name}", "budget_gbp": budget, "allocation": alloc, **extra}


def test_registry_has_the_nine_programmes_and_two_policies():
    from sim.interventions import POLICIES

    # (at least these: a programme added by the recipe of docs/architecture.md joins them with no edit here)
    assert set(NAMES) >= {"esol", "conversation_clubs", "ncs", "employment_support", "women_opportunities",
                          "school_linking", "community_spaces", "refugee_mental_health", "values_curriculum"}
    assert set(POLICIES) >= {"mixed_intakes", "citizenship_english"}
    assert all(REGISTRY[n].policy for n in POLICIES) and not any(REGISTRY[n].policy for n in NAMES)
    import sys

    for cls in REGISTRY.values():
        assert sys.modules[cls.__module__].__doc__ and cls.Params  # each says what it is and how it acts


def test_zero_money_is_the_baseline_exactly():
    base, _ = run("baseline")
    zero_budget, _ = run({"name": "z", "budget_gbp": 0, "allocation": {n: 1 / len(NAMES) for n in NAMES}})
    zero_shares, _ = run({"name": "z", "budget_gbp": 5e6, "allocation": {n: 0.0 for n in NAMES}})
    assert base.equals(zero_budget)
    assert base.equals(zero_shares)


def test_listing_order_does_not_matter():
    alloc = {"esol": 0.3, "ncs": 0.2, "employment_support": 0.2, "community_spaces": 0.2}
    a, _ = run({"name": "x", "budget_gbp": 3e6, "allocation": alloc})
    b, _ = run({"name": "x", "budget_gbp": 3e6, "allocation": dict(reversed(list(alloc.items())))})
    assert a.equals(b)


@pytest.mark.parametrize("scenario", ["equal_split", "balanced", "english_first", "contact_first", "work_first",
                                      "pilot_year_one"])
def test_spend_never_exceeds_allocation(scenario):
    ts, rep = run(scenario, weeks=60)
    s = check(scenario, SMALL["area"], 60)
    assert ts["spend_gbp"].is_monotonic_increasing
    assert ts["spend_gbp"].iloc[-1] <= s.allocated_gbp + 1e-6
    for r in rep:
        assert r["spend_gbp"] <= r["budget_gbp"] + 1e-6, r
        assert r["spend_gbp"] + r["unspent_gbp"] == pytest.approx(r["budget_gbp"])
    assert ts["spend_gbp"].iloc[0] == 0


def _mean_final(name, budget, col, seeds=range(4)):
    vals = []
    for s in seeds:
        ts, _ = run(one(name, budget), seed=s)
        vals.append(ts[col].iloc[-1])
    return np.mean(vals)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, col, better",
    [("esol", "n_poor_english", -1), ("conversation_clubs", "n_poor_english", -1),
     ("employment_support", "n_employed_16_64", +1), ("women_opportunities", "n_employed_16_64", +1),
     ("ncs", "n_bridging_ties", +1), ("school_linking", "n_bridging_ties", +1),
     ("community_spaces", "n_bridging_ties", +1)],
)
def test_more_money_never_lowers_a_programmes_own_outcome(name, col, better):
    budgets = (0, 1e6, 3e6)
    # eight paired seeds: at the calibrated job-finding rate a women's course adds about one job in 1,240 over 30
    # weeks at this scale, so four seeds could not order the budgets (measured: 1246.5, 1247.5, 1247.0)
    means = [_mean_final(name, b, col, seeds=range(8)) for b in budgets]
    for lo, hi in zip(means, means[1:]):
        assert better * (hi - lo) >= 0, (name, means)
    assert better * (means[-1] - means[0]) > 0, (name, means)  # and money does something


def test_unspent_money_is_reported_when_too_few_are_eligible():
    # NCS for a tiny town with a huge budget: not enough 16-17 year olds to take the places
    _, rep = run(one("ncs", 5e7), weeks=60)
    r = rep[0]
    assert r["unspent_gbp"] > 0.5 * r["budget_gbp"]
    assert r["cohorts_short_of_takers"] >= 1


@pytest.mark.parametrize(
    "scenario, match",
    [({"budget_gbp": -1, "allocation": {}}, "budget_gbp"),
     ({"budget_gbp": 1e6, "allocation": {"esol": 1.2}}, "share from 0 to 1"),
     ({"budget_gbp": 1e6, "allocation": {"esol": 0.7, "ncs": 0.6}}, "more than the budget"),
     ({"budget_gbp": 1e6, "allocation": {"yoga": 0.5}}, "known: community_spaces"),
     ({"budget_gbp": 1e6, "allocation": {"esol": 0.5}, "start_week": 30}, "week of the run"),
     ({"budget_gbp": 1e6, "allocation": {}, "colour": "red"}, "scenario.colour"),
     ({"budget_gbp": {"bradford": 1e6}, "allocation": {}}, "no budget for area"),
     ({"budget_gbp": 1e6, "allocation": {"esol": 1}, "end_week": 10, "start_weeks": {"esol": 20}},
      "before end_week")],
)
def test_bad_scenarios_are_refused(scenario, match):
    with pytest.raises(ConfigError, match=match):
        check(scenario, "walsall", 30)


def test_provided_scenarios_are_valid_for_every_area():
    for s in available_scenarios():
        for area in ("blackburn_with_darwen", "bradford", "peterborough", "walsall", "waltham_forest"):
            sc = check(s, area, 104)
            assert 0 <= sc.allocated_gbp <= sc.budget_gbp
    same = {check(s, "bradford", 104).budget_gbp for s in ("equal_split", "english_first", "contact_first",
                                                          "work_first", "balanced")}
    assert same == {1e7}


def test_programmes_act_through_mechanisms():
    # ESOL puts guided hours in; employment support scales job finding; both only for participants
    m = IntegrationModel(scenario=one("esol", 2e6), seed=3, **SMALL)
    m.step()
    esol = m.interventions[0]
    active = esol.rows[esol.active]
    assert len(active) > 0
    assert (m.week.class_hours[active] > 0).all()
    others = np.setdiff1d(np.flatnonzero(m.pop.alive), active)
    assert (m.week.class_hours[others] == 0).all()
    m.release()


def test_school_linking_ties_pupils_only_to_their_linked_school():
    m = IntegrationModel(scenario=one("school_linking", 1e6), seed=2, area="bradford", scale=0.02, weeks=20)
    m.run()
    iv = m.interventions[0]
    pos = {r: i for i, r in enumerate(iv.rows.tolist())}
    net = m.programme_net
    pairs = [(pos[a], pos[b]) for a, b in zip(net.a[net.alive].tolist(), net.b[net.alive].tolist())
             if a in pos and b in pos]
    assert len(pairs) > 50
    for i, j in pairs:  # every pupil friendship crosses the link fixed at enrolment
        assert iv.school_at[i] != iv.school_at[j]
        assert iv.partner_school[i] == iv.school_at[j] or iv.partner_school[j] == iv.school_at[i]
    m.release()
