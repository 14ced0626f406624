"""Every parameter has a source or is labelled an assumption; the generated config and table are current."""

import subprocess
import sys

import pytest

from sim.config import model_params, parameter_table
from sim.params import ConfigError


def test_generated_config_and_parameter_table_are_current():
    r = subprocess.run([sys.executable, "scripts/gen_params.py", "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_every_parameter_has_a_source_or_says_assumption():
    rows = parameter_table()
    assert len(rows) > 40
    for r in rows:
        s = r["source"].strip()
        assert s, r["key"]
        assert "assumption" in s.lower() or any(ch.isdigit() for ch in s) or "modelling choice" in s, r["key"]


def test_validation_names_key_and_allowed_values():
    with pytest.raises(ConfigError, match="model.language.speed"):
        model_params({"language": {"speed": 1}})
    with pytest.raises(ConfigError, match="between 0 and 1"):
        model_params({"ties": {"homophily": {"work": 1.5}}})
    with pytest.raises(ConfigError, match="allowed: population"):
        model_params({"langauge": {}})
    assert model_params({"language": {"base": "0.001"}}).language.base == pytest.approx(0.001)
