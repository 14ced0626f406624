"""The speed machinery (sim.speed) switched off gives the same numbers as switched on: IntegrationModel(fast=False)
and SIM_FAST=0 run the simple way (each run builds and draws its own, on one thread, through Mesa's public
registration and collection) and nothing changes but the time taken."""

import subprocess
import sys

import numpy as np
import pytest

import sim.model as model_mod
import sim.speed.fast as speed_fast
from sim import indicators, network
from sim.model import IntegrationModel
from sim.processes import contact
from sim.speed.fast import Fast, Plain


def _run(fast, start=None, weeks=8, engine="vectorised", scale=0.01):
    m = IntegrationModel(area="walsall", scale=scale, seed=4, weeks=weeks, scenario="balanced", start=start,
                         fast=fast, engine=engine)
    m.run()
    out = (m.timeseries(), m.pop.status.copy(), m.pop.english.copy(), m.pop.attitude.copy(), m.net.alive.copy(),
           sorted(a.unique_id for a in m.agents))
    m.release()
    return out


def _same(x, y):
    assert x[0].equals(y[0])
    for a, b in zip(x[1:-1], y[1:-1]):
        assert np.array_equal(a, b)
    assert x[-1] == y[-1]


def test_the_switch_picks_the_machinery(monkeypatch):
    assert isinstance(IntegrationModel(area="walsall", scale=0.002, seed=1, weeks=1, fast=False).speed, Plain)
    assert isinstance(IntegrationModel(area="walsall", scale=0.002, seed=1, weeks=1, fast=True).speed, Fast)
    monkeypatch.setenv("SIM_FAST", "0")
    assert isinstance(IntegrationModel(area="walsall", scale=0.002, seed=1, weeks=1).speed, Plain)
    monkeypatch.setenv("SIM_FAST", "1")
    assert isinstance(IntegrationModel(area="walsall", scale=0.002, seed=1, weeks=1).speed, Fast)
    with pytest.raises(TypeError, match="'fast'"):
        IntegrationModel(area="walsall", scale=0.002, seed=1, weeks=1, fast="no")


def test_a_small_run_gives_the_same_numbers_with_the_machinery_off_and_on():
    _same(_run(False), _run(True))


def test_the_same_with_threads_draws_ahead_and_a_chunked_pass(monkeypatch):
    """A small run made to take the large network's paths (the second thread, draws made a week ahead, the contact
    pass in chunks), against the simple way."""
    monkeypatch.setattr(contact, "CHUNKED", 0)  # (in chunks: sums in another order than one pass's, so both so)
    off = _run(False)
    for module in (speed_fast, model_mod, indicators, network):
        monkeypatch.setattr(module, "BIG", 0)
    _same(_run(True), off)
    _same(_run(False), off)  # (the simple way whatever the thresholds)


def test_the_same_started_from_a_shared_week_zero():
    """A replicate's runs sharing their week-0 state and draws (on), or each building its own (off)."""
    first = IntegrationModel(area="walsall", scale=0.01, seed=4, weeks=8, scenario="baseline", fast=True)
    start = first.week_zero()
    first.run()
    assert start.state and start.draws.entries
    off_start = IntegrationModel(area="walsall", scale=0.01, seed=4, weeks=8, fast=False).week_zero()
    assert not off_start.state  # (off: nothing kept, nothing shared)
    on = _run(True, start=start)
    _same(on, _run(False, start=start))
    _same(on, _run(False))
    _same(on, _run(True, start=off_start))


def test_the_agent_engine_is_the_same_too():
    _same(_run(False, weeks=2, engine="agents", scale=0.002), _run(True, weeks=2, engine="agents", scale=0.002))


def test_sim_fast_0_leaves_the_process_wide_settings_alone():
    code = ("import sys, types, sim, sim.model\n"
            "from sim.speed import keep_freed_memory\n"
            "print(type(sys.modules.get('mesa.experimental')) is types.ModuleType, keep_freed_memory())")
    for env, want in (("0", "True False"), ("1", "False True")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={"SIM_FAST": env, "PYTHONPATH": ":".join(sys.path)})
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == want
