"""Regression check on fixed seeds against tests/baseline.json (regenerate on purpose with ``make baseline``).

Runs are byte-for-byte reproducible (one seed drives a SeedSequence; every component draws from its own named
stream), so every stored figure must match to a tight relative tolerance (as Starsim's ``diff_sims`` compares
with ``np.isclose``): any change in behaviour, however small, fails here and must be made on purpose.
"""

import json
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "scripts"))
from make_baseline import CASES, figures  # noqa: E402

BASELINE = json.loads((pathlib.Path(__file__).parent / "baseline.json").read_text())
RTOL = 1e-9  # last-bit differences only


def diff(stored: dict, got: dict) -> list[str]:
    """Every figure that differs, as 'when.key: stored -> got' (empty when all match)."""
    out = []
    for when in ("initial", "final"):
        for k, v in stored[when].items():
            g = got[when].get(k)
            if g is None or not np.isclose(g, v, rtol=RTOL, atol=0.0):
                out.append(f"{when}.{k}: {v!r} -> {g!r}")
    return out


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c["area"] for c in CASES])
def test_matches_stored_baseline(i):
    stored = BASELINE[i]
    assert stored["case"] == CASES[i]
    assert set(stored["final"]) == set(figures.__globals__["KEYS"])
    problems = diff(stored, figures(CASES[i]))
    assert not problems, "\n".join(problems)


def test_the_comparison_catches_a_change_in_the_last_digits():
    stored = BASELINE[0]
    nudged = json.loads(json.dumps(stored))
    nudged["final"]["employment_rate"] *= 1 + 1e-7
    assert diff(stored, nudged) == [f"final.employment_rate: {stored['final']['employment_rate']!r} -> "
                                    f"{nudged['final']['employment_rate']!r}"]
    assert diff(stored, stored) == []
