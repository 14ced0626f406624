"""Mixed school intakes: the Action Plan's stronger expectations on free schools and admissions to promote
integration. A share ``reach`` of the pupils starting primary or secondary school from the policy's start get a
place by lottery across the places of the area's schools of that phase (``sim.school_choice.by_lottery``) instead
of the one their family was offered (with ``scenario.where.mixed_intakes``, pupils living in those MSOAs alone);
pupils already at school stay where they are.

So school segregation (the ``school_dissimilarity`` indicator) falls only as cohorts enter: a primary school turns
over in seven years, a secondary in five. The policy costs little (admissions work and longer journeys to school,
``unit_cost_gbp`` per pupil placed) but reaches only the entering cohorts.
"""

import dataclasses

import numpy as np

from sim.interventions.base import Policy, PolicyParams
from sim.params import param
from sim.population import CHILD, STUDENT, pupils
from sim.school_choice import by_lottery, school_phase


@dataclasses.dataclass
class MixedIntakesParams(PolicyParams):
    unit_cost_gbp: float = param(
        150.0, "[X] assumption, a stated range: admissions work and home-to-school transport for a longer journey, "
        "per pupil placed by the policy", low=0, high=1e5, unit="GBP per pupil placed", plausible=(0.0, 500.0))
    reach: float = param(
        0.1, "[X] assumption, a stated range: share of pupils starting school whose place follows the policy (new "
        "free schools and changed admissions); no English study estimates how an intake rule changes ethnic "
        "segregation (Brighton's 2008 lottery changed income sorting little)", low=0, high=1,
        unit="share of entrants", plausible=(0.02, 0.2))


class MixedIntakes(Policy):
    name = "mixed_intakes"
    Params = MixedIntakesParams

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = None  # per resident row: the school phase the policy last saw them in (-1: not yet looked)

    def prepare(self, model) -> None:
        super().prepare(model)
        n = model.pop.capacity
        if self.seen is None:
            self.seen = np.full(n, -1, dtype=np.int8)
        elif len(self.seen) < n:
            self.seen = np.r_[self.seen, np.full(n - len(self.seen), -1, dtype=np.int8)]

    def act(self, model, week) -> None:
        pop = model.pop
        pupil = pop.alive & ((pop.status == CHILD) | (pop.status == STUDENT))
        now = np.where(pupil, school_phase(pop.age), 0).astype(np.int8)
        if model.week_no == self.start_week:  # pupils already at school when the policy starts stay put
            self.seen[:] = np.where(pop.alive, now, -1)
            return
        # entrants: a pupil in a phase the policy has not seen them in (starting school, moving up, or arriving)
        entering = np.flatnonzero(pop.alive & (now > 0) & (now != self.seen))
        self.seen[pop.alive] = now[pop.alive]
        if len(entering) == 0:
            return
        placed = self.rng.random(len(entering)) < self.p.reach
        here = self.lives_here(model)
        if here is not True:  # (scenario.where.mixed_intakes: pupils living in those MSOAs alone; the same draws)
            placed &= here[entering]
        pop.intake_pos[entering] = np.where(placed, self.rng.random(len(entering)), -1.0).astype(np.float32)
        rows = entering[placed]
        if len(rows):  # the lottery's place replaces the one the family was offered
            pop.school[rows] = by_lottery(pop.school, pupils(pop), pop.age, pop.female, rows, pop.intake_pos[rows],
                                          pop.schools)
        self.charge(int(placed.sum()))

    def forget(self, rows, gone) -> None:
        super().forget(rows, gone)
        if self.seen is not None and len(rows):
            self.seen[rows] = -1
