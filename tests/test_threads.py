"""Models stepped at the same time in one process (the explorer's sessions, each in a thread of Solara's server)
give the numbers each gives alone: no rule keeps scratch state shared between models."""

import threading

import numpy as np

from sim.model import IntegrationModel


def _run(out: dict, k: int) -> None:
    m = IntegrationModel(area="walsall", scale=0.01, seed=3, weeks=30, scenario="balanced")
    m.run()
    out[k] = (m.timeseries(), m.pop.status.copy(), m.pop.english.copy())
    m.release()


def test_models_stepped_in_threads_at_once_give_their_own_numbers():
    alone: dict = {}
    _run(alone, 0)
    for _ in range(2):
        together: dict = {}
        threads = [threading.Thread(target=_run, args=(together, k)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(together) == [0, 1, 2]
        for ts, status, english in together.values():
            assert ts.equals(alone[0][0])
            assert np.array_equal(status, alone[0][1]) and np.array_equal(english, alone[0][2])
