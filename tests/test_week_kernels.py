"""The compiled forms of weekly rules give exactly the numbers of the numpy forms they stand in for (the baselines
check whole runs; these check each form on its own, on states and draws chosen to reach every branch)."""

import dataclasses

import numpy as np
import pytest

from sim.labour import BAND_OF_YEAR
from sim.model import IntegrationModel
from sim.processes import employment as E
from sim.processes import employment_kernels as EK
from sim.processes import ties as T


@pytest.fixture(scope="module")
def stepped():
    """A model some weeks into a scenario (people have learnt English, found and lost work, aged)."""
    m = IntegrationModel(area="walsall", scale=0.01, seed=4, weeks=104, scenario="balanced")
    for _ in range(30):
        m.step()
    return m


def _both(model, u, p=None, pop_params=None):
    p = p or model.params.employment
    pop_params = pop_params or model.params.population
    args = (model.pop, model.week, p, pop_params, model.employment_shift, model.inactive_mix, None)
    fast = E.step(*args, u=u)
    compiled, E._compiled_form = E._compiled_form, lambda *a: False
    try:
        slow = E.step(*args, u=u)
    finally:
        E._compiled_form = compiled
    return fast, slow


@pytest.mark.parametrize("trial", range(6))
def test_the_employment_rule_compiled_gives_the_numpy_numbers(stepped, trial):
    rng = np.random.default_rng(trial)
    u = E.draws(rng, stepped.pop.capacity)
    if trial % 2:  # small uniforms: many find and lose work, students leave, band crossings redraw
        u *= np.float32(0.02)
    boost = stepped.week.job_boost
    saved = boost.copy()
    boost[rng.random(len(boost)) < 0.2] = np.float32(3.0)  # employment support's boost, capped finding rates
    try:
        assert E._compiled_form(stepped.pop, stepped.params.population, stepped.params.employment)
        fast, slow = _both(stepped, u)
    finally:
        boost[:] = saved
    assert np.array_equal(fast, slow)
    assert (fast != stepped.pop.status).sum() > 0  # the draws changed someone's status


def test_the_employment_rule_compiled_with_other_parameters(stepped):
    """Whole-number and extreme parameters (Python numbers) keep the compiled form's numbers those of numpy."""
    p = dataclasses.replace(stepped.params.employment, separation=0.05, max_finding=0.05, english_effect=2,
                            english_effect_women=0.0, leave_education=[1, 0.5, 0.0, 1e-3])
    pp = dataclasses.replace(stepped.params.population, employment_poor_english=-3, employment_female=0)
    assert E._compiled_form(stepped.pop, pp, p)
    rng = np.random.default_rng(9)
    u = E.draws(rng, stepped.pop.capacity)
    u[0] = np.float32(0.05) * (1 - np.float32(1e-3) * u[0])  # just under the cap on finding, which binds
    fast, slow = _both(stepped, u, p, pp)
    assert np.array_equal(fast, slow)
    pool = np.isin(stepped.pop.status, E.POOL) & stepped.pop.alive
    assert (fast[pool] == E.EMPLOYED).sum() > 0


def test_a_numpy_float_parameter_takes_the_numpy_form(stepped):
    """numpy computes the language terms in float64 for a numpy float64 parameter: the compiled form (float32
    there, as for a Python float) must not stand in for it."""
    pp = dataclasses.replace(stepped.params.population, employment_poor_english=np.float64(-1.005))
    assert not E._compiled_form(stepped.pop, pp, stepped.params.employment)


def test_the_exponents_are_numpys_bit_for_bit(stepped):
    """Every live resident through each block (the pool, turning 16, a band crossing now and a week on)."""
    pop, pp, p = stepped.pop, stepped.params.population, stepped.params.employment
    live = np.flatnonzero(pop.alive)
    rows = np.zeros((6, pop.capacity), dtype=np.int64)
    for k in (1, 3, 4):
        rows[k, :len(live)] = live
    counts = np.array([0, len(live), 0, len(live), len(live), 0])
    week = np.float32(1 / 52)
    saved = pop.english.copy()
    pop.english[live[::3]] = np.float32(4.5)  # outside 0-4: clipped (restored below)
    try:
        y = EK.employment_exponents(
            rows, counts, pop.age, week, pop.female, pop.main_english, pop.english, pop.english_entry,
            pop.employ_trait, np.asarray(pp.employment_age, dtype=np.float64), stepped.employment_shift,
            BAND_OF_YEAR, float(pp.employment_female), *(np.float32(getattr(pp, k)) for k in E._F32_POPULATION),
            np.float32(p.english_effect), np.float32(p.english_effect_women))
        r = np.concatenate((live,) * 4)
        age = np.concatenate((pop.age[live],) * 3 + (pop.age[live] + week,))
        eta = E.logit(age, pop.female[r], pop.main_english[r], pop.english[r], pop.english_entry[r],
                      pop.employ_trait[r], pp, p)
        ref = -(eta + E.band_shift(stepped.employment_shift, age))
    finally:
        pop.english[:] = saved
    assert y.dtype == ref.dtype == np.float64
    assert np.array_equal(y.view(np.int64), ref.view(np.int64))


def _join_numpy(teams, rows):
    """The numpy form ``WorkTeams.join`` had after building its index."""
    from sim.population import poor_english

    pop, rng, idx = teams.pop, teams.rng, teams.index
    key = pop.group[rows].astype(np.int32) * 2 + poor_english(pop.main_english[rows], pop.english[rows])
    ref = idx.draw(np.arange(len(rows)), key, np.zeros(len(rows), dtype=np.int8), 0.0, rng, check=False)
    anyone = idx.rows[rng.integers(0, len(idx.rows), size=len(rows))]
    ref = np.where(ref >= 0, ref, anyone)
    team = pop.workplace[ref]
    pop.workplace[rows] = np.where(team >= 0, team, pop.workplace[anyone])


@pytest.mark.parametrize("trial", range(4))
def test_joining_a_work_team_is_the_numpy_form(stepped, trial):
    """Joiners of every key, some whose key has no worker alive, some taken from the index's own members (whose
    workplaces are read before any is written), some workers without a workplace."""
    pop = stepped.pop
    saved = {k: getattr(pop, k).copy() for k in ("workplace", "alive")}
    draw = np.random.default_rng(trial)
    try:
        teams = E.WorkTeams(pop, None)
        teams.rng = np.random.default_rng(0)
        teams.join(np.zeros(0, dtype=np.int64))  # (nothing to do: no index built, nothing drawn)
        assert teams.index is None
        teams.join(np.flatnonzero(pop.alive)[:1])  # builds the index
        idx = teams.index
        pop.workplace[idx.rows[draw.random(len(idx.rows)) < 0.1]] = -1  # workers with no workplace
        pop.alive[idx.rows[draw.random(len(idx.rows)) < 0.2]] = False  # indexed workers who have since gone
        rows = np.unique(np.r_[draw.choice(np.flatnonzero(pop.alive), 200, replace=False), idx.rows[:50]])
        before = pop.workplace.copy()
        seed = int(draw.integers(1 << 30))
        teams.rng = np.random.default_rng(seed)
        teams.join(rows)
        fast, fast_stream = pop.workplace.copy(), teams.rng.bit_generator.state
        pop.workplace[:] = before
        teams.rng = np.random.default_rng(seed)
        _join_numpy(teams, rows)
        assert np.array_equal(fast, pop.workplace)
        assert fast_stream == teams.rng.bit_generator.state  # the same draws taken
        assert (fast[rows] != before[rows]).any()
    finally:
        for k, v in saved.items():
            getattr(pop, k)[:] = v


@pytest.mark.parametrize("trial", range(3))
def test_new_ties_compiled_are_the_numpy_form(stepped, trial):
    """Initiators alive and gone, of poor and good English, warmer and colder than the reference (chances
    clipped at 0 and 1 in the last trial's parameters)."""

    pop = stepped.pop
    p = stepped.params.ties
    if trial == 2:
        p = dataclasses.replace(p, homophily={**p.homophily, "venue": 0.9, "work": 0}, homophily_language=0.5,
                                attitude_homophily=3)
    saved = pop.alive.copy()
    draw = np.random.default_rng(trial)
    pop.alive[np.flatnonzero(pop.alive)[draw.random(int(pop.alive.sum())) < 0.05]] = False  # gone since indexed
    try:
        assert T._compiled_form(pop, p)
        seed = int(draw.integers(1 << 30))
        rng = np.random.default_rng(seed)
        fast = T.new_ties(pop, stepped.indices, p, rng, stepped.attitude_ref + 0.1 * trial)
        fast_stream = rng.bit_generator.state
        compiled, T._compiled_form = T._compiled_form, lambda *a: False
        try:
            rng = np.random.default_rng(seed)
            slow = T.new_ties(pop, stepped.indices, p, rng, stepped.attitude_ref + 0.1 * trial)
        finally:
            T._compiled_form = compiled
    finally:
        pop.alive[:] = saved
    assert fast_stream == rng.bit_generator.state
    assert len(fast) == len(slow) == 4
    for (a, b, s), (a2, b2, s2) in zip(fast, slow):
        assert s == s2 and np.array_equal(a, a2) and np.array_equal(b, b2) and a.dtype == a2.dtype
    assert sum(len(a) for a, _, _ in fast) > 20


def test_initiators_chances_are_numpys_bit_for_bit(stepped):
    from sim.network import SETTING_ATTR, TIE_SETTINGS, own_group_probability
    from sim.population import poor_english

    pop = stepped.pop
    p = dataclasses.replace(stepped.params.ties, attitude_homophily=0.37)  # (a warmth effect that is not 0)
    draw = np.random.default_rng(3)
    for s, name in enumerate(TIE_SETTINGS):
        members = stepped.indices[s].members
        at = np.flatnonzero(draw.random(len(members)) < 0.5)
        for reference in (0.0, stepped.attitude_ref, 0.9):
            init, chance = T.initiators(members, at, pop.alive, pop.attitude, np.float32(reference),
                                        pop.main_english, pop.english, float(p.homophily.get(name, 0.0)),
                                        float(p.homophily_language), np.float32(p.attitude_homophily))
            ref_init = members[at][pop.alive[members[at]]]
            ref = own_group_probability(p, name, poor_english(pop.main_english[ref_init], pop.english[ref_init]),
                                        pop.attitude[ref_init] - np.float32(reference))
            assert np.array_equal(init, ref_init) and chance.dtype == ref.dtype == np.float64
            assert np.array_equal(chance.view(np.int64), ref.view(np.int64)), SETTING_ATTR[s]


@pytest.mark.parametrize("trial", range(3))
def test_the_mental_health_rule_compiled_gives_the_numpy_numbers(stepped, trial):
    """Distressed and well refugees, treated or not, with draws on both sides of each threshold's float32 value
    (numpy compares float32 draws with a Python-number threshold in float32)."""
    from sim.processes import mental_health as MH

    pop, week, params = stepped.pop, stepped.week, stepped.params
    p = params.mental_health
    if trial == 2:  # an onset whose float32 value is below it, where comparing in float64 would differ
        p = next(q for q in (dataclasses.replace(p, remission_per_year=0.3, prevalence=x / 100) for x in range(50, 99))
                 if float(np.float32(MH.weekly_onset(q))) < MH.weekly_onset(q))
    draw = np.random.default_rng(trial)
    saved = (pop.refugee.copy(), pop.distress.copy(), week.recovery_chance.copy(), params.mental_health)
    n = pop.capacity
    try:
        params.mental_health = p
        pop.refugee[:] = draw.random(n) < 0.3
        pop.distress[:] = pop.refugee & (draw.random(n) < 0.5)
        week.recovery_chance[:] = np.where(draw.random(n) < 0.3, draw.random(n), 0).astype(np.float32)
        onset = np.float32(MH.weekly_onset(p))
        u = draw.random(n).astype(np.float32)
        near = draw.random(n) < 0.3  # exactly at, just under and just over the onset's float32 value
        around = np.array([np.nextafter(onset, np.float32(0)), onset, np.nextafter(onset, np.float32(1))])
        u[near] = draw.choice(around, int(near.sum()))
        assert MH._compiled_form(u, week, p)
        fast = MH.weekly(stepped, week, u)
        compiled, MH._compiled_form = MH._compiled_form, lambda *a: False
        try:
            slow = MH.weekly(stepped, week, u)
        finally:
            MH._compiled_form = compiled
    finally:
        pop.refugee[:], pop.distress[:], week.recovery_chance[:], params.mental_health = saved
    assert np.array_equal(fast, slow)
    assert fast.sum() > 10


@pytest.mark.parametrize("trial", range(3))
def test_the_attitude_rule_compiled_gives_the_numpy_numbers(stepped, trial):
    """``attitude.step`` (compiled) and ``attitude.step_numpy`` side by side on the same state: taught warmth and
    bridging contact of every size, targets clipped at both ends, rows of no one."""
    from sim.processes import attitude as A

    pop, week, params = stepped.pop, stepped.week, stepped.params
    draw = np.random.default_rng(trial)
    n = pop.capacity
    saved = (pop.attitude_lift.copy(), week.bridging_q.copy())
    try:
        pop.attitude_lift[:] = np.where(draw.random(n) < 0.3, draw.random(n) * (trial + 1), 0).astype(np.float32)
        week.bridging_q[:] = (draw.exponential(2.0 * trial + 0.5, n) * (draw.random(n) < 0.7)).astype(np.float32)
        effect = stepped.attitude_effect * (1, 5, -5)[trial]  # (large effects reach both clips)
        fast = A.step(pop, week, params.attitude, effect)
        slow = A.step_numpy(pop, week, params.attitude, effect)
    finally:
        pop.attitude_lift[:], week.bridging_q[:] = saved
    assert fast.dtype == slow.dtype == np.float32 and np.array_equal(fast, slow)
    assert np.array_equal(fast[~pop.alive], pop.attitude[~pop.alive]) and not np.array_equal(fast, pop.attitude)


def _ties_within_groups_numpy(members, group, rate, rng):
    """The numpy form ``interventions.base.tie_within_groups`` had: its pairs."""
    order = np.argsort(group, kind="stable")
    members, group = members[order], group[order]
    start = np.searchsorted(group, group, side="left")
    size = np.searchsorted(group, group, side="right") - start
    who = np.flatnonzero((rng.random(len(members)) < rate) & (size > 1))
    other = start[who] + (rng.random(len(who)) * (size[who] - 1)).astype(np.int64)
    other += other >= who
    return members[who], members[other]


@pytest.mark.parametrize("dtype", [np.int64, np.int16])
def test_ties_within_groups_are_the_numpy_forms(dtype):
    from sim.interventions.base import tie_within_groups

    class Recorder:
        def add_programme_ties(self, a, b, meet):
            self.pairs = (np.asarray(a, dtype=np.int32), np.asarray(b, dtype=np.int32))

    draw = np.random.default_rng(0)
    for _ in range(300):
        n = int(draw.integers(2, 200))
        members = draw.choice(10_000, size=n, replace=False).astype(np.int64)
        group = draw.integers(0, int(draw.integers(1, 40)), size=n).astype(dtype)  # singletons and large groups
        rate = float(draw.choice([0.05, 0.5, 1.0, draw.random()]))
        seed = int(draw.integers(1 << 30))
        model, rng = Recorder(), np.random.default_rng(seed)
        tie_within_groups(model, members, group, rate, 0.5, rng)
        ref_rng = np.random.default_rng(seed)
        a, b = _ties_within_groups_numpy(members, group, rate, ref_rng)
        assert np.array_equal(model.pairs[0], a) and np.array_equal(model.pairs[1], b)
        assert np.all(model.pairs[0] != model.pairs[1])
        assert rng.bit_generator.state == ref_rng.bit_generator.state


def test_time_left_after_programmes_is_numpys_bit_for_bit():
    from sim.network import TieParams
    from sim.processes import contact

    draw = np.random.default_rng(1)
    for displacement, budget in ((0.5, 6.0), (0.37, 5), (1, 3.3), (2.5, 1.0)):
        p = TieParams(displacement=displacement, time_budget=budget)
        contacts = draw.integers(0, 12, 5000).astype(np.int32)
        fast = contact.keep_after_programmes(contacts, p)
        used = p.displacement * contacts.astype(np.float32) / np.float32(p.time_budget)
        ref = np.clip(np.float32(1.0) - used, 0.0, 1.0).astype(np.float32)
        assert fast.dtype == np.float32 and np.array_equal(fast.view(np.int32), ref.view(np.int32))
        assert (fast < 1).any() and (fast == 0).any() == bool((ref == 0).any())


def test_setting_statuses_is_the_numpy_form(stepped):
    """Who starts and who stops work (live residents only), and the stoppers' workplaces, as the numpy lines the
    compiled pass replaced found them."""
    pop = stepped.pop
    draw = np.random.default_rng(5)
    status, workplace = pop.status.copy(), pop.workplace.copy()
    new = np.where(draw.random(len(status)) < 0.2, draw.integers(0, 8, len(status)), status).astype(status.dtype)
    old = status.copy()
    changed = np.flatnonzero(new != old)
    changed = changed[pop.alive[changed]]
    joins = new[changed] == E.EMPLOYED
    start = changed[joins & (old[changed] != E.EMPLOYED)]
    stop = changed[~joins & (old[changed] == E.EMPLOYED)]
    try:
        got = EK.set_status(pop.status, new, pop.alive, pop.workplace, E.EMPLOYED, E.NO_SETTING)
        assert np.array_equal(got, start) and len(start) and len(stop)
        assert np.array_equal(pop.status, new)
        expected = workplace.copy()
        expected[stop] = E.NO_SETTING
        assert np.array_equal(pop.workplace, expected)
    finally:
        pop.status[:], pop.workplace[:] = status, workplace


def _geometric_positions(n, prob, rng):
    """The numpy lines the tie initiators were drawn with (one geometric gap per chosen member)."""
    size = int(n * prob + 6 * np.sqrt(n * prob) + 16)
    pos = np.cumsum(rng.geometric(prob, size=size)) - 1
    while pos[-1] < n:
        pos = np.concatenate([pos, pos[-1] + np.cumsum(rng.geometric(prob, size=size))])
    return pos[pos < n]


@pytest.mark.parametrize("prob", [1e-6, 0.0192, 0.02291, 0.05876, 0.08, 0.3, 0.3333333333333333, 0.5, 0.99])
def test_tie_initiators_are_numpys_geometric_gaps(prob):
    # below a third numpy's geometric is an inversion of its standard exponential, which the compiled pass takes;
    # at and above it, numpy's own geometric: either way the positions and the stream's position are numpy's
    from sim.processes.ties import each_with_probability

    for seed in range(40):
        n = int(np.random.default_rng(seed + 99).integers(1, 40_000))
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        assert np.array_equal(each_with_probability(n, prob, a), _geometric_positions(n, prob, b))
        assert a.bit_generator.state == b.bit_generator.state


def test_geometric_gaps_carry_on_across_chunks():
    # the rare second chunk (more successes than the allowance) continues the running sum where the first ended
    e = np.random.default_rng(5).standard_exponential(300)
    log_q = float(np.log1p(-0.05))
    whole = np.empty(300, dtype=np.int64)
    k_whole, last_whole = T.gaps_below(e, log_q, np.int64(-1), 4000, whole, 0)
    split = np.empty(300, dtype=np.int64)
    k, last = T.gaps_below(e[:120], log_q, np.int64(-1), 4000, split, 0)
    k, last = T.gaps_below(e[120:], log_q, last, 4000, split, k)
    assert (k, last) == (k_whole, last_whole) and np.array_equal(split[:k], whole[:k_whole])
    assert np.array_equal(whole[:k_whole], (np.cumsum(np.ceil(-e / log_q).astype(np.int64)) - 1)[:k_whole])
