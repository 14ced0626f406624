"""The rule recipe of docs/architecture.md, tried as written: a throwaway weekly rule in a file of its own (its own
column, its own parameter), registered as the registry line does (``sim/processes/__init__.py`` names each rule's
module in ``RULE_MODULES`` and calls ``sim.processes.register`` with its ``RULE``; the rule here lives outside
``sim/``, so the test calls ``register`` itself), flows through the config, the parameter table, the input checks,
``Resident``'s attributes, births and both engines, and leaves every other number as it was.

The model is imported afresh in this process for the test, with the rule registered before the modules that
build on the registry at import (the config's ``ModelParams``, ``Resident``), as the registry line does; the
modules as they were are put back afterwards, so the other tests never see the rule.
"""

import importlib
import importlib.util
import sys
import textwrap
import types

import numpy as np
import pytest

RULE_FILE = textwrap.dedent('''
    """A throwaway rule: its column (0-1) grows with contact outside the household (a name no real rule takes)."""

    import dataclasses

    import numpy as np

    from sim.params import param
    from sim.processes.rule import Column, Rule


    @dataclasses.dataclass
    class ThrowawayParams:
        gain: float = param(0.05, "assumption: a throwaway rule's parameter", low=0, high=1, unit="per week")


    def grow(value, contacts, p):
        """The column after a week (arrays, or one resident's values): the rule, defined once."""
        seen = np.minimum(contacts, 5) / np.float32(5.0)
        return (value + np.float32(p.gain) * (np.float32(1.0) - value) * seen).astype(np.float32)


    def weekly(model, week, u=None):
        pop = model.pop
        return np.where(pop.alive, grow(pop.throwaway, week.contacts, model.params.throwaway), pop.throwaway)


    def weekly_one(model, i, prev, week, u=None):
        return grow(prev["throwaway"][i], week.contacts[i], model.params.throwaway)


    RULE = Rule(
        "throwaway", __doc__.splitlines()[0], step=weekly, step_one=weekly_one, group="throwaway",
        params=ThrowawayParams, owns=("throwaway",), reads=("contacts",),
        columns={"throwaway": Column(np.float32, missing=0.0, birth=0.5, start=0.5, doc="a throwaway column, 0-1")},
    )
''')


SAME_RUN = dict(area="walsall", scale=0.003, seed=9, weeks=6, scenario="balanced")


def _ours(name: str) -> bool:
    return name == "sim" or name.startswith("sim.")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """The model imported afresh with the throwaway rule registered, as a namespace of its modules."""
    path = tmp_path_factory.mktemp("rule") / "throwaway.py"
    path.write_text(RULE_FILE)
    import sim.model
    import sim.population
    import sim.processes

    known = (dict(sim.processes.PARAM_GROUPS), dict(sim.population.COLUMN_SPECS))
    without = sim.model.IntegrationModel(**SAME_RUN)  # (the model as it is, for the last test)
    without.run()
    reference = without.datacollector.get_model_vars_dataframe(), without.pop.copy_columns()
    without.release()
    saved = {k: v for k, v in sys.modules.items() if _ours(k)}
    for k in saved:
        del sys.modules[k]
    try:
        processes = importlib.import_module("sim.processes")
        spec = importlib.util.spec_from_file_location("throwaway_rule", path)
        rule = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(rule)
        processes.register(rule.RULE)  # what the registry line leads to
        gen = importlib.util.spec_from_file_location("gen_params_fresh", "scripts/gen_params.py")
        gen_params = importlib.util.module_from_spec(gen)
        gen.loader.exec_module(gen_params)
        yield types.SimpleNamespace(
            rule=rule, processes=processes, config=importlib.import_module("sim.config"),
            model=importlib.import_module("sim.model"), agents=importlib.import_module("sim.agents"),
            population=importlib.import_module("sim.population"), params=importlib.import_module("sim.params"),
            gen_params=gen_params, known=known, reference=reference)
    finally:
        for k in [k for k in sys.modules if _ours(k)]:
            del sys.modules[k]
        sys.modules.update(saved)


def test_the_registry_declares_the_rule_its_column_and_its_parameters(fresh):
    P = fresh.processes
    assert P.RULES[-1] is fresh.rule.RULE and P.COLUMN_RULES[-1] is fresh.rule.RULE
    assert P.OWNER["throwaway"] == "throwaway" and P.PARAM_GROUPS["throwaway"] is fresh.rule.ThrowawayParams
    assert "throwaway" in fresh.population.COLUMN_SPECS and "throwaway" in fresh.population.Population.COLUMNS
    # the modules as they were know nothing of it
    assert "throwaway" not in fresh.known[0] and "throwaway" not in fresh.known[1]


def test_the_config_the_parameter_table_and_the_input_checks_take_its_parameter(fresh):
    cfg = fresh.config
    assert [f.name for f in cfg.dataclasses.fields(cfg.ModelParams)][-1] == "throwaway"
    assert cfg.model_params({"throwaway": {"gain": 0.2}}).throwaway.gain == 0.2
    assert cfg.model_params(None).throwaway.gain == 0.05
    rows = {r["key"]: r for r in cfg.parameter_table()}
    assert rows["model.throwaway.gain"]["high"] == 1 and rows["model.throwaway.gain"]["unit"] == "per week"
    assert "throwaway:\n  gain: 0.05  # per week; assumption" in fresh.gen_params.yaml_text()
    for bad, key in (({"gain": 2.0}, "model.throwaway.gain"), ({"gian": 0.1}, "gian"),
                     ({"gain": float("nan")}, "model.throwaway.gain")):
        with pytest.raises(fresh.params.ConfigError, match=key):
            cfg.model_params({"throwaway": bad})
    with pytest.raises(fresh.params.ConfigError, match="model.throwaway.gain"):
        fresh.model.IntegrationModel(area="walsall", scale=0.003, seed=1, weeks=1, params={"throwaway": {"gain": -1}})


@pytest.mark.parametrize("engine", ["vectorised", "agents"])
def test_both_engines_run_the_rule_and_resident_has_the_column(fresh, engine):
    m = fresh.model.IntegrationModel(area="walsall", scale=0.003, seed=5, weeks=3, engine=engine,
                                     params={"throwaway": {"gain": 0.3}})
    pop = m.pop
    alive = pop.alive.copy()
    assert pop.throwaway.dtype == np.float32 and np.all(pop.throwaway[alive] == 0.5)
    assert np.all(pop.throwaway[~alive] == 0.0)
    m.run()
    c = pop.throwaway[pop.alive]
    assert c.min() >= 0.5 and c.max() <= 1.0 and (c > 0.5).mean() > 0.5  # most met someone: more confident
    row = int(np.flatnonzero(pop.alive)[0])
    resident = m.agent_of(row)
    assert resident.throwaway == pop.throwaway[row]
    resident.throwaway = 0.25
    assert pop.throwaway[row] == np.float32(0.25)
    assert type(resident).throwaway.__doc__ == "a throwaway column, 0-1"
    m.release()


def test_per_resident_equals_vectorised_and_births_take_the_declared_value(fresh):
    m = fresh.model.IntegrationModel(area="walsall", scale=0.003, seed=7, weeks=4)
    m.run()
    rule, pop = fresh.rule.RULE, m.pop
    prev = pop.copy_columns()
    assert "throwaway" in prev
    new = rule.step(m, m.week, None)
    rows = np.flatnonzero(pop.alive)
    assert all(rule.step_one(m, int(i), prev, m.week, None) == new[i] for i in rows)
    mothers = np.flatnonzero(pop.alive & pop.female & (pop.age > 20))[:2]
    born = m.allocate(len(mothers))
    fresh.population.fill_births(pop, born, mothers, np.random.default_rng(0))
    assert np.all(pop.throwaway[born] == 0.5)
    m.release()


def test_a_rule_that_draws_nothing_leaves_every_other_number_as_it_was(fresh):
    m = fresh.model.IntegrationModel(**SAME_RUN)
    m.run()
    indicators, columns = fresh.reference
    assert m.datacollector.get_model_vars_dataframe().equals(indicators)
    assert set(m.pop.COLUMNS) == set(columns) | {"throwaway"}
    for c, a in columns.items():
        assert np.array_equal(getattr(m.pop, c), a), c
    m.release()
