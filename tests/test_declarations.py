"""Rules declare their parameters, columns and weekly inputs once; the rest of the model follows the declarations.
Also: the contact rule's per-resident form equals the compiled pass, and Mesa's registries are right under both
the bulk and the public registration path."""

import dataclasses
import gc
import weakref

import numpy as np
import pytest

from sim.agents import Resident
from sim.config import ModelParams, model_params
from sim.model import IntegrationModel
from sim.population import COLUMN_SPECS, Population, fill_births
from sim.processes import OWNER, PARAM_GROUPS, RULES, WEEK_FIELDS, check_declarations, contact, new_week
from sim.processes.rule import Rule, WeekField
from sim.speed import mesa_bulk


def test_config_groups_and_model_params_follow_the_rules():
    assert list(PARAM_GROUPS)[0] == "population"
    assert [r.group for r in RULES if r.group] == list(PARAM_GROUPS)[1:]
    assert [f.name for f in dataclasses.fields(ModelParams)] == list(PARAM_GROUPS)
    p = model_params({"language": {"class_hour": 0.01}})
    assert isinstance(p.language, PARAM_GROUPS["language"]) and p.language.class_hour == 0.01


def test_every_column_is_declared_once_and_owned_at_most_once():
    # the population's arrays are the declared columns (Population makes them from the table, and refuses a
    # built column that is not declared)
    assert Population.COLUMNS == tuple(COLUMN_SPECS) and len(set(Population.COLUMNS)) == len(COLUMN_SPECS)
    owned = [c for r in RULES for c in r.owns]
    assert len(owned) == len(set(owned)) and set(owned) <= set(COLUMN_SPECS)
    assert OWNER["english"] == "language" and OWNER["status"] == "employment"


def test_week_has_each_declared_input_at_its_neutral_value_and_grows_with_it():
    w = new_week(5)
    for name, f in WEEK_FIELDS.items():
        assert getattr(w, name).dtype == f.dtype and np.all(getattr(w, name) == f.neutral)
    w.job_boost[:] = 3.0
    w.grow(8)
    assert list(w.job_boost) == [3.0] * 5 + [1.0] * 3 and list(w.class_hours) == [0.0] * 8


@pytest.mark.parametrize("bad, message", [
    (dict(owns=("english",)), "owned by both"),
    (dict(owns=("shoe_size",)), "not a population column"),
    (dict(reads=("weather",)), "no rule defines"),
    (dict(defines={"class_hours": WeekField(np.float32, 0.0, "again")}), "defined twice"),
    (dict(group="language", params=dict), "is taken"),
    (dict(kind="column", owns=(), step_one=None), "a column rule owns"),
    (dict(kind="weather"), "unknown kind"),
])
def test_a_misdeclared_rule_is_refused(bad, message):
    rule = Rule("extra", "a new rule", **{"step": lambda *a: None, "step_one": lambda *a: None, "kind": "ties",
                                          **bad})
    with pytest.raises(TypeError, match=message):
        check_declarations(RULES + (rule,))


def test_births_follow_the_column_table():
    m = IntegrationModel(area="walsall", scale=0.003, seed=2, weeks=1)
    pop = m.pop
    mothers = np.flatnonzero(pop.alive & pop.female & (pop.age > 20) & ~pop.main_english)[:3]
    rows = m.allocate(len(mothers))
    fill_births(pop, rows, mothers, np.random.default_rng(0))
    assert np.all(pop.alive[rows]) and np.all(pop.age[rows] == 0) and np.all(pop.status[rows] == 0)
    assert np.array_equal(pop.household[rows], pop.household[mothers])
    assert np.all(pop.english[rows] == 0.5) and np.all(pop.workplace[rows] == -1)
    m.release()


def test_contact_per_resident_equals_the_compiled_pass():
    m = IntegrationModel(area="bradford", scale=0.005, seed=8, weeks=3)
    m.run()
    pop, net, p = m.pop, m.net, m.params.ties
    n = pop.capacity
    u = np.random.default_rng(3).random(len(net.alive), dtype=np.float32)
    fade = np.zeros(len(u), dtype=bool)
    out = (np.zeros(n, np.int32), np.zeros(n, np.float32), np.zeros(n, np.float32))
    # some residents spent time on programmes this week: their everyday ties meet less
    keep = np.where(np.random.default_rng(4).random(n) < 0.3, 0.5, 1.0).astype(np.float32)
    contact.meet_range(0, len(u), u, net.fade_p, net.meet_thr, net.a, net.b, net.setting, net.bridging,
               contact.setting_table(p, "quality"), contact.speaker_code(pop), keep, fade, *out,
               np.empty(len(u), np.int64))
    met = np.zeros(len(u), dtype=bool)
    for k in np.flatnonzero(net.alive):
        f, met[k] = contact.tie_week(u[k], net.fade_p[k], net.meet_thr[k], keep[net.a[k]] * keep[net.b[k]])
        assert f == fade[k]
    assert met.any() and fade.any()
    prev = pop.copy_columns()
    live = np.flatnonzero(net.alive)
    ends = np.r_[net.a[live], net.b[live]]
    slots = np.r_[live, live]
    order = np.argsort(ends, kind="stable")
    ends, slots = ends[order], slots[order]
    checked = 0
    for i in np.flatnonzero(pop.alive):
        mine = slots[np.searchsorted(ends, i):np.searchsorted(ends, i, side="right")]
        c, q, e = contact.exposure_one(int(i), mine, prev, net, met, p)
        assert c == out[0][i] and e == out[2][i] and np.isclose(q, out[1][i], rtol=1e-5)
        checked += e > 0
    assert checked > 0
    m.release()


def test_public_registration_path_gives_the_same_model(monkeypatch):
    """Under another Mesa version the bulk path is off: the model still runs, with one agent per resident."""
    bulk = IntegrationModel(area="walsall", scale=0.003, seed=6, weeks=4)
    bulk.run()
    monkeypatch.setattr(mesa_bulk, "BULK", False)
    public = IntegrationModel(area="walsall", scale=0.003, seed=6, weeks=4)
    public.run()
    assert len(public.agents) == public.pop.n == bulk.pop.n
    # the bulk registries after four weeks of deaths, moves and births hold just the residents, as Mesa's do
    for m in (bulk, public):
        assert len(m.agents) == len(m.agents_by_type[Resident]) == len(m._all_agents) == m.pop.n
        assert set(m.agents_by_type[Resident]) == set(m.agents)
    assert sorted(a.row for a in public.agents) == sorted(a.row for a in bulk.agents)
    assert public.timeseries().equals(bulk.timeseries())
    bulk.release()
    public.release()


def test_recycled_agents_are_those_a_new_model_makes(monkeypatch):
    """A study's released run leaves its agents, emptied, to the next model of the process: that model's agents
    (ids, rows, model, attributes) and numbers are those of one that makes every agent anew, and the released model
    is freed (no kept agent refers to it)."""
    monkeypatch.setattr(mesa_bulk, "_SPARE", {})
    first = IntegrationModel(area="walsall", scale=0.003, seed=6, weeks=4)
    first.run()
    first.release(recycle=True)
    kept = len(mesa_bulk._SPARE[Resident])
    assert kept > 0 and all(not a.__dict__ for a in mesa_bulk._SPARE[Resident])
    gone = weakref.ref(first)
    del first
    gc.collect()
    assert gone() is None
    again = IntegrationModel(area="walsall", scale=0.005, seed=7, weeks=6)  # more residents than were kept
    assert len(mesa_bulk._SPARE[Resident]) == 0
    again.run()
    monkeypatch.setattr(mesa_bulk, "_SPARE", {})
    anew = IntegrationModel(area="walsall", scale=0.005, seed=7, weeks=6)
    anew.run()
    assert again.timeseries().equals(anew.timeseries())
    def described(m):
        return sorted((a.unique_id, a.row, a.pos, sorted(vars(a))) for a in m.agents)
    assert described(again) == described(anew) and all(a.model is again for a in again.agents)
    assert len(again.agents_by_type[Resident]) == len(again._all_agents) == again.pop.n
    again.release()
    anew.release()
