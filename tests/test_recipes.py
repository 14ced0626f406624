"""The rule recipe of docs/architecture.md, tried as written: a throwaway weekly rule in a file of its own (its own
column, its own parameter), added with the one line the registry takes (``sim.processes.register``, which the
registry in ``sim/processes/__init__.py`` calls for each of its rules), flows through the config, the parameter
table, the input checks, ``Resident``'s attributes, births and both engines, and leaves every other number as it
was.

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
    """Confidence (0-1) grows with contact outside the household."""

    import dataclasses

    import numpy as np

    from sim.params import param
    from sim.processes.rule import Column, Rule


    @dataclasses.dataclass
    class ConfidenceParams:
        gain: float = param(0.05, "assumption: a throwaway rule's parameter", low=0, high=1, unit="per week")


    def grow(confidence, contacts, p):
        """Confidence after a week (arrays, or one resident's values): the rule, defined once."""
        seen = np.minimum(contacts, 5) / np.float32(5.0)
        return (confidence + np.float32(p.gain) * (np.float32(1.0) - confidence) * seen).astype(np.float32)


    def weekly(model, week, u=None):
        pop = model.pop
        return np.where(pop.alive, grow(pop.confidence, week.contacts, model.params.confidence), pop.confidence)


    def weekly_one(model, i, prev, week, u=None):
        return grow(prev["confidence"][i], week.contacts[i], model.params.confidence)


    RULE = Rule(
        "confidence", __doc__.splitlines()[0], step=weekly, step_one=weekly_one, group="confidence",
        params=ConfidenceParams, owns=("confidence",), reads=("contacts",),
        columns={"confidence": Column(np.float32, missing=0.0, birth=0.5, start=0.5, doc="confidence, 0-1")},
    )
''')


SAME_RUN = dict(area="walsall", scale=0.003, seed=9, weeks=6, scenario="balanced")


def _ours(name: str) -> bool:
    return name == "sim" or name.startswith("sim.")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """The model imported afresh with the throwaway rule registered, as a namespace of its modules."""
    path = tmp_path_factory.mktemp("rule") / "confidence.py"
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
        spec = importlib.util.spec_from_file_location("confidence_rule", path)
        rule = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(rule)
        processes.register(rule.RULE)  # the registry line
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
    assert P.OWNER["confidence"] == "confidence" and P.PARAM_GROUPS["confidence"] is fresh.rule.ConfidenceParams
    assert "confidence" in fresh.population.COLUMN_SPECS and "confidence" in fresh.population.Population.COLUMNS
    # the modules as they were know nothing of it
    assert "confidence" not in fresh.known[0] and "confidence" not in fresh.known[1]


def test_the_config_the_parameter_table_and_the_input_checks_take_its_parameter(fresh):
    cfg = fresh.config
    assert [f.name for f in cfg.dataclasses.fields(cfg.ModelParams)][-1] == "confidence"
    assert cfg.model_params({"confidence": {"gain": 0.2}}).confidence.gain == 0.2
    assert cfg.model_params(None).confidence.gain == 0.05
    rows = {r["key"]: r for r in cfg.parameter_table()}
    assert rows["model.confidence.gain"]["high"] == 1 and rows["model.confidence.gain"]["unit"] == "per week"
    assert "confidence:\n  gain: 0.05  # per week; assumption" in fresh.gen_params.yaml_text()
    for bad, key in (({"gain": 2.0}, "model.confidence.gain"), ({"gian": 0.1}, "gian"),
                     ({"gain": float("nan")}, "model.confidence.gain")):
        with pytest.raises(fresh.params.ConfigError, match=key):
            cfg.model_params({"confidence": bad})
    with pytest.raises(fresh.params.ConfigError, match="model.confidence.gain"):
        fresh.model.IntegrationModel(area="walsall", scale=0.003, seed=1, weeks=1, params={"confidence": {"gain": -1}})


@pytest.mark.parametrize("engine", ["vectorised", "agents"])
def test_both_engines_run_the_rule_and_resident_has_the_column(fresh, engine):
    m = fresh.model.IntegrationModel(area="walsall", scale=0.003, seed=5, weeks=3, engine=engine,
                                     params={"confidence": {"gain": 0.3}})
    pop = m.pop
    alive = pop.alive.copy()
    assert pop.confidence.dtype == np.float32 and np.all(pop.confidence[alive] == 0.5)
    assert np.all(pop.confidence[~alive] == 0.0)
    m.run()
    c = pop.confidence[pop.alive]
    assert c.min() >= 0.5 and c.max() <= 1.0 and (c > 0.5).mean() > 0.5  # most met someone: more confident
    row = int(np.flatnonzero(pop.alive)[0])
    resident = m.agent_of(row)
    assert resident.confidence == pop.confidence[row]
    resident.confidence = 0.25
    assert pop.confidence[row] == np.float32(0.25)
    assert type(resident).confidence.__doc__ == "confidence, 0-1"
    m.release()


def test_per_resident_equals_vectorised_and_births_take_the_declared_value(fresh):
    m = fresh.model.IntegrationModel(area="walsall", scale=0.003, seed=7, weeks=4)
    m.run()
    rule, pop = fresh.rule.RULE, m.pop
    prev = pop.copy_columns()
    assert "confidence" in prev
    new = rule.step(m, m.week, None)
    rows = np.flatnonzero(pop.alive)
    assert all(rule.step_one(m, int(i), prev, m.week, None) == new[i] for i in rows)
    mothers = np.flatnonzero(pop.alive & pop.female & (pop.age > 20))[:2]
    born = m.allocate(len(mothers))
    fresh.population.fill_births(pop, born, mothers, np.random.default_rng(0))
    assert np.all(pop.confidence[born] == 0.5)
    m.release()


def test_a_rule_that_draws_nothing_leaves_every_other_number_as_it_was(fresh):
    m = fresh.model.IntegrationModel(**SAME_RUN)
    m.run()
    indicators, columns = fresh.reference
    assert m.datacollector.get_model_vars_dataframe().equals(indicators)
    assert set(m.pop.COLUMNS) == set(columns) | {"confidence"}
    for c, a in columns.items():
        assert np.array_equal(getattr(m.pop, c), a), c
    m.release()
