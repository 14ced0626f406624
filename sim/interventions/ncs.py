"""National Citizen Service: 16-17 year olds from different backgrounds in mixed teams for a few weeks.

Effect: teams are formed to mix backgrounds, so the acquaintances made are mostly bridging; through the contact
rule they warm attitudes, most for those with little prior bridging contact (whose log-contact drive rises most),
as Laurence (2018) found. Reimer et al. (2021) found small falls in intergroup anxiety and no effect on attitudes
or trust: the effect size here is an output to check against that, not an input.
"""

import dataclasses

from sim.interventions.base import Intervention, ProgrammeParams
from sim.params import param


@dataclasses.dataclass
class NCSParams(ProgrammeParams):
    unit_cost_gbp: float = param(
        1800.0,
        "[~] National Audit Office (2017) on NCS: about GBP 1,800 per participant",
        low=1,
        high=1e5,
        unit="GBP per participant",
        plausible=(1300.0, 2000.0))
    duration_weeks: int = param(
        4,
        "NCS summer programme: about four weeks (residentials and a social action project)",
        low=1,
        high=52,
        unit="weeks",
        design="the programme's format, part of what a scenario buys")
    cohort_every_weeks: int = param(52, "NCS runs each summer", low=1, high=104, unit="weeks",
        design="the programme's schedule, part of what a scenario buys")
    uptake: float = param(0.4, "assumption: share of offered 16-17 year olds who sign up", low=0, high=1)
    weekly_dropout: float = param(0.02, "assumption", low=0, high=1, unit="per week")
    group_size: int = param(12, "NCS teams of 12-15 young people", low=2, high=100, unit="people",
        design="the programme's format, part of what a scenario buys")
    ties_per_participant: float = param(
        5.892, "assumption: teammates who stay acquaintances", low=0, high=20, unit="ties",
        plausible=(1.0, 8.0))
    tie_meet: float = param(
        0.5, "assumption: after the programme, NCS friends meet about every other week", low=0, high=1
    )


class NCS(Intervention):
    name = "ncs"
    Params = NCSParams
    mixed_groups = True

    def eligible(self, model):
        pop = model.pop
        return (pop.age >= 16) & (pop.age < 18)
