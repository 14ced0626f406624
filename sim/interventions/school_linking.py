"""School linking: a class of pupils from one school meets a class from a school of a different intake through
the year; pupils make friends across the link and, more weakly, so do their parents.

Schools are paired across their intakes (the taking-part school with the largest share of the area's largest group
with the one with the smallest, and so on, as The Linking Network pairs schools of different intakes), so linked
intakes differ as segregation makes them. A place is a pupil's (aged 7-10, Years 3-6).
"""

import dataclasses

import numpy as np

from sim.interventions.base import Intervention, ProgrammeParams, whole_schools
from sim.kernels import in_households
from sim.params import param


@dataclasses.dataclass
class SchoolLinkingParams(ProgrammeParams):
    unit_cost_gbp: float = param(
        40.0,
        "assumption: a linking year (teacher training, visits, transport) per pupil",
        low=1,
        high=1e4,
        unit="GBP per pupil",
        plausible=(20.0, 120.0))
    duration_weeks: int = param(39, "a school year", low=1, high=52, unit="weeks",
        design="the programme's format, part of what a scenario buys")
    cohort_every_weeks: int = param(52, "new linked classes each school year", low=1, high=104, unit="weeks",
        design="the programme's schedule, part of what a scenario buys")
    uptake: float = param(0.9, "assumption: whole classes take part; a few pupils miss out", low=0, high=1)
    weekly_dropout: float = param(0.0, "assumption: pupils stay with their class", low=0, high=1, unit="per week")
    ties_per_participant: float = param(
        1.712, "assumption: friends made in the linked class", low=0, high=20, unit="ties",
        plausible=(0.5, 3.0))
    tie_meet: float = param(0.25, "assumption: linked classes meet a few times a term, about monthly", low=0, high=1)
    parent_tie_share: float = param(
        0.2,
        "assumption: share of pupil friendships that also join two parents (the weaker effect on parents)",
        low=0,
        high=1,
    )
    parent_tie_meet: float = param(0.1, "assumption: parents meet rarely", low=0, high=1)


class SchoolLinking(Intervention):
    name = "school_linking"
    Params = SchoolLinkingParams

    def eligible(self, model):
        pop = model.pop
        return (pop.age >= 7) & (pop.age < 11) & (pop.school >= 0)

    def priority(self, model, rows):
        return whole_schools(model, rows, self.rng)

    def form_groups(self, model, rows):
        """Fix each new pupil's school and its linked school for the year: schools taking part, ordered by the
        share of their pupils of the area's largest group, are paired across that order (the i-th with the i-th
        from the other end; a middle school with its neighbour)."""
        super().form_groups(model, rows)
        pop = model.pop
        school = pop.school[rows].astype(np.int64)
        ids = np.unique(school)
        at = pop.alive & (pop.school >= 0)
        largest = np.bincount(pop.school[at], weights=pop.group[at] == 0, minlength=pop.n_schools)
        share = largest[ids] / np.maximum(np.bincount(pop.school[at], minlength=pop.n_schools)[ids], 1)
        ids = ids[np.argsort(share, kind="stable")]
        n = len(ids)
        mirror = np.arange(n)[::-1].copy()
        if n % 2 == 1 and n > 1:
            mid = n // 2
            mirror[mid] = mid - 1  # the middle school joins its neighbour's link
        partner = dict(zip(ids.tolist(), ids[mirror].tolist()))
        self.school_at = np.r_[getattr(self, "school_at", np.zeros(0, dtype=np.int64)), school]
        self.partner_school = np.r_[getattr(self, "partner_school", np.zeros(0, dtype=np.int64)),
                                    np.array([partner[x] for x in school.tolist()], dtype=np.int64)]

    def weekly_ties(self, model, idx):
        """An attending pupil may make a friend among the attending pupils of their linked school; a share of
        those friendships also join two parents."""
        rate = self.p.ties_per_participant / self.p.duration_weeks
        if len(idx) < 2 or rate <= 0:
            return
        order = np.argsort(self.school_at[idx], kind="stable")
        idx = idx[order]
        school = self.school_at[idx]
        who = np.flatnonzero(self.rng.random(len(idx)) < rate)
        target = self.partner_school[idx[who]]
        lo = np.searchsorted(school, target, side="left")
        hi = np.searchsorted(school, target, side="right")
        has = hi > lo
        who, lo, hi = who[has], lo[has], hi[has]
        pick = lo + (self.rng.random(len(who)) * (hi - lo)).astype(np.int64)
        a, b = self.rows[idx[who]], self.rows[idx[pick]]
        model.add_programme_ties(a, b, meet=self.p.tie_meet)
        share = self.rng.random(len(a)) < self.p.parent_tie_share
        if not share.any():
            return
        pa, pb = _an_adult(model, a[share], self.rng), _an_adult(model, b[share], self.rng)
        ok = (pa >= 0) & (pb >= 0)
        model.add_programme_ties(pa[ok], pb[ok], meet=self.p.parent_tie_meet)


def _an_adult(model, pupils, rng):
    """A random adult (18+) of each pupil's household, or -1 (looked up among the few households concerned)."""
    pop = model.pop
    hh = pop.household[pupils]
    # the live members of those households, in row order: the compiled pass demography uses for the households
    # moving out, given a mask over household ids (np.isin compared every row with each household in turn)
    marked = np.zeros(len(pop.household_communal), dtype=bool)
    marked[hh] = True
    cand = in_households(pop.alive, pop.household, marked)
    cand = cand[pop.age[cand] >= 18]
    cand = cand[np.argsort(pop.household[cand], kind="stable")]
    chh = pop.household[cand]
    lo = np.searchsorted(chh, hh, side="left")
    hi = np.searchsorted(chh, hh, side="right")
    pick = lo + (rng.random(len(pupils)) * (hi - lo)).astype(np.int64)
    if len(cand) == 0:
        return np.full(len(pupils), -1)
    return np.where(hi > lo, cand[np.minimum(pick, len(cand) - 1)], -1)
