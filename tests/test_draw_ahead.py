"""Next week's draws made a week ahead on the second thread (VectorisedEngine.draw_ahead) change no number: the
same runs with and without them, also when a size changes between the draws and their week."""

import numpy as np
import pytest

import sim.speed.fast as speed_fast
from sim.model import IntegrationModel


def _run(monkeypatch, ahead: bool, grow_at=None, weeks=9):
    # large models draw ahead; a threshold of 0 makes a small one do so too
    monkeypatch.setattr(speed_fast, "BIG", 0 if ahead else 10**12)
    m = IntegrationModel(area="walsall", scale=0.02, seed=5, weeks=weeks, scenario="balanced")
    for _ in range(weeks):
        m.step()
        if m.week_no == grow_at:  # between this week's draws ahead and the week they are for
            m._grow(m.pop.capacity + 37)  # every per-resident stream's size changes
            m.net._grow(len(m.net.alive) + 1001)  # and the contact pass's
        if ahead and m.week_no < weeks:
            assert m.speed.ahead, "draws were not made ahead"
    out = (m.timeseries(), m.pop.status.copy(), m.pop.english.copy(), m.pop.distress.copy(), m.pop.attitude.copy(),
           m.net.alive.copy())
    m.release()
    return out


def _same(x, y):
    assert x[0].equals(y[0])
    for a, b in zip(x[1:], y[1:]):
        assert np.array_equal(a, b)


def test_draws_made_ahead_are_the_draws_of_their_week(monkeypatch):
    _same(_run(monkeypatch, ahead=True), _run(monkeypatch, ahead=False))


@pytest.mark.parametrize("grow_at", [3])
def test_a_size_changed_meanwhile_puts_the_streams_back(monkeypatch, grow_at):
    _same(_run(monkeypatch, ahead=True, grow_at=grow_at), _run(monkeypatch, ahead=False, grow_at=grow_at))


def test_a_released_model_waits_for_its_draws(monkeypatch):
    monkeypatch.setattr(speed_fast, "BIG", 0)
    m = IntegrationModel(area="walsall", scale=0.02, seed=5, weeks=4)
    m.step()
    assert m.speed.ahead
    m.release()
    assert m.speed.ahead == {}
