"""Conversation clubs: weekly mixed groups where learners practise English with fluent local volunteers.

Effect: practice counts as guided-hour equivalents in the language rule, and each learner makes acquaintances
among the club's volunteers (fluent speakers of any background from the same neighbourhood), most of them
bridging. Volunteers are unpaid: a place is a learner's.
"""

import dataclasses

import numpy as np

from sim.interventions.base import Intervention, ProgrammeParams
from sim.network import NEIGHBOURHOOD
from sim.params import param


@dataclasses.dataclass
class ConversationClubParams(ProgrammeParams):
    unit_cost_gbp: float = param(
        150.0,
        "assumption: a volunteer-led club's coordinator and room, per learner for six months",
        low=1,
        high=1e5,
        unit="GBP per learner",
        plausible=(75.0, 400.0))
    duration_weeks: int = param(26, "assumption: a learner attends for six months", low=1, high=104, unit="weeks",
        design="the programme's format, part of what a scenario buys")
    cohort_every_weeks: int = param(
        13, "assumption: clubs take new learners each quarter", low=1, high=104, unit="weeks",
        design="the programme's schedule, part of what a scenario buys")
    uptake: float = param(0.5, "assumption", low=0, high=1)
    weekly_dropout: float = param(
        0.03, "assumption: informal, so more leave than from classes", low=0, high=1, unit="per week"
    )
    group_size: int = param(12, "assumption: learners and volunteers at a table", low=2, high=100, unit="people",
        design="the programme's format, part of what a scenario buys")
    ties_per_participant: float = param(
        2.0, "assumption: volunteers a learner gets to know", low=0, high=20, unit="ties"
    )
    tie_meet: float = param(0.8, "assumption: clubs meet weekly", low=0, high=1)
    practice_hours: float = param(1.5, "assumption: a weekly 90-minute session", low=0, high=20, unit="hours per week",
        design="the session length, part of what a scenario buys")
    practice_efficiency: float = param(
        0.3961, "assumption: an hour of conversation practice is worth half a guided hour", low=0, high=1,
        plausible=(0.25, 0.75))


class ConversationClubs(Intervention):
    name = "conversation_clubs"
    Params = ConversationClubParams

    def eligible(self, model):
        pop = model.pop
        return ~pop.main_english & (pop.english < 3.5) & (pop.age >= 16)

    def apply(self, model, week, rows):
        week.class_hours[rows] += np.float32(self.p.practice_hours * self.p.practice_efficiency)

    def weekly_ties(self, model, idx):
        """An attending learner may get to know a volunteer: a fluent main-English adult of their neighbourhood."""
        pop = model.pop
        rate = self.p.ties_per_participant / self.p.duration_weeks
        learners = self.rows[idx[self.rng.random(len(idx)) < rate]]
        if len(learners) == 0:
            return
        vol = model.indices[NEIGHBOURHOOD].draw(learners, pop.neighbourhood, pop.group, 0.0, self.rng)
        ok = vol >= 0
        ok[ok] = pop.main_english[vol[ok]] & (pop.age[vol[ok]] >= 18)
        model.add_programme_ties(learners[ok], vol[ok], meet=self.p.tie_meet)
