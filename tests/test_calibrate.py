"""History matching: emulators rule out what cannot match, the validate targets are never read, and a calibration
resumes from its cached evaluations."""

import json

import numpy as np
import pandas as pd
import pytest

from experiments import calibrate as C
from experiments import emulator as E
from experiments import targets as T
from experiments import uncertainty as U
from sim.params import ConfigError

TINY = {"area": "walsall", "seed": 3, "scale": 0.003, "weeks": 6, "model": {}, "interventions": {}, "replicates": 1,
        "name": "calibrate", "kind": "calibrate", "waves": 2, "points": 6, "ensemble_size": 2,
        "max_ensemble_runs": 4, "candidates": 400, "max_candidates": 2000, "trial_scale": 0.02, "cutoff": 3.0,
        "discrepancy": 0.5,
        "parameters": ["model.language.class_hour", {"observation.esol_level_width": [0.4, 0.8]}], "workers": 1,
        "publish": None}


def _target(value, low, high):
    return T.Target("t", "calibrate", "language", value, low, high, "stated tolerance", "", "", "esol_fund_cohort",
                    "bradford", "", "", "")


def test_the_emulators_rule_out_what_cannot_match_and_keep_what_can():
    rng = np.random.default_rng(0)
    X = rng.random((40, 2))
    Y = (X[:, :1] + 0.01 * rng.normal(size=(40, 1)))  # the output is the first input; the second does nothing
    em = E.Emulator(X, Y, seed=0)
    mean, sd, noise = em.predict(np.array([[0.25, 0.5], [0.8, 0.5]]))
    assert mean[:, 0] == pytest.approx([0.25, 0.8], abs=0.03) and (sd < 0.05).all()
    U = rng.random((2000, 2))
    keep, alone = E.not_ruled_out([em], [_target(0.3, 0.28, 0.32)], U, 3.0, 0.5, diagnose=True)
    assert 0.01 < keep.mean() < 0.3 and alone[0] == pytest.approx(keep.mean())
    assert np.abs(U[keep, 0] - 0.3).max() < 0.12  # what is kept is near the target ...
    assert np.ptp(U[keep, 1]) > 0.8  # ... whatever the inactive input


def test_the_prior_box_and_bad_settings(tmp_path):
    box = C.prior(["model.language.class_hour", "observation.esol_fund_hours"], 0.5)
    assert box["names"] == ["model.language.class_hour", "observation.esol_fund_hours"]
    assert box["bounds"][1] == [60.0, 200.0]
    with pytest.raises(ConfigError, match="observation parameters: observation.esol_level_width"):
        C.prior(["observation.mood"], 0.5)
    with pytest.raises(ConfigError, match="ensemble_size"):
        C.check({**TINY, "ensemble_size": 10, "max_ensemble_runs": 4})
    with pytest.raises(ConfigError, match="study.waves"):
        C.check({**TINY, "waves": 0})


def test_a_tiny_calibration_runs_end_to_end_never_reads_held_out_targets_and_resumes(tmp_path, monkeypatch):
    roles, calls = [], []
    load = T.load
    monkeypatch.setattr(T, "load", lambda role=None, **kw: (roles.append(role), load(role, **kw))[1])
    simulate = T.simulate

    def spy(targets, ctx):
        assert all(t.role == "calibrate" for t in targets)
        calls.append(1)
        return simulate(targets, ctx)

    monkeypatch.setattr(T, "simulate", spy)
    for t in load("validate"):  # a held-out observation that is ever computed fails the test
        monkeypatch.setitem(T.OBSERVATIONS, t.observation, ("trial", lambda ctx: pytest.fail("validate target read")))
    out = C.run(dict(TINY), tmp_path / "cal", progress=False)
    assert set(roles) == {"calibrate"}
    runs = pd.read_csv(out / "runs.csv")
    fit = pd.read_csv(out / "fit.csv")
    meta = json.loads((out / "calibration.json").read_text())
    assert len(runs) == len(calls) >= 6 + 2
    assert set(fit["target"]) == {t.id for t in load("calibrate")}
    assert meta["waves"][0]["runs"] == 6 and meta["code_fingerprint"]
    assert (out / "calibration_targets.png").exists()
    ensemble = pd.read_csv(out / "ensemble.csv")
    assert ensemble["accepted"].all() if len(ensemble) else True
    # every other uncertain parameter is drawn with each run from its plausible range: members are whole sets
    assert len(meta["drawn"]) > 80 and "model.language.class_hour" not in meta["drawn"]
    for key, (lo, hi) in zip(meta["drawn"], meta["drawn_bounds"]):
        assert runs[key].between(lo, hi).all() and runs[key].nunique() == len(runs), key
    n = len(calls)
    C.run(dict(TINY), tmp_path / "cal", progress=False)  # the same settings again: every evaluation is cached
    assert len(calls) == n


def test_parameters_the_study_sets_are_held_not_drawn():
    names = ["model.language.class_hour"]
    drawn = dict(C.others({**TINY, "model": {"ties": {"meet": {"work": 0.9}}, "language": {"base": 0.001}}}, names))
    assert "model.ties.meet.work" not in drawn and "model.language.base" not in drawn
    assert "model.ties.meet.neighbourhood" in drawn and "model.language.class_hour" not in drawn
    assert C.others({**TINY, "others": "defaults"}, names) == []
    assert C.drawn_values(5, [[0, 1], [10, 20]]) == C.drawn_values(5, [[0, 1], [10, 20]])


def test_a_published_ensemble_is_read_back(tmp_path):
    folder = tmp_path / "done"
    folder.mkdir()
    pd.DataFrame({"model.language.class_hour": [0.007, 0.008]}).to_csv(folder / "ensemble.csv", index=False)
    for name in ("fit.csv", "ranges.csv"):
        (folder / name).write_text("x\n1\n")
    (folder / "calibration.json").write_text(json.dumps({"settings_key": "abc"}))
    where = C.publish(folder, tmp_path / "data" / "calibration" / "default")
    members, meta = U.load_ensemble(where)
    assert len(members) == 2 and meta["settings_key"] == "abc"
    with pytest.raises(ConfigError, match="no calibration ensemble"):
        U.load_ensemble(tmp_path / "nowhere")


def test_the_published_ensemble_is_reproduced_by_the_code_that_is_here():
    """Nothing stale: a member of data/calibration/default, rerun with its parameters, seed and the calibration's
    sizes, gives the outputs stored with it. If the model changed, rerun the calibration on purpose:
    python -m sim experiment=calibrate study.publish=data/calibration/default, then experiment=validate."""
    members, meta = U.load_ensemble("data/calibration/default")
    first = members.iloc[0]
    names = U.member_names(meta)
    ctx = T.context_for(meta["study"], names, [float(first[n]) for n in names], int(first["seed"]))
    got = T.simulate(T.load("calibrate"), ctx)
    stale = {k: (float(first[k]), v) for k, v in got.items() if not np.isclose(v, first[k], rtol=1e-9)}
    assert not stale, f"the published ensemble was made by other code or targets: {stale}"


def test_the_calibration_runs_through_submitit_as_the_sweeps_do(tmp_path):
    """study.launcher=submitit_local: the SLURM path (submitit job arrays) on this machine, with the same
    evaluations as local workers give (the same seeds and points)."""
    study = {**TINY, "waves": 1, "points": 4, "ensemble_size": 1, "max_ensemble_runs": 1,
             "parameters": ["model.language.class_hour"]}
    local = C.run({**study, "workers": 1}, tmp_path / "local", progress=False)
    slurm = C.run({**study, "workers": 2, "launcher": "submitit_local"}, tmp_path / "submitit", progress=False)
    a, b = pd.read_csv(local / "runs.csv"), pd.read_csv(slurm / "runs.csv")
    assert len(a) == 5 and a.equals(b)
    assert any((slurm / "submitit").rglob("*.out"))
