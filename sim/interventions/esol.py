"""English classes (ESOL), including community English classes for women with little or no English.

Effect: guided hours feed the language rule (``model.language.class_hour`` levels per hour, slowed by age), and
classmates become acquaintances (classes mix learners of different languages). The community English trial gave
66 guided hours in 22 classes over 11 weeks (Learning and Work Institute for MHCLG, 2018).
"""

import dataclasses

import numpy as np

from sim.interventions.base import Intervention, ProgrammeParams
from sim.params import param
from sim.population import poor_english


@dataclasses.dataclass
class ESOLParams(ProgrammeParams):
    unit_cost_gbp: float = param(
        650.0,
        "assumption: 66 guided hours at about GBP 10 an hour (ESFA adult "
        "skills funding rates for ESOL are of this order), with outreach",
        low=1,
        high=1e5,
        unit="GBP per learner",
        plausible=(240.0, 1000.0))
    duration_weeks: int = param(
        11, "community English trial: 22 classes over 11 weeks (L&W 2018)", low=1, high=104, unit="weeks",
        design="the programme's format, part of what a scenario buys")
    cohort_every_weeks: int = param(
        12, "assumption: a new course each term-length block", low=1, high=104, unit="weeks",
        design="the programme's schedule, part of what a scenario buys")
    uptake: float = param(
        0.6122,
        "assumption, a stated range (calibration prior 0.3-0.9): share of those offered a place who take it; "
        "no published take-up rate was found (the community English trial's 60% is the share who gave data "
        "at every stage, not take-up)",
        low=0,
        high=1,
        plausible=(0.3, 0.9))
    weekly_dropout: float = param(
        0.03184, "[~] adult basic education drop-out 10-60%: about 30% over 11 weeks", low=0, high=1, unit="per week",
        plausible=(0.015, 0.045))
    group_size: int = param(15, "assumption: ESOL class size", low=2, high=100, unit="learners",
        design="the programme's format, part of what a scenario buys")
    ties_per_participant: float = param(
        1.517,
        "assumption: classmates who become acquaintances; the trial found social mixing rose",
        low=0,
        high=20,
        unit="ties",
    )
    tie_meet: float = param(0.7, "assumption", low=0, high=1)
    guided_hours: float = param(
        66.0, "community English trial: 66 guided hours (L&W 2018)", low=0, high=1000, unit="hours per course",
        design="the hours a course provides, part of what a scenario buys")
    women_priority: float = param(
        3.0,
        "assumption: community classes target women with little or no English "
        "(the trial targeted Pakistani, Bangladeshi and Somali women)",
        low=0,
        high=100,
        unit="relative weight",
        design="who the programme targets, a choice")
    min_age: float = param(19.0, "adult ESOL is for those aged 19 and over (ESFA)", low=16, high=100, unit="years",
        design="the funding rule: adult ESOL is for those 19 and over")


class ESOL(Intervention):
    name = "esol"
    Params = ESOLParams

    def eligible(self, model):
        pop = model.pop
        return ~pop.main_english & (pop.english < 3.0) & (pop.age >= self.p.min_age)

    def priority(self, model, rows):
        pop = model.pop
        poor = poor_english(pop.main_english[rows], pop.english[rows])
        return 1.0 + self.p.women_priority * (pop.female[rows] & poor)

    def uptake(self, model, rows):
        # motivation (the citizenship English rule) raises the chance an offered place is taken
        return np.minimum(self.p.uptake * model.week.class_uptake[rows], 1.0)

    def apply(self, model, week, rows):
        week.class_hours[rows] += np.float32(self.p.guided_hours / self.p.duration_weeks)
