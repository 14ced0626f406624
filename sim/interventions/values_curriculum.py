"""Values and integration in the curriculum: lessons on shared values and on other backgrounds, and practice in
forming relationships across them (the Integrated Communities green paper, 2018), for whole schools' pupils aged
7-17. Unlike school linking, pupils meet no one new: the programme acts on attitudes alone.

Effect: over the school year each attending pupil's attitude is lifted (the attitude rule's ``attitude_nudge``) by
``effect_sd`` standard deviations of the residents' attitude set points in all; the lift fades with the attitude
rule's half-life, and warmer residents seek fewer of their new ties in their own group (``ties.attitude_homophily``).
"""

import dataclasses

import numpy as np

from sim.interventions.base import Intervention, ProgrammeParams, whole_schools
from sim.params import param


@dataclasses.dataclass
class ValuesCurriculumParams(ProgrammeParams):
    unit_cost_gbp: float = param(
        60.0, "[A] analogues (no costing of a prejudice-reduction curriculum was found): the PATHS social-emotional "
        "curriculum cost GBP 32 a child beyond teachers' time (Turner et al. 2020, 2018/19 prices) and GBP 139 a "
        "child in another English city (Berry et al. 2016)", low=1, high=1e4, unit="GBP per pupil-year",
        plausible=(30.0, 150.0))
    duration_weeks: int = param(39, "a school year", low=1, high=52, unit="weeks",
                                design="the programme's format, part of what a scenario buys")
    cohort_every_weeks: int = param(52, "each school year", low=1, high=104, unit="weeks",
                                    design="the programme's schedule, part of what a scenario buys")
    uptake: float = param(0.95, "assumption: whole classes take part; a few pupils miss lessons", low=0, high=1,
                          plausible=(0.85, 1.0))
    weekly_dropout: float = param(0.0, "assumption: pupils stay with their class", low=0, high=1, unit="per week")
    ties_per_participant: float = param(0.0, "no new meetings: the programme is taught in pupils' own classes",
                                        low=0, high=20, unit="ties",
                                        design="a curriculum makes no new ties by construction (school linking does)")
    tie_meet: float = param(0.0, "not used: the programme makes no ties", low=0, high=1,
                            design="a curriculum makes no new ties by construction")
    effect_sd: float = param(
        0.2, "[A] Beelmann & Heinemann 2014 (122 comparisons, pupils): d = 0.30 on intergroup attitudes, smaller "
        "for ethnic outgroups and minority pupils, follow-up lacking; centre 0.2", low=0, high=2,
        unit="SD of attitude set points", plausible=(0.1, 0.3))
    min_age: float = param(7.0, "Key Stage 2 onwards (Years 3-13)", low=4, high=18, unit="years",
                           design="who the programme serves, a choice")


class ValuesCurriculum(Intervention):
    name = "values_curriculum"
    Params = ValuesCurriculumParams

    def eligible(self, model):
        pop = model.pop
        return (pop.age >= self.p.min_age) & (pop.age < 18) & (pop.school >= 0)

    def priority(self, model, rows):
        return whole_schools(model, rows, self.rng)

    def apply(self, model, week, rows):
        sd = model.params.population.attitude_sd
        week.attitude_nudge[rows] += np.float32(self.p.effect_sd * sd / self.p.duration_weeks)
