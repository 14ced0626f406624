"""The Mesa side: residents are real agents viewing columnar state; DataCollector; batch_run; memory."""

import gc
import weakref

import mesa
import numpy as np
import pytest

from sim.agents import Resident
from sim.indicators import INDICATORS
from sim.model import IntegrationModel
from sim.network import SCHOOL


@pytest.fixture(scope="module")
def model():
    m = IntegrationModel(area="peterborough", scale=0.01, seed=2, weeks=6)
    m.run()
    return m


def test_every_resident_is_a_mesa_agent_viewing_its_row(model):
    assert len(model.agents) == model.pop.n
    rows = sorted(a.row for a in model.agents)
    assert rows == list(np.flatnonzero(model.pop.alive))
    r = model.agent_of(rows[10])
    assert isinstance(r, Resident) and isinstance(r, mesa.Agent)
    assert r.age == pytest.approx(float(model.pop.age[r.row]))
    r.english = 1.5  # writes the column
    assert model.pop.english[r.row] == pytest.approx(1.5)
    assert r.english_level in ("main language English", "not well")
    assert r.ethnic_group in model.pop.groups
    assert r.status in ("child", "employed", "unemployed", "student", "looking_after_home", "retired",
                        "long_term_sick", "other_inactive")
    for c in r.contacts:
        assert isinstance(c, Resident) and c is not r
    assert sum(r.ties_by_setting.values()) == len(r.contacts)


def test_bulk_registered_agents_behave_like_constructed_ones(model):
    made = Resident(model, int(np.flatnonzero(~model.pop.alive)[0]))
    bulk = next(iter(model.agents))
    assert set(vars(made)) == set(vars(bulk))
    assert made in model.agents and bulk in model.agents_by_type[Resident]
    made.remove()
    assert made not in model.agents


def test_datacollector_records_every_indicator_each_week(model):
    df = model.datacollector.get_model_vars_dataframe()
    assert len(df) == model.weeks + 1
    assert set(INDICATORS) <= set(df.columns)
    ts = model.timeseries()
    assert list(ts["week"]) == list(range(model.weeks + 1))
    assert ts["spend_gbp"].eq(0).all()
    assert ts[list(INDICATORS)].notna().all().all()


def test_contacts_are_a_scipy_sparse_matrix(model):
    import scipy.sparse as sp

    adj = model.adjacency()
    assert sp.issparse(adj) and (adj != adj.T).nnz == 0
    assert adj.sum() == 2 * (model.net.n_ties + model.programme_net.n_ties)


def test_batch_run_iterations_differ_unless_seeds_are_given():
    # Mesa's convention: no seed means a fresh one per model, so iterations are independent draws
    params = {"area": "blackburn_with_darwen", "scale": 0.003, "weeks": 3}
    results = mesa.batch_run(IntegrationModel, params, iterations=3, max_steps=10, number_processes=1,
                             display_progress=False)
    assert len(results) == 3 and {r["iteration"] for r in results} == {0, 1, 2}
    assert all(0 < r["employment_rate"] < 1 and r["n_residents"] > 0 for r in results)
    assert len({(r["n_residents"], r["employment_rate"], r["n_bridging_ties"]) for r in results}) == 3
    # seeds given: reproducible, and the same seed gives the same run
    seeded = [mesa.batch_run(IntegrationModel, {**params, "seed": [5, 6]}, iterations=1, max_steps=10,
                             number_processes=1, display_progress=False) for _ in range(2)]
    key = [[(r["n_residents"], r["employment_rate"], r["n_bridging_ties"]) for r in rs] for rs in seeded]
    assert key[0] == key[1] and key[0][0] != key[0][1]
    # a model without a seed records the one it drew, so it can be repeated
    m = IntegrationModel(area="walsall", scale=0.003, weeks=2)
    m.run()
    again = IntegrationModel(area="walsall", scale=0.003, weeks=2, seed=m.seed)
    again.run()
    assert m.timeseries().equals(again.timeseries())
    m.release()
    again.release()


def test_memory_stays_flat_over_many_replicates():
    psutil = pytest.importorskip("psutil")
    proc = psutil.Process()

    refs = []

    def one(seed):
        m = IntegrationModel(area="walsall", scale=0.01, seed=seed, weeks=3)
        m.run()
        m.release()
        refs.append(weakref.ref(m))

    for s in range(5):
        one(s)
    gc.collect()
    before = proc.memory_info().rss
    for s in range(5, 20):
        one(s)
    gc.collect()
    grown = (proc.memory_info().rss - before) / 2**20
    assert grown < 25, f"memory grew by {grown:.0f} MB over 15 replicates"
    assert all(r() is None for r in refs)  # every finished model was garbage-collected


def test_demography_changes_are_logged_and_population_stays_near_census():
    m = IntegrationModel(area="bradford", scale=0.02, seed=3, weeks=52)
    m.run()
    log = m.demography_log
    assert len(log) == 52
    tot = {k: sum(r[k] for r in log) for k in ("deaths", "births", "moved_out", "moved_in")}
    assert tot["births"] > 0 and tot["deaths"] > 0 and tot["moved_in"] > 0
    n0, n1 = m.timeseries()["n_residents"].iloc[[0, -1]]
    assert n1 - n0 == tot["births"] - tot["deaths"] + tot["moved_in"] - tot["moved_out"]
    assert abs(n1 / n0 - 1) < 0.02


def test_a_run_started_from_another_runs_week_zero_is_the_same_run():
    """Studies build a replicate's week-0 state once and start every scenario from a copy: each scenario must run
    exactly as if it had built its own, the source model must be untouched by the others, and a state made for
    another seed or parameter set must be refused."""
    import pandas as pd

    from sim.model import WeekZero

    def seed():
        return np.random.SeedSequence(11).spawn(4)[2]

    first = IntegrationModel(area="walsall", scale=0.01, seed=seed(), weeks=12, scenario="english_first")
    start = first.week_zero()
    assert isinstance(start, WeekZero)
    first.run()
    for scenario in ("balanced", "contact_first", "english_first"):
        reused = IntegrationModel(area="walsall", scale=0.01, seed=seed(), weeks=12, scenario=scenario, start=start)
        fresh = IntegrationModel(area="walsall", scale=0.01, seed=seed(), weeks=12, scenario=scenario)
        reused.run()
        fresh.run()
        pd.testing.assert_frame_equal(reused.timeseries(), fresh.timeseries())
        assert reused.intervention_report() == fresh.intervention_report()
        assert reused.pop is not start.state["pop"]
        if scenario == "english_first":
            pd.testing.assert_frame_equal(reused.timeseries(), first.timeseries())
    with pytest.raises(ValueError, match="another run"):
        IntegrationModel(area="walsall", scale=0.01, seed=seed(), weeks=12, params={"language": {"class_hour": 0.02}},
                         start=start)
    with pytest.raises(ValueError, match="another run"):
        IntegrationModel(area="walsall", scale=0.01, seed=5, weeks=12, start=start)
    with pytest.raises(RuntimeError, match="already stepped"):
        first.week_zero()


def test_runs_of_a_replicate_share_their_weekly_draws_only_where_their_streams_stand_alike(monkeypatch):
    """The runs started from one week-0 state take the big weekly draws the first run made (SharedDraws)
    only while their streams stand exactly where the first run's stood: a run whose stream was moved elsewhere
    draws afresh, and either way each run is the run it would have been alone."""
    import pandas as pd

    import sim.model as model_mod
    from sim.processes import demography
    from sim.speed import sharing

    def seed():
        return np.random.SeedSequence(11).spawn(4)[1]

    def run(scenario, start=None, nudge=False, tweak=False, move=False):
        m = IntegrationModel(area="walsall", scale=0.01, seed=seed(), weeks=10, scenario=scenario, start=start)
        if move:  # some pupils in another neighbourhood and faith, which schools and the school index read
            kids = np.flatnonzero(m.pop.alive & (m.pop.age >= 5) & (m.pop.age < 16))[:40]
            m.pop.neighbourhood[kids] = (m.pop.neighbourhood[kids] + 7) % m.pop.n_neighbourhoods
            m.pop.religion[kids] = (m.pop.religion[kids] + 1) % 9  # (which the schools' allocation reads)
        if nudge:  # employment's stream one draw further on than the first run's, from week 0
            m.rng_for("employment").random()
        if tweak:  # a column the week's births read made different (the streams as they were)
            m.pop.female[np.flatnonzero(m.pop.alive & (m.pop.age > 20) & (m.pop.age < 40))[:50]] ^= True
        m.run()
        return m

    first = IntegrationModel(area="walsall", scale=0.01, seed=seed(), weeks=10, scenario="baseline")
    start = first.week_zero()
    first.run()
    entries = start.draws.entries
    assert {k[0] for k in entries} == {"contact", "employment", "mental-health", "demography", "demography-events",
                                       "schools", "index:school"}
    assert len(entries) == 5 * 10 + 2 * 2  # every week of each, as the first run drew them; two re-indexings

    def arrays(value):
        return [value] if isinstance(value, np.ndarray) else [a for v in value for a in arrays(v)] \
            if isinstance(value, tuple) else []

    kept = arrays(tuple(entries.values()))
    # (draws; the events' reads and results; the schools' reads and results; the index's reads and arrays)
    assert len(kept) == 4 * 10 + 10 * (6 + 6) + 2 * (8 + 1) + 2 * (3 + 5) and not any(a.flags.writeable for a in kept)
    events = []
    monkeypatch.setattr(demography, "_events", lambda *a, real=demography._events: events.append(1) or real(*a))
    taken = []
    real_get = sharing.SharedDraws.get

    def get(self, key):
        found = real_get(self, key)
        taken.append((key[0], found is not None))
        return found

    monkeypatch.setattr(sharing.SharedDraws, "get", get)
    shared = run("balanced", start)
    pd.testing.assert_frame_equal(shared.timeseries(), run("balanced").timeseries())
    assert taken and all(hit for _, hit in taken)  # every draw of the second run came from the first
    assert shared.indices[SCHOOL].rows.flags.writeable  # (its own copy of a kept index)
    assert len(events) == 10  # (the lone run's own ten weeks of deaths, births and moves; none in the shared)
    events.clear()
    pd.testing.assert_frame_equal(run("balanced", start, tweak=True).timeseries(),
                                  run("balanced", tweak=True).timeseries())
    assert len(events) == 20  # columns unlike the first run's: its events not taken, even where streams agree
    placed = []
    monkeypatch.setattr(model_mod, "place_pupils",
                        lambda *a, real=model_mod.place_pupils: placed.append(1) or real(*a))
    pd.testing.assert_frame_equal(run("balanced", start).timeseries(), run("balanced").timeseries())
    assert len(placed) == 2  # (the lone run's two; the shared run took the first run's)
    placed.clear()
    pd.testing.assert_frame_equal(run("balanced", start, move=True).timeseries(),
                                  run("balanced", move=True).timeseries())
    assert len(placed) == 4  # pupils moved: their schools placed anew in both runs
    taken.clear()
    pd.testing.assert_frame_equal(run("balanced", start, nudge=True).timeseries(),
                                  run("balanced", nudge=True).timeseries())
    assert not any(hit for name, hit in taken if name == "employment")  # moved elsewhere: drawn afresh
    assert any(hit for name, hit in taken if name == "contact")  # the other streams still shared
    monkeypatch.setattr(sharing, "SHARED_DRAWS_BUDGET", 0)
    over = IntegrationModel(area="walsall", scale=0.01, seed=seed(), weeks=10, scenario="baseline")
    again = over.week_zero()
    over.run()
    assert not again.draws.entries  # nothing kept past the budget
    pd.testing.assert_frame_equal(over.timeseries(), first.timeseries())


def test_a_new_replicate_makes_room_by_dropping_the_oldest_replicates_draws(monkeypatch):
    """A worker runs the scenarios of one replicate after another: once the budget is full, a new replicate's
    draws take the place of those of the replicate used longest ago (which are then drawn afresh if it comes back:
    the same numbers), so every replicate of a long study still shares."""
    import pandas as pd

    from sim.speed import sharing

    def replicate(r):
        seed = np.random.SeedSequence(5).spawn(3)[r]
        m = IntegrationModel(area="walsall", scale=0.01, seed=seed, weeks=6, scenario="baseline")
        start = m.week_zero()
        m.run()
        return start, m

    monkeypatch.setattr(sharing, "_LIVE_DRAWS", weakref.WeakSet())  # (none of other tests' replicates)
    a, _ = replicate(0)
    one = a.draws.nbytes
    assert one > 0
    monkeypatch.setattr(sharing, "SHARED_DRAWS_BUDGET", int(1.5 * one))  # room for one and a half
    b, _ = replicate(1)
    assert not a.draws.entries and a.draws.nbytes == 0  # the older replicate's draws made room
    assert b.draws.nbytes > 0.9 * one  # (the newer kept about as much as the first had)
    hits = []
    real_get = sharing.SharedDraws.get
    monkeypatch.setattr(sharing.SharedDraws, "get",
                        lambda self, key: hits.append(real_get(self, key) is not None) or real_get(self, key))
    shared = IntegrationModel(area="walsall", scale=0.01, seed=np.random.SeedSequence(5).spawn(3)[1], weeks=6,
                              scenario="balanced", start=b)
    shared.run()
    assert hits and all(hits)  # the newer replicate's runs share
    hits.clear()
    again = IntegrationModel(area="walsall", scale=0.01, seed=np.random.SeedSequence(5).spawn(3)[0], weeks=6,
                             scenario="balanced", start=a)
    again.run()
    alone = IntegrationModel(area="walsall", scale=0.01, seed=np.random.SeedSequence(5).spawn(3)[0], weeks=6,
                             scenario="balanced")
    alone.run()
    pd.testing.assert_frame_equal(again.timeseries(), alone.timeseries())  # the dropped replicate: drawn afresh


@pytest.mark.parametrize("seed", [1.5, -1, "abc", True])
def test_the_model_refuses_a_seed_that_is_not_a_whole_number(seed):
    """1.5 was run as seed 1 (and recorded as 1.5); -1 and 'abc' were numpy's or int()'s errors, naming no key."""
    from sim.params import ConfigError

    with pytest.raises(ConfigError, match="'seed' must be a whole number"):
        IntegrationModel(area="walsall", scale=0.005, seed=seed, weeks=2)
