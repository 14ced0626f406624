"""Calibrate the English-class effect so the virtual ESOL trial reproduces the published figure.

Target: the ESOL for Integration Fund evaluation (2022): 24% of learners moved up at least one level in speaking
and listening. The free parameter is ``model.language.class_hour`` (Census levels gained per guided hour, before
the age slow-down); everything else stays at its default. Root-finding with scipy.optimize.brentq on the mean of
several seeds' trials (common random numbers across evaluations keep the function smooth).

    python scripts/calibrate.py            # prints the calibrated value; put it in sim/processes/language.py
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np
from scipy.optimize import brentq

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from experiments.trial import run_trial  # noqa: E402

TARGET = 0.24
SEEDS = (1, 2, 3, 4)
SETUP = dict(area="bradford", scale=0.05, recruit=1200)


def learners_up(class_hour: float) -> float:
    vals = [run_trial("esol", seed=s, params={"language": {"class_hour": class_hour}}, **SETUP)
            .participants["moved_up_a_level"] for s in SEEDS]
    return float(np.mean(vals))


def main() -> None:
    lo, hi = 0.002, 0.03
    x = brentq(lambda v: learners_up(v) - TARGET, lo, hi, xtol=1e-5)
    print(f"class_hour = {x:.5f} levels per guided hour (1 level per {1 / x:.0f} hours); "
          f"learners up a level: {learners_up(x):.3f} (target {TARGET})")


if __name__ == "__main__":
    main()
