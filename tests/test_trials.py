"""Virtual trials reproduce the published evaluations the programme parameters were calibrated to."""

import subprocess
import sys

import numpy as np
import pytest

from experiments.trial import run_trial
from sim.params import ConfigError


def test_esol_trial_reproduces_the_esol_for_integration_fund_figure():
    # ESOL for Integration Fund evaluation (2022): 24% of learners moved up at least one level
    ups = [run_trial("esol", area="bradford", scale=0.05, seed=s, recruit=1200).participants["moved_up_a_level"]
           for s in (11, 12)]
    assert np.mean(ups) == pytest.approx(0.24, abs=0.05)


def test_community_english_trial_shows_significant_gains_in_english_and_mixing():
    # Learning and Work Institute (2018): 249 treated, 278 wait-listed women with little English; proficiency and
    # social mixing rose significantly faster in the treated group
    r = run_trial("esol", area="bradford", scale=0.1, seed=3, recruit=527)
    assert r.n_offer + r.n_control >= 500
    for k in ("english_gain", "moved_up_a_level", "bridging_ties_change"):
        assert r.itt[k]["difference"] > 0 and r.itt[k]["p_value"] < 0.05, (k, r.itt[k])
    assert r.itt["moved_up_a_level"]["ci_low"] > 0


def test_fluency_effect_on_work_matches_dustmann_and_fabbri():
    r = run_trial("esol", area="walsall", scale=0.05, seed=1, recruit=200)
    assert r.fluency_employment_effect == pytest.approx(0.22, abs=0.04)


def test_a_programme_without_an_english_component_shows_no_english_effect():
    r = run_trial("ncs", area="bradford", scale=0.1, seed=2, recruit=800)
    assert r.itt["bridging_ties_change"]["ci_low"] > 0
    assert abs(r.itt["english_gain"]["difference"]) < 0.02


def test_trial_refuses_bad_input():
    with pytest.raises(ConfigError, match="known: community_spaces"):
        run_trial("yoga")
    out = subprocess.run([sys.executable, "-m", "sim.trial", "esol", "scale=2"], capture_output=True, text=True)
    assert out.returncode != 0 and "scale" in out.stderr
    out = subprocess.run([sys.executable, "-m", "sim.trial", "esol", "colour=red"], capture_output=True, text=True)
    assert out.returncode != 0 and "colour" in out.stderr and "allowed" in out.stderr
