"""Stronger English requirements for citizenship: the Action Plan strengthens the language requirement for
naturalisation. Residents who could apply (born abroad, another main language, ``min_years`` in the UK) and who
mean to, but whose English is below the required level, are more motivated to learn: they take up an offered
English class more often (``class_uptake``) and learn more from the same exposure (``learn_factor``).

No public spending (applicants pay for tests and applications). The evidence is thin and mixed: no estimate of the
2013 rule's effect on ESOL enrolment exists; stronger incentives raised proficiency among Syrian asylum seekers in
Germany (Khourshed & Meango 2020) and Danish high performers invested more while low performers did not (Arendt,
Dustmann & Ku 2021), so every effect here is a wide range that includes none.
"""

import dataclasses

import numpy as np

from sim.interventions.base import Policy, PolicyParams
from sim.params import param


@dataclasses.dataclass
class CitizenshipEnglishParams(PolicyParams):
    unit_cost_gbp: float = param(0.0, "no public spending: applicants pay for the test and the application", low=0,
                                 high=1e5, unit="GBP per resident reached",
                                 design="the rule costs the public nothing by construction")
    min_years: float = param(5.0, "naturalisation normally needs five years' residence (Home Office guidance)", low=0,
                             high=50, unit="years", design="the statutory residence requirement")
    level: float = param(2.5, "B1 speaking and listening, placed at the middle of 'well' on the Census scale (0-4)",
                         low=0, high=4, unit="Census scale", design="the required level, the rule's choice")
    intending_share: float = param(
        0.3, "[X] assumption, a stated range: of those who could apply and lack the level, the share who mean to; in "
        "2018 39% of the foreign-born, 54% of the non-EU born, were already UK citizens (Migration Observatory 2020)",
        low=0, high=1, unit="share", plausible=(0.1, 0.5))
    uptake_boost: float = param(
        1.1, "[X] assumption, a stated range: a binding requirement raises the take-up of offered English classes by "
        "0-20% (no UK estimate; Arendt, Dustmann & Ku 2021 find the response splits by ability)", low=1, high=5,
        unit="x class take-up", plausible=(1.0, 1.2))
    practice_boost: float = param(
        1.05, "[A] +10 points in the expected return to German raised proficiency by 0.06-0.09 SD (Khourshed & Meango "
        "2020); a stated range", low=1, high=5, unit="x adult learning", plausible=(1.0, 1.1))


class CitizenshipEnglish(Policy):
    name = "citizenship_english"
    Params = CitizenshipEnglishParams

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.intends = None  # per resident row: 1 means to apply, 0 does not, -1 not yet drawn
        self.counted = None  # reached already (counted once)

    def prepare(self, model) -> None:
        super().prepare(model)
        n = model.pop.capacity
        if self.intends is None:
            self.intends, self.counted = np.full(n, -1, dtype=np.int8), np.zeros(n, dtype=bool)
        elif len(self.intends) < n:
            self.intends = np.r_[self.intends, np.full(n - len(self.intends), -1, dtype=np.int8)]
            self.counted = np.r_[self.counted, np.zeros(n - len(self.counted), dtype=bool)]

    def act(self, model, week) -> None:
        pop = model.pop
        could = (pop.alive & pop.born_abroad & ~pop.main_english & (pop.english < self.p.level)
                 & (pop.years_in_uk >= self.p.min_years) & self.lives_here(model))
        new = np.flatnonzero(could & (self.intends < 0))
        self.intends[new] = self.rng.random(len(new)) < self.p.intending_share
        rows = np.flatnonzero(could & (self.intends == 1))
        week.learn_factor[rows] *= np.float32(self.p.practice_boost)
        week.class_uptake[rows] *= np.float32(self.p.uptake_boost)
        fresh = rows[~self.counted[rows]]
        self.counted[fresh] = True
        self.charge(len(fresh))

    def forget(self, rows, gone) -> None:
        super().forget(rows, gone)
        if self.intends is not None and len(rows):
            self.intends[rows] = -1
            self.counted[rows] = False
