"""Employment support for refugees and migrants (job centres and employers): job finding rises while supported.

Effect: the job-finding rate of participants is multiplied by ``job_boost`` while they are on the programme (the
employment rule's ``week.job_boost``). Targeted at residents born abroad who are not in work, the unemployed
and refugees first.
"""

import dataclasses

import numpy as np

from sim.interventions.base import Intervention, ProgrammeParams
from sim.params import param
from sim.population import HOME, OTHER, UNEMPLOYED


@dataclasses.dataclass
class EmploymentSupportParams(ProgrammeParams):
    unit_cost_gbp: float = param(
        1500.0,
        "assumption: employment support programmes cost GBP 1,000-3,000 per "
        "participant (English for Advancement, with ESOL, about USD 5,200)",
        low=1,
        high=1e5,
        unit="GBP per participant",
        plausible=(1000.0, 3000.0))
    duration_weeks: int = param(26, "assumption: six months of support", low=1, high=104, unit="weeks",
        design="the programme's format, part of what a scenario buys")
    cohort_every_weeks: int = param(13, "assumption", low=1, high=104, unit="weeks",
        design="the programme's schedule, part of what a scenario buys")
    uptake: float = param(0.6, "assumption", low=0, high=1)
    weekly_dropout: float = param(0.02, "assumption", low=0, high=1, unit="per week")
    ties_per_participant: float = param(0.0, "assumption: one-to-one support, no group", low=0, high=20, unit="ties",
        design="one-to-one support makes no group ties by construction")
    job_boost: float = param(
        3.417,
        "calibrated (experiment=calibrate) to the short-run effect of active labour market programmes, close to "
        "zero within a year (Card, Kluve & Weber 2018; target employment_support_short_run: 0-5 points)",
        low=1,
        high=20,
        unit="x job-finding rate",
        plausible=(1.0, 4.0))
    unemployed_priority: float = param(
        3.0, "assumption: job centres refer the unemployed first", low=0, high=100, unit="relative weight",
        design="who the programme targets, a choice")
    refugee_priority: float = param(
        2.0, "the Action Plan (2019) asks job centres and employers to help refugees overcome barriers to work",
        low=0, high=100, unit="relative weight", design="who the programme targets, a choice")


class EmploymentSupport(Intervention):
    name = "employment_support"
    Params = EmploymentSupportParams

    def eligible(self, model):
        pop = model.pop
        return pop.born_abroad & (pop.age >= 18) & (pop.age < 65) & np.isin(pop.status, (UNEMPLOYED, HOME, OTHER))

    def priority(self, model, rows):
        pop = model.pop
        return (1.0 + self.p.unemployed_priority * (pop.status[rows] == UNEMPLOYED)
                + self.p.refugee_priority * pop.refugee[rows])

    def apply(self, model, week, rows):
        week.job_boost[rows] *= np.float32(self.p.job_boost)
