"""What every funded programme has: cost, capacity from money, eligibility and targeting, uptake, drop-out,
a schedule of cohorts, and effects that act through the model's mechanisms (guided hours feed the language rule,
programme ties feed contact, job support scales job finding) rather than writing outcomes.

Money and places scale with the population: a run at ``scale=0.1`` buys a tenth of the places, and spend is
reported in area-equivalent pounds (spent / scale), so figures read the same at any scale. A place is paid for
when it is taken up; money left when the run ends (too few eligible or willing residents) is reported as unspent.

Places go where the eligible residents are: offers are drawn from every eligible resident of the area, whatever
their MSOA, by targeting weight alone (no weight depends on the MSOA), so recruits come from each MSOA in
proportion to its eligible residents, as weighted by targeting (whole schools at a time for a school programme,
so in proportion only on average over draws). A scenario may confine a programme or policy to chosen MSOAs
(``scenario.where.<name>``): then only residents living there are eligible (:meth:`Intervention.lives_here`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from sim.kernels import chosen, courses_this_week, other_in_run, runs_of, staying
from sim.params import param
from sim.places import places


@dataclasses.dataclass
class ProgrammeParams:
    """Parameters every programme has; subclasses add their own fields after these."""

    unit_cost_gbp: float = param(500.0, "assumption", low=0.01, high=1e7, unit="GBP per place")
    duration_weeks: int = param(10, "assumption", low=1, high=104, unit="weeks",
        design="the programme's format, part of what a scenario buys")
    cohort_every_weeks: int = param(13, "assumption: a new cohort starts this often", low=1, high=104, unit="weeks",
        design="the programme's schedule, part of what a scenario buys")
    uptake: float = param(0.5, "assumption: share of those offered a place who take it", low=0, high=1)
    weekly_dropout: float = param(0.02, "assumption", low=0, high=1, unit="per week")
    group_size: int = param(12, "assumption: people who meet together", low=2, high=500, unit="people",
        design="the programme's format, part of what a scenario buys")
    ties_per_participant: float = param(
        2.0, "assumption: new acquaintances a participant makes in the group", low=0, high=50, unit="ties"
    )
    tie_meet: float = param(0.8, "assumption: weekly chance that programme acquaintances meet", low=0, high=1)


class Intervention:
    """A programme funded with ``budget_gbp`` (area-equivalent) from ``start_week`` until ``end_week``, for the
    residents of the MSOAs ``where`` names (codes; empty: the whole area)."""

    name = "base"
    Params = ProgrammeParams
    policy = False  # a rule change switched on in a scenario (``Policy``), not a programme bought from its budget
    mixed_groups = False  # groups formed to mix ethnic groups (round-robin) rather than at random
    whole_places = False  # places are whole things (a building), not scaled down with a scaled population

    def __init__(self, params, budget_gbp: float, start_week: int, end_week: int, scale: float, rng, where=()):
        self.p = params
        self.where = tuple(where)
        self._where_mask = None  # over the area's MSOAs, made when first asked (it needs the model's area)
        self.budget_gbp = float(budget_gbp)
        self.start_week, self.end_week = int(start_week), int(end_week)
        self.scale = scale
        self.rng = rng
        # at scale 0.1 a programme buys a tenth of the places, unless a place is a whole thing (a space still
        # serves a scaled neighbourhood)
        self.place_scale = 1.0 if self.whole_places else scale
        self.places_total = (int(math.floor(budget_gbp * self.place_scale / params.unit_cost_gbp + 1e-9))
                             if params.unit_cost_gbp > 0 else 0)
        self.places_used = 0
        self.spend_gbp = 0.0  # area-equivalent
        self.rows = np.zeros(0, dtype=np.int64)  # every participant ever (model rows)
        self.began = np.zeros(0, dtype=np.int64)  # week each began
        self.active = np.zeros(0, dtype=bool)
        self.completed = np.zeros(0, dtype=bool)
        self.dropped = np.zeros(0, dtype=bool)
        self.group_of = np.zeros(0, dtype=np.int64)
        self.ever = None  # per-resident flag: already took part (one course each)
        self.shortfall_weeks = 0  # cohorts that could not fill their places

    # --- what subclasses say -------------------------------------------------------------------------------------

    def eligible(self, model) -> np.ndarray:
        """Boolean mask over model rows of who can be offered a place."""
        raise NotImplementedError

    def priority(self, model, rows: np.ndarray) -> np.ndarray:
        """Relative chance of being offered a place (targeting); default: all alike."""
        return np.ones(len(rows))

    def uptake(self, model, rows: np.ndarray) -> np.ndarray:
        """Chance that each offered resident takes the place."""
        return np.full(len(rows), self.p.uptake)

    def apply(self, model, week, rows: np.ndarray) -> None:
        """This week's effect on the attending participants ``rows`` (through the week's inputs)."""

    def select(self, model, places: int) -> np.ndarray:
        """Who (or what) takes this cohort's ``places``: by default, offers by targeting among the eligible, each
        taken up with the chance :meth:`uptake` gives. A programme whose places are not residents overrides this."""
        cand = np.flatnonzero(self.eligible(model) & model.pop.alive & ~self.ever[: model.pop.capacity]
                              & self.lives_here(model))
        if len(cand) == 0 or places <= 0:
            return np.zeros(0, dtype=np.int64)
        w = np.maximum(self.priority(model, cand), 1e-12)
        # weighted order without replacement (Gumbel top-k on log weights), then offers in that order
        order = cand[np.argsort(-(np.log(w) + self.rng.gumbel(size=len(cand))))]
        accepts = self.rng.random(len(order)) < self.uptake(model, order)
        return order[accepts][:places]

    def msoas_here(self, model) -> np.ndarray:
        """Mask over the area's MSOAs (``pop.neighbourhood`` values) of those the programme may reach."""
        if self._where_mask is None:
            codes = places(model.pop.ons_code).codes
            self._where_mask = np.zeros(len(codes), dtype=bool) if self.where else np.ones(len(codes), dtype=bool)
            self._where_mask[[codes.index(c) for c in self.where]] = True
        return self._where_mask

    def lives_here(self, model):
        """Mask over model rows of residents living in the MSOAs of ``scenario.where.<name>`` (True, a scalar, when
        the scenario names none: the whole area). Eligibility is where people live, not where a class meets."""
        if not self.where:
            return True
        return self.msoas_here(model)[model.pop.neighbourhood[: model.pop.capacity]]

    def start(self, model, rows: np.ndarray) -> None:
        """What happens as ``rows`` begin (after they are paid for and recorded): by default they are marked as
        having taken part (one course each) and put into groups."""
        self.ever[rows] = True
        self.form_groups(model, rows)

    def weekly(self, model, week) -> None:
        """This week's activity: by default courses end or are dropped, attending participants get the
        programme's effect (:meth:`apply`) and make acquaintances in their group (:meth:`weekly_ties`)."""
        idx, anyone = courses_this_week(self.active, self.began, model.week_no, self.p.duration_weeks,
                                        self.completed)  # (compiled: those whose course ended complete it)
        if not anyone:
            return
        idx = staying(idx, self.rng.random(len(idx)), self.p.weekly_dropout, self.active, self.dropped)
        self.apply(model, week, self.rows[idx])
        self.weekly_ties(model, idx)

    # --- the schedule --------------------------------------------------------------------------------------------

    def cohort_weeks(self) -> list[int]:
        return list(range(self.start_week, self.end_week, self.p.cohort_every_weeks))

    def prepare(self, model) -> None:
        """Size the per-resident record to the model (it grows with the population)."""
        if self.ever is None or len(self.ever) < model.pop.capacity:
            ever = np.zeros(model.pop.capacity, dtype=bool)
            if self.ever is not None:
                ever[: len(self.ever)] = self.ever
            self.ever = ever

    def step(self, model, week) -> None:
        t = model.week_no
        self.prepare(model)
        if t in self.cohort_weeks() and self.places_used < self.places_total:
            remaining = [w for w in self.cohort_weeks() if w >= t]
            want = math.ceil((self.places_total - self.places_used) / max(len(remaining), 1))
            self.enrol_cohort(model, want)
        self.weekly(model, week)

    def enrol_cohort(self, model, places: int) -> np.ndarray:
        """Fill up to ``places`` (:meth:`select`), counting a cohort that could not fill them."""
        taken = self.select(model, places)
        if len(taken) < places:
            self.shortfall_weeks += 1
        return self.enrol(model, taken)

    def enrol(self, model, rows: np.ndarray) -> np.ndarray:
        """Start ``rows`` on the programme now: pay for their places, record them, :meth:`start` them."""
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[: max(self.places_total - self.places_used, 0)]
        if len(rows) == 0:
            return rows
        self.places_used += len(rows)
        self.spend_gbp += len(rows) * self.p.unit_cost_gbp / self.place_scale
        self.record(rows, model.week_no)
        self.start(model, rows)
        return rows

    def record(self, rows: np.ndarray, week: int) -> None:
        """Add participant records (model rows, or whatever a programme's places are) starting this week."""
        # (np.concatenate: what np.r_ does with arrays, without its index-trick machinery, twelve times slower)
        self.rows = np.concatenate([self.rows, rows])
        self.began = np.concatenate([self.began, np.full(len(rows), week)])
        self.active = np.concatenate([self.active, np.ones(len(rows), dtype=bool)])
        self.completed = np.concatenate([self.completed, np.zeros(len(rows), dtype=bool)])
        self.dropped = np.concatenate([self.dropped, np.zeros(len(rows), dtype=bool)])

    def forget(self, rows: np.ndarray, gone: np.ndarray) -> None:
        """Residents who died or left (``rows``; ``gone`` is the same as a mask over model rows): they stop
        attending, and their rows, which new residents may take, are free of them."""
        if len(rows) and self.active.any():
            out = self.active & gone[self.rows]
            self.active[out] = False
            self.dropped[out] = True
        if self.ever is not None and len(rows):
            self.ever[rows] = False

    # --- groups and their ties -----------------------------------------------------------------------------------
    # Participants get to know each other over the weeks they attend: each week an attending participant makes a
    # new acquaintance in their group with probability ties_per_participant / duration_weeks.

    def form_groups(self, model, rows: np.ndarray) -> None:
        """Split new participants into groups: mixed by design (dealt round-robin across ethnic groups) or at
        random. Group ids are kept beside the participant records."""
        pop = model.pop
        first = int(self.group_of.max()) + 1 if len(self.group_of) else 0
        n_groups = max(1, int(round(len(rows) / self.p.group_size)))
        if self.mixed_groups:
            order = np.lexsort((self.rng.random(len(rows)), pop.group[rows]))
            gid = np.empty(len(rows), dtype=np.int64)
            gid[order] = np.arange(len(rows)) % n_groups  # every group gets every background
        else:
            gid = self.rng.permutation(len(rows)) % n_groups
        self.group_of = np.concatenate([self.group_of, first + gid])

    def weekly_ties(self, model, idx: np.ndarray) -> None:
        """Attending participants (record indices ``idx``) may tie to another attending member of their group."""
        rate = self.p.ties_per_participant / self.p.duration_weeks
        tie_within_groups(model, self.rows[idx], self.group_of[idx], rate, self.p.tie_meet, self.rng)

    # --- reporting -----------------------------------------------------------------------------------------------

    def report(self) -> dict:
        unspent = max(self.budget_gbp - self.spend_gbp, 0.0)
        return {
            "intervention": self.name,
            "budget_gbp": self.budget_gbp,
            "spend_gbp": self.spend_gbp,
            "unspent_gbp": unspent,
            "places_funded": self.places_total / self.place_scale,
            "participants": len(self.rows) / self.scale,
            "completed": int(self.completed.sum()) / self.scale,
            "dropped_out": int(self.dropped.sum()) / self.scale,
            "unit_cost_gbp": self.p.unit_cost_gbp,
            "cohorts_short_of_takers": self.shortfall_weeks,
        }


def whole_schools(model, rows: np.ndarray, rng) -> np.ndarray:
    """Targeting weights by which whole schools take part together: every pupil of a school gets the same random
    weight (a programme offered to schools, not to pupils one by one)."""
    pop = model.pop
    w = rng.random(int(pop.school[rows].max()) + 1) if len(rows) else np.zeros(0)
    return np.exp(20 * w[pop.school[rows]])


@dataclasses.dataclass
class PolicyParams:
    """Parameters every policy has; subclasses add their own fields after these."""

    unit_cost_gbp: float = param(0.0, "assumption: no public spending", low=0, high=1e6, unit="GBP per resident "
                                 "reached", design="what the policy costs per resident it reaches")


class Policy(Intervention):
    """A rule change rather than a purchase: switched on in a scenario (``scenario.policies.<name>: true``), not
    funded from its budget. It acts every week from its start week to the end of the run (a policy does not
    stop with a funding year), through the same weekly inputs programmes write; what it reaches may still cost
    public money (``unit_cost_gbp`` per resident reached), reported as its spend."""

    policy = True
    Params = PolicyParams

    def __init__(self, params, budget_gbp: float, start_week: int, end_week: int, scale: float, rng, where=()):
        super().__init__(params, 0.0, start_week, end_week, scale, rng, where)
        self.reached = 0  # residents the policy has reached (at the simulated scale)

    def act(self, model, week) -> None:
        """This week's effect of the rule."""
        raise NotImplementedError

    def step(self, model, week) -> None:
        if model.week_no >= self.start_week:
            self.prepare(model)
            self.act(model, week)

    def charge(self, n: int) -> None:
        """Count ``n`` residents newly reached and what reaching them costs (area-equivalent GBP)."""
        self.reached += int(n)
        self.spend_gbp += n * self.p.unit_cost_gbp / self.scale

    def report(self) -> dict:
        out = super().report()
        out.update(budget_gbp=0.0, unspent_gbp=0.0, places_funded=0.0, participants=self.reached / self.scale,
                   completed=0.0, dropped_out=0.0, cohorts_short_of_takers=0)
        return out


def tie_within_groups(model, members: np.ndarray, group: np.ndarray, rate: float, meet: float, rng) -> None:
    """Each member, with probability ``rate``, ties to a random other member with the same ``group`` value."""
    if rate <= 0 or len(members) < 2:
        return
    order = np.argsort(group, kind="stable")
    members = members[order]
    start, size = runs_of(group[order])  # each member's group: where it starts among the sorted, its size
    who = chosen(rng.random(len(members)), rate, size)  # (compiled passes between the draws: the same numbers)
    # a uniformly drawn other member of the group (one of the size - 1 others: positions at or after oneself
    # moved on by one)
    a, b = other_in_run(who, start, size, rng.random(len(who)), members)
    model.add_programme_ties(a, b, meet=meet)
