"""Each weekly rule is defined once: given the same state, the same weekly inputs and the same random draws, its
per-resident form (Resident.step, the oracle engine) gives exactly the vectorised result for every resident."""

import numpy as np
import pytest

from sim.model import IntegrationModel
from sim.population import CHILD, EMPLOYED
from sim.processes import COLUMN_RULES, employment


@pytest.fixture(scope="module")
def model():
    m = IntegrationModel(area="bradford", scale=0.01, seed=21, weeks=6)
    m.run()  # a few weeks in: varied states
    pop, rng = m.pop, np.random.default_rng(5)
    alive = np.flatnonzero(pop.alive)
    # put some residents at the edges the rules treat specially: a birthday into another age band, turning 16,
    # reaching pension age
    edge = rng.choice(alive, size=min(300, len(alive)), replace=False)
    pop.age[edge] = rng.choice(np.array([17.99, 24.995, 49.99, 59.995, 64.99, 65.99, 15.999], np.float32), len(edge))
    # and enough refugees, distressed and well, for the mental-health rule to have something to change
    ref = rng.choice(alive, size=min(400, len(alive)), replace=False)
    pop.refugee[ref] = True
    pop.distress[ref] = rng.random(len(ref)) < 0.5
    yield m
    m.release()


def _week_inputs(m, rng):
    n = m.pop.capacity
    w = m.week
    w.english_contacts = rng.poisson(2.0, n).astype(np.float32)
    w.class_hours = np.where(rng.random(n) < 0.2, rng.uniform(0, 6, n), 0).astype(np.float32)
    w.job_boost = np.where(rng.random(n) < 0.2, 2.0, 1.0).astype(np.float32)
    w.bridging_q = rng.gamma(1.0, 1.5, n).astype(np.float32)
    w.learn_factor = np.where(rng.random(n) < 0.2, 0.7, 1.0).astype(np.float32)
    w.recovery_chance = np.where(rng.random(n) < 0.3, 0.5, 0.0).astype(np.float32)
    w.attitude_nudge = np.where(rng.random(n) < 0.2, 0.01, 0.0).astype(np.float32)
    return w


@pytest.mark.parametrize("rule", COLUMN_RULES, ids=[r.name for r in COLUMN_RULES])
def test_each_column_rule_per_resident_equals_vectorised(model, rule):
    """Every declared column rule (a new one is picked up here without a new test): the two forms, through the
    very callables the engines use, agree exactly for every resident."""
    m = model
    w = _week_inputs(m, np.random.default_rng(1))
    u = rule.draws(m) if rule.draws else None
    vec = rule.step(m, w, u)
    prev = m.pop.copy_columns()
    alive = np.flatnonzero(m.pop.alive)
    one = np.array([rule.step_one(m, i, prev, w, u) for i in alive], dtype=vec.dtype)
    assert np.array_equal(one, vec[alive])
    changed = (vec[alive] != prev[rule.owns[0]][alive]).sum()
    assert changed > 20  # the rule did something to compare


def test_employment_comparison_covers_its_branches(model):
    m, w = model, _week_inputs(model, np.random.default_rng(2))
    u = employment.draws(np.random.default_rng(3), m.pop.capacity)
    vec = employment.RULE.step(m, w, u)
    alive = np.flatnonzero(m.pop.alive)
    # the branches were exercised: jobs found and lost, children turned 16
    before, after = m.pop.status[alive], vec[alive]
    assert ((before != EMPLOYED) & (after == EMPLOYED)).any() and ((before == EMPLOYED) & (after != EMPLOYED)).any()
    assert ((before == CHILD) & (after != CHILD)).any()


def test_tie_initiators_are_one_bernoulli_trial_per_member():
    # the vectorised sampler must give the per-resident rule's distribution: each member independently w.p. form
    from sim.processes.ties import each_with_probability

    rng = np.random.default_rng(0)
    n, f, reps = 500, 0.05, 4000
    counts, sizes = np.zeros(n), []
    for _ in range(reps):
        idx = each_with_probability(n, f, rng)
        assert len(np.unique(idx)) == len(idx) and (idx < n).all()
        counts[idx] += 1
        sizes.append(len(idx))
    assert np.mean(sizes) == pytest.approx(n * f, rel=0.02)
    assert np.var(sizes) == pytest.approx(n * f * (1 - f), rel=0.1)  # binomial, not Poisson-with-repeats
    assert counts.max() / reps < f * 1.5 and counts.min() / reps > f * 0.5  # every member alike
    assert len(each_with_probability(n, 0.0, rng)) == 0 and len(each_with_probability(n, 1.0, rng)) == n
