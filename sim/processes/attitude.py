"""Intergroup attitude (0-1, higher = warmer) moves with the quality of bridging contact (the contact hypothesis).

Each week attitude moves a fraction ``adjust`` of the way to the resident's set point plus ``effect`` times
log(1 + quality-weighted bridging contacts). ``effect`` is not free: at week 0 it is set so the correlation
between attitude and bridging contact across residents equals Pettigrew & Tropp's (2006) meta-analytic
r = 0.21 (-0.21 with prejudice), and attitudes start at their fixed point, so the baseline does not drift.

Teaching (the values curriculum) adds to a resident's ``attitude_lift``, which raises their target on top of the set
point and fades with a half-life unless renewed (the week's ``attitude_nudge``, applied with the week's changes).
"""

from __future__ import annotations

import dataclasses
import math

import numba
import numpy as np

from sim.kernels import CHUNKS, row
from sim.params import param
from sim.processes import contact
from sim.processes.rule import Column, Rule, WeekField


@dataclasses.dataclass
class AttitudeParams:
    adjust: float = param(0.05, "assumption: attitudes move a twentieth of the way to their target each week "
                          "(half-life about 14 weeks)", low=0.001, high=1, unit="per week")
    contact_correlation: float = param(0.1961, "Pettigrew & Tropp 2006 meta-analysis of 515 studies: mean r = -0.21 "
                                       "between intergroup contact and prejudice", low=0, high=0.9,
        plausible=(0.105, 0.315))
    lift_half_life_weeks: float = param(
        52.0, "[X] assumption, a stated range: taught warmth fades without renewed contact; school contact "
        "interventions kept their effect at one month and later (Lemmer & Wagner 2015), a 9-week programme at 12 "
        "months (White, Abu-Rayya & Weitzel 2014); delayed ethnic-prejudice effects are weaker (Paluck, Green & "
        "Green 2019)", low=1, high=1040, unit="weeks", plausible=(26.0, 104.0))


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


def settle(pop, net, params, rng) -> tuple[float, float]:
    """Week 0: calibrate the contact effect to r = 0.21 and start attitudes at their fixed point (no drift).
    Returns the effect and the week-0 mean attitude (warmth, which lowers the own-group chance of new ties, is
    measured from it, so the baseline's mix of new ties does not drift).

    The drive is averaged over four weeks of contact (``contact.week``, of which only the bridging quality is
    used). Only bridging ties add to it, so the four passes draw every slot's uniform, as ``contact.week``
    does, then go over the bridging ties alone, all four at once (:func:`bridging_passes`: the same sums)."""
    u_all = net.week_buffers()[0]
    n, m = len(pop.alive), len(u_all)
    slots = np.flatnonzero(net.bridging)  # (free slots never meet; no programme ties exist yet)
    u = np.empty((4, len(slots)), dtype=np.float32)
    for p in range(4):
        rng.random(m, dtype=np.float32, out=u_all)
        u[p] = u_all[slots]
    chunks = CHUNKS if m > contact.CHUNKED else 1  # as contact.week splits a large network's pass
    bounds = np.searchsorted(slots, [m * c // chunks for c in range(chunks + 1)])
    quality = bridging_passes(u, net.fade_p[slots], net.meet_thr[slots], net.a[slots], net.b[slots],
                              net.setting[slots], contact.setting_table(params.ties, "quality"), bounds, n)
    draws = []
    for p in range(4):
        bridging_q = np.empty(n, dtype=np.float32)
        bridging_q[:] = quality[:, p]
        draws.append(drive(bridging_q))
    mean_drive = np.mean(draws, axis=0)
    alive = pop.alive
    effect = calibrate(pop.attitude_set[alive], mean_drive[alive], params.attitude)
    target = pop.attitude_set + effect * mean_drive
    pop.attitude[:] = np.where(alive, np.clip(target, 0, 1), 0).astype(np.float32)
    return effect, float(np.mean(pop.attitude[alive]))


@numba.njit(cache=True, nogil=True)
def bridging_passes(u, fade_p, meet_thr, a, b, setting, quality, bounds, n):  # pragma: no cover - compiled
    """Quality-weighted bridging contacts of ``n`` residents in each of several weeks' contact passes at once,
    from bridging ties only (slot order), given each tie's uniform in each pass (``u``: passes x ties). The
    numbers ``contact.week`` gives with no programmes: a tie meets unless it fades (u < fade_p) when
    u >= meet_thr (``contact.tie_week``), each chunk of slots (``bounds``) sums in slot order and the chunks are
    added in order (tests/test_week_zero_kernels.py checks the two agree)."""
    passes = u.shape[0]
    total = np.zeros((n, passes), dtype=np.float32)
    part = np.empty((n, passes), dtype=np.float32)
    for c in range(bounds.shape[0] - 1):
        part[:] = 0.0
        for k in range(bounds[c], bounds[c + 1]):
            q = quality[row(setting[k])]
            i = row(a[k])
            j = row(b[k])
            for p in range(passes):
                x = u[p, k]
                if not x < fade_p[k] and x >= meet_thr[k]:
                    part[i, p] += q
                    part[j, p] += q
        total += part
    return total


def adjust(attitude, attitude_set, bridging_q, p: AttitudeParams, effect: float, lift=0.0):
    """Attitude after a week: a step of ``adjust`` towards a target raised by bridging contact and by any taught
    ``lift`` (arrays, or one resident's values): the rule, defined once."""
    target = np.clip(attitude_set + lift + effect * drive(bridging_q), 0.0, 1.0)
    return (attitude + p.adjust * (target - attitude)).astype(np.float32)


@numba.njit(cache=True, nogil=True)
def adjust_compiled(alive, attitude, attitude_set, lift, drive, effect, adjust):  # pragma: no cover - compiled
    """:func:`adjust` compiled, for every live resident (others keep theirs), in float32 as numpy computes it:
    target = clip(set + lift + effect * drive, 0, 1); attitude + adjust * (target - attitude). ``drive`` (the
    logarithm) comes from numpy; ``effect`` and ``adjust`` are float32, as numpy takes Python floats with float32
    arrays. :func:`step_numpy` is the numpy form."""
    out = attitude.copy()
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for i in range(alive.shape[0]):
        if alive[i]:
            t = attitude_set[i] + lift[i] + effect * drive[i]
            t = min(max(t, zero), one)
            a = attitude[i]
            out[i] = a + adjust * (t - a)
    return out



def step(pop, week, p: AttitudeParams, effect: float) -> np.ndarray:
    """:func:`adjust` for every live resident in one compiled pass (the same float32 arithmetic, the logarithm
    from numpy); the rows of no one keep their value."""
    return adjust_compiled(pop.alive, pop.attitude, pop.attitude_set, pop.attitude_lift, drive(week.bridging_q),
                           np.float32(effect), np.float32(p.adjust))


def step_numpy(pop, week, p: AttitudeParams, effect: float) -> np.ndarray:
    """The same as :func:`step` in numpy (``tests/test_week_kernels.py`` holds the two equal, bit for bit)."""
    new = adjust(pop.attitude, pop.attitude_set, week.bridging_q, p, effect, pop.attitude_lift)
    return np.where(pop.alive, new, pop.attitude)


def step_one(prev, i, bridging_q, p: AttitudeParams, effect: float):
    """The same rule for one resident (the per-agent engine)."""
    return adjust(prev["attitude"][i], prev["attitude_set"][i], np.float32(bridging_q), p, effect,
                  prev["attitude_lift"][i])


def faded(lift, nudge, p: AttitudeParams):
    """Taught warmth after a week: the old lift fades by its half-life; this week's teaching adds to it."""
    return (lift * np.float32(0.5 ** (1.0 / p.lift_half_life_weeks)) + nudge).astype(np.float32)


def commit(model, new) -> None:
    """The week's attitudes, and the lift after fading and this week's teaching (the same in both engines)."""
    pop = model.pop
    pop.attitude[:] = new
    if model.week.attitude_nudge.any() or pop.attitude_lift.any():
        pop.attitude_lift[:] = np.where(pop.alive, faded(pop.attitude_lift, model.week.attitude_nudge,
                                                         model.params.attitude), 0.0)


def weekly(model, week, u=None):
    return step(model.pop, week, model.params.attitude, model.attitude_effect)


def weekly_one(model, i, prev, week, u=None):
    return step_one(prev, i, week.bridging_q[i], model.params.attitude, model.attitude_effect)


RULE = Rule(
    "attitude", __doc__.splitlines()[0], step=weekly, step_one=weekly_one, group="attitude", params=AttitudeParams,
    owns=("attitude", "attitude_lift"), reads=("bridging_q", "attitude_nudge"), commit=commit,
    columns={"attitude": Column(np.float32, doc="intergroup attitude 0 (cold) to 1 (warm)"),
             "attitude_set": Column(np.float32, doc="the resident's attitude set point, before contact"),
             "attitude_lift": Column(np.float32, missing=0.0, birth=0.0,
                                     doc="taught warmth on top of the set point (curriculum), fading")},
    defines={"attitude_nudge": WeekField(np.float32, 0.0, "taught warmth added this week (values curriculum)")},
)
