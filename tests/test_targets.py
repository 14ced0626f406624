"""The targets table and the observation functions that compute each target's measure from simulated residents."""

import numpy as np
import pytest

from experiments import targets as T
from sim import observe
from sim.model import IntegrationModel
from sim.params import ConfigError


def test_the_targets_table_covers_every_domain_with_held_out_targets():
    ts = T.load()
    assert len(ts) >= 12
    held_out = [t for t in ts if t.role == "validate"]
    assert len(held_out) >= 4
    assert {t.domain for t in ts} == set(T.DOMAINS)
    assert {t.domain for t in held_out} >= {"mixing", "programme"}  # programme effects calibration never sees
    assert all(t.observation in T.OBSERVATIONS for t in ts)
    assert [t.id for t in T.load("calibrate")] + [t.id for t in T.load("validate")] == [t.id for t in ts]


@pytest.mark.parametrize("edit, message", [
    (lambda e: e.update(role="fit"), "unknown role 'fit'"),
    (lambda e: e.update(observation="vibes"), "unknown observation 'vibes'"),
    (lambda e: e.update(low=0.5, value=0.2), "low <= value <= high"),
    (lambda e: e.update(value=float("nan")), "finite number"),
    (lambda e: e.pop("source"), "missing \\['source'\\]"),
    (lambda e: e.update(area="leeds"), "unknown area 'leeds'"),
])
def test_a_bad_target_is_refused_naming_the_key(tmp_path, edit, message):
    import yaml

    entries = yaml.safe_load(T.TARGETS_FILE.read_text())
    edit(entries[0])
    f = tmp_path / "targets.yaml"
    f.write_text(yaml.safe_dump(entries))
    with pytest.raises(ConfigError, match=message):
        T.load(path=f)


def test_duplicate_ids_and_unknown_roles_are_refused(tmp_path):
    import yaml

    entries = yaml.safe_load(T.TARGETS_FILE.read_text())
    f = tmp_path / "targets.yaml"
    f.write_text(yaml.safe_dump(entries + entries[:1]))
    with pytest.raises(ConfigError, match="used twice"):
        T.load(path=f)
    with pytest.raises(ConfigError, match="allowed: calibrate, validate"):
        T.load(role="everything")


@pytest.fixture(scope="module")
def model():
    m = IntegrationModel(area="waltham_forest", scale=0.004, seed=3, weeks=4)
    m.run()
    yield m
    m.release()


def test_chance_of_meeting_is_one_minus_the_chance_of_missing_every_tie(model):
    net = model.net
    i = int(net.a[np.flatnonzero(net.alive & net.bridging)[0]])
    mine = np.flatnonzero(net.alive & net.bridging & ((net.a == i) | (net.b == i)))
    prog = model.programme_net
    mine_p = np.flatnonzero(prog.alive & prog.bridging & ((prog.a == i) | (prog.b == i)))
    miss = (np.prod((1 - observe.weekly_meeting(net)[mine]) ** 4)
            * np.prod((1 - observe.weekly_meeting(prog)[mine_p]) ** 4))
    assert observe.chance_of_meeting(model, bridging=True)[i] == pytest.approx(1 - miss)


def test_survey_measures_move_with_how_often_ties_meet(model):
    before = (observe.mixing_monthly(model), observe.neighbour_chat_monthly(model))
    saved = model.net.meet_thr.copy()
    model.net.meet_thr[:] = np.minimum(1.0, saved + 0.3)  # everyone meets less often
    after = (observe.mixing_monthly(model), observe.neighbour_chat_monthly(model))
    model.net.meet_thr[:] = saved
    assert 0 < after[0] < before[0] < 1 and 0 < after[1] < before[1] < 1
    taken = observe.opportunities_taken(model)
    assert 0 < taken < 1.5  # a ratio to the area's make-up, about 1 without homophily
    assert observe.opportunities_taken(model, ["white_british"]) < taken  # the majority mixes less, as surveyed


def test_every_observation_runs_at_a_tiny_size():
    ctx = T.Context(params={}, interventions={}, observation={k: v[0] for k, v in T.OBSERVATION_PARAMS.items()},
                    seed=2, scale=0.003, trial_scale=0.02, weeks=6)
    out = T.simulate(T.load(), ctx)
    assert set(out) == {t.id for t in T.load()}
    finite = {k: v for k, v in out.items() if np.isfinite(v)}
    assert len(finite) == len(out), out
    for k in ("cbel_english_itt", "cbel_social_itt", "ncs_interethnic_ties"):
        assert out[k] in (0.0, 1.0)  # a significance indicator per simulated trial
