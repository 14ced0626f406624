"""Intergroup attitude (0-1, higher = warmer) moves with the quality of bridging contact (the contact hypothesis).

Each week attitude moves a fraction ``adjust`` of the way to the resident's set point plus ``effect`` times
log(1 + quality-weighted bridging contacts). ``effect`` is not free: at week 0 it is set so the correlation
between attitude and bridging contact across residents equals Pettigrew & Tropp's (2006) meta-analytic
r = 0.21 (-0.21 with prejudice), and attitudes start at their fixed point, so the baseline does not drift.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from sim.params import param
from sim.processes.rule import Rule


@dataclasses.dataclass
class AttitudeParams:
    adjust: float = param(0.05, "assumption: attitudes move a twentieth of the way to their target each week "
                          "(half-life about 14 weeks)", low=0.001, high=1, unit="per week")
    contact_correlation: float = param(0.167, "Pettigrew & Tropp 2006 meta-analysis of 515 studies: mean r = -0.21 "
                                       "between intergroup contact and prejudice", low=0, high=0.9,
        plausible=(0.105, 0.315))


def drive(bridging_q):
    """log(1 + quality-weighted bridging contacts): diminishing returns to more contact."""
    return np.log(bridging_q + np.float32(1.0))  # log1p, but numpy vectorises float32 log and not log1p


def calibrate(set_point: np.ndarray, mean_drive: np.ndarray, p: AttitudeParams) -> float:
    """Effect size giving corr(set + effect * drive, drive) = contact_correlation."""
    sd_s, sd_x = float(np.std(set_point)), float(np.std(mean_drive))
    r = p.contact_correlation
    if sd_x == 0 or r <= 0:
        return 0.0
    return r * sd_s / (sd_x * math.sqrt(1 - r * r))


def adjust(attitude, attitude_set, bridging_q, p: AttitudeParams, effect: float):
    """Attitude after a week: a step of ``adjust`` towards a target raised by bridging contact (arrays, or one
    resident's values): the rule, defined once."""
    target = np.clip(attitude_set + effect * drive(bridging_q), 0.0, 1.0)
    return (attitude + p.adjust * (target - attitude)).astype(np.float32)


def step(pop, week, p: AttitudeParams, effect: float) -> np.ndarray:
    new = adjust(pop.attitude, pop.attitude_set, week.bridging_q, p, effect)
    return np.where(pop.alive, new, pop.attitude).astype(np.float32)


def step_one(prev, i, bridging_q, p: AttitudeParams, effect: float):
    """The same rule for one resident (the per-agent engine)."""
    return adjust(prev["attitude"][i], prev["attitude_set"][i], np.float32(bridging_q), p, effect)


def weekly(model, week, u=None):
    return step(model.pop, week, model.params.attitude, model.attitude_effect)


def weekly_one(model, i, prev, week, u=None):
    return step_one(prev, i, week.bridging_q[i], model.params.attitude, model.attitude_effect)


RULE = Rule(
    "attitude", __doc__.splitlines()[0], step=weekly, step_one=weekly_one, group="attitude", params=AttitudeParams,
    owns=("attitude",), reads=("bridging_q",),
)
