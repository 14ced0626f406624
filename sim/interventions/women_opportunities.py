"""Opportunities for women: skills and employment courses for economically inactive women.

Effect: job finding is raised while on the course, English practice for those whose main language is not
English, and a women's group (acquaintances). Childcare and confidence barriers lower uptake: women with a child
under 5 at home, or who cannot speak English well, take an offered place less often.
"""

import dataclasses

import numpy as np

from sim.interventions.base import Intervention, ProgrammeParams
from sim.params import param
from sim.population import HOME, OTHER, poor_english


@dataclasses.dataclass
class WomenOpportunitiesParams(ProgrammeParams):
    unit_cost_gbp: float = param(
        900.0,
        "assumption: a 20-week community skills course with a creche",
        low=1,
        high=1e5,
        unit="GBP per participant",
        plausible=(450.0, 1800.0))
    duration_weeks: int = param(20, "assumption", low=1, high=104, unit="weeks",
        design="the programme's format, part of what a scenario buys")
    cohort_every_weeks: int = param(13, "assumption", low=1, high=104, unit="weeks",
        design="the programme's schedule, part of what a scenario buys")
    uptake: float = param(0.45, "assumption: before the barriers below", low=0, high=1)
    weekly_dropout: float = param(0.025, "assumption", low=0, high=1, unit="per week")
    group_size: int = param(12, "assumption", low=2, high=100, unit="women",
        design="the programme's format, part of what a scenario buys")
    ties_per_participant: float = param(2.0, "assumption", low=0, high=20, unit="ties")
    tie_meet: float = param(0.6, "assumption", low=0, high=1)
    job_boost: float = param(
        1.5, "assumption: a smaller boost than dedicated employment support", low=1, high=20, unit="x job-finding rate"
    )
    english_hours: float = param(
        2.0,
        "assumption: English within the course for women whose main language is not English",
        low=0,
        high=40,
        unit="guided hours per week",
        design="the course content, part of what a scenario buys")
    childcare_barrier: float = param(
        0.5,
        "assumption, a stated range 0-1: how much less likely women with a child under 5 at home are to take a "
        "place; no estimate of this effect was found (ONS 2011 shows that about half of inactive non-proficient "
        "women looked after home or family, a share, not an effect on take-up)",
        low=0,
        high=1,
        plausible=(0.0, 1.0))
    confidence_barrier: float = param(
        0.3, "assumption: women who cannot speak English well are less likely to take a place", low=0, high=1
    )


class WomenOpportunities(Intervention):
    name = "women_opportunities"
    Params = WomenOpportunitiesParams

    def eligible(self, model):
        pop = model.pop
        return pop.female & (pop.age >= 18) & (pop.age < 65) & np.isin(pop.status, (HOME, OTHER))

    def uptake(self, model, rows):
        pop = model.pop
        under5 = np.bincount(pop.household[pop.alive & (pop.age < 5)], minlength=len(pop.household_communal)) > 0
        has_small_child = under5[pop.household[rows]]
        poor = poor_english(pop.main_english[rows], pop.english[rows])
        return self.p.uptake * (1 - self.p.childcare_barrier * has_small_child) * (1 - self.p.confidence_barrier * poor)

    def apply(self, model, week, rows):
        pop = model.pop
        week.job_boost[rows] *= np.float32(self.p.job_boost)
        learners = rows[~pop.main_english[rows]]
        week.class_hours[learners] += np.float32(self.p.english_hours)
