"""Community spaces: commercial units brought back into community use, each serving a neighbourhood (an MSOA).

A place here is a space (capital and two years of running costs). Spaces open by need, in the most mixed MSOAs
first (where a shared space can bring groups together): need is the MSOA's ethnic diversity when the batch opens,
the chance that two of its living residents drawn at random belong to different groups of the model (1 - the sum
of the squared shares of its residents in each group), highest first, one space an MSOA (ties in code order). With
``scenario.where.community_spaces`` only the MSOAs it names are considered, by the same need; a space beyond them
is not bought (its money is left unspent). A share of the neighbourhood's adults start using it;
each week users make new acquaintances among the other users, with no preference for their own group, so the
space adds mixed contact in the neighbourhood.
"""

import dataclasses

import numpy as np

from sim.interventions.base import Intervention, ProgrammeParams, tie_within_groups
from sim.params import param


@dataclasses.dataclass
class CommunitySpacesParams(ProgrammeParams):
    unit_cost_gbp: float = param(
        300000.0,
        "[R] Community Ownership Fund: round 1 gave about GBP 17m to 70 projects (about GBP 243k each) of "
        "matched capital (up to GBP 250k, at most half the cost), and from round 2 revenue support of up to "
        "GBP 50k; a space here is taken as the average capital grant plus the revenue cap for two years' "
        "running, about GBP 300k (the match funding is not counted)",
        low=100,
        high=1e8,
        unit="GBP per space",
        plausible=(150000.0, 600000.0))
    duration_weeks: int = param(104, "a space stays open for the rest of the run", low=1, high=104, unit="weeks",
        design="the programme's format, part of what a scenario buys")
    cohort_every_weeks: int = param(
        26, "assumption: spaces open in batches every six months", low=1, high=104, unit="weeks",
        design="the programme's schedule, part of what a scenario buys")
    uptake: float = param(1.0, "a funded space opens", low=0, high=1,
        design="a funded space opens")
    weekly_dropout: float = param(0.0, "spaces stay open", low=0, high=1, unit="per week",
        design="a funded space stays open")
    tie_meet: float = param(0.5, "assumption: users see each other about every other week", low=0, high=1)
    user_share: float = param(0.03179, "assumption: share of the neighbourhood's adults who use the space", low=0,
                              high=1, plausible=(0.02, 0.15))
    weekly_new_ties: float = param(
        0.05,
        "assumption: chance a user makes a new acquaintance there in a week",
        low=0,
        high=1,
        unit="per user per week",
    )


class CommunitySpaces(Intervention):
    """Places are spaces: the 'participants' are neighbourhood ids; users are drawn when a space opens."""

    name = "community_spaces"
    Params = CommunitySpacesParams

    whole_places = True  # a space serves a (scaled) neighbourhood at any scale: places are not scaled

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.users = np.zeros(0, dtype=np.int64)

    def select(self, model, places):
        """Spaces open in the most mixed MSOAs (of those ``where`` allows) without one yet."""
        pop = model.pop
        open_now = set(self.rows.tolist())
        a = pop.alive
        counts = np.zeros((pop.n_neighbourhoods, len(pop.groups)))
        np.add.at(counts, (pop.neighbourhood[a], pop.group[a]), 1)
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        diversity = 1 - (shares**2).sum(axis=1)
        allowed = self.msoas_here(model)
        order = [n for n in np.argsort(-diversity, kind="stable").tolist() if n not in open_now and allowed[n]]
        order = order[:places]
        return np.array(order, dtype=np.int64)

    def start(self, model, rows):
        """A share of each new space's neighbourhood's adults start using it."""
        pop = model.pop
        adults = np.flatnonzero(pop.alive & (pop.age >= 16) & np.isin(pop.neighbourhood, rows))
        self.users = np.r_[self.users, adults[self.rng.random(len(adults)) < self.p.user_share]]

    def weekly(self, model, week):
        """Users make acquaintances among the other users of their neighbourhood's space (no own-group pull)."""
        pop = model.pop
        users = self.users[pop.alive[self.users]]
        tie_within_groups(model, users, pop.neighbourhood[users], self.p.weekly_new_ties, self.p.tie_meet, self.rng)

    def forget(self, rows, gone):
        if len(rows) and len(self.users):
            self.users = self.users[~gone[self.users]]

    def report(self):
        out = super().report()
        out["participants"] = len(self.users) / self.scale  # users of the spaces
        out["completed"] = 0.0
        out["dropped_out"] = 0.0
        return out
