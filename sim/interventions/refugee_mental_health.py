"""Mental health care for refugees: a short course of psychological help (Problem Management Plus or talking
therapy, with interpreting) for refugees with a common mental disorder, so that learning English and finding work
are no longer slowed by it.

Effect: while attending, a participant's weekly chance that distress lifts (the mental-health rule's
``recovery_chance``) is such that a completer recovers with probability ``recovery`` over the course, on top of
natural remission; recovered residents learn and find work at the usual rates. The Integrated Communities Action Plan
(2019) commits to assess and support refugees' mental health needs.
"""

import dataclasses

import numpy as np

from sim.interventions.base import Intervention, ProgrammeParams
from sim.params import param


@dataclasses.dataclass
class RefugeeMentalHealthParams(ProgrammeParams):
    unit_cost_gbp: float = param(
        1100.0, "[A] NHS talking therapies (IAPT) cost per completed course: GBP 493 low-intensity, 1,416 "
        "high-intensity, 877 overall (Radhakrishnan et al. 2013, prices of about 2010), plus interpreting (an "
        "assumed 20-50%)", low=1, high=1e5, unit="GBP per course", plausible=(600.0, 1800.0))
    duration_weeks: int = param(
        8, "Problem Management Plus is 5 weekly sessions (de Graaff et al. 2023); talking therapies average 6.9 "
        "sessions (NHS Digital 2018-19); with assessment, about two months", low=1, high=52, unit="weeks",
        design="the programme's format, part of what a scenario buys")
    cohort_every_weeks: int = param(4, "assumption: referrals taken monthly", low=1, high=104, unit="weeks",
                                    design="the programme's schedule, part of what a scenario buys")
    uptake: float = param(
        0.5, "[X] assumption, a stated range: share of refugees offered care who take it (minoritised groups have "
        "had worse access to talking therapies: NHS Race and Health Observatory 2023)", low=0, high=1,
        plausible=(0.3, 0.8))
    weekly_dropout: float = param(
        0.026, "[A] 19% (15-25%) drop out of psychological treatment trials with refugees (Semmlinger et al. 2021, "
        "28 RCTs): about 0.026 a week over 8 weeks", low=0, high=1, unit="per week", plausible=(0.02, 0.035))
    group_size: int = param(6, "assumption: group PM+ sessions", low=2, high=50, unit="people",
                            design="the programme's format, part of what a scenario buys")
    ties_per_participant: float = param(0.5, "[X] assumption: acquaintances made in group sessions", low=0, high=10,
                                        unit="ties", plausible=(0.0, 1.0))
    tie_meet: float = param(0.5, "assumption", low=0, high=1)
    recovery: float = param(
        0.35, "[A] chance a completer leaves caseness through the course, beyond natural remission: lay-delivered "
        "PM+ d = 0.41 against usual care (de Graaff et al. 2023, Syrian refugees), about 15-20 points; specialist "
        "trauma-focused care SMD about 1 (Turrini et al. 2019; Nose et al. 2017); NHS talking therapies' 52% "
        "recovery of completers (uncontrolled, all adults) is the top", low=0, high=1, plausible=(0.2, 0.55))
    min_age: float = param(16.0, "assumption: adult services (16+)", low=0, high=100, unit="years",
                           design="who the programme serves, a choice")


class RefugeeMentalHealth(Intervention):
    name = "refugee_mental_health"
    Params = RefugeeMentalHealthParams

    def eligible(self, model):
        pop = model.pop
        return pop.refugee & pop.distress & (pop.age >= self.p.min_age)

    def apply(self, model, week, rows):
        weekly = 1.0 - (1.0 - self.p.recovery) ** (1.0 / self.p.duration_weeks)
        week.recovery_chance[rows] = np.maximum(week.recovery_chance[rows], np.float32(weekly))
