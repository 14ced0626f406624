"""IntegrationModel: the Mesa model that owns the residents, their ties and the weekly rules.

State is columnar (``model.pop``, ``model.net``); every resident is also a :class:`Resident` agent in
``model.agents``. Two engines apply the same rules: ``vectorised`` (default: one numpy pass per rule over all
residents) and ``agents`` (``Resident.step`` for each agent; the readable oracle and the speed baseline). Both are
synchronous: every rule reads the state at the start of the week; changes apply together at its end.
"""

from __future__ import annotations

import dataclasses
import logging
import zlib

import mesa
import numpy as np

from sim import indicators
from sim import scenario as scenario_mod
from sim.agents import Resident
from sim.config import ModelParams, check_run, check_scale, load_area, model_params
from sim.engines import ENGINES
from sim.network import PROGRAMME, SETTING_ATTR, TIE_SETTINGS, ContactNetwork, PartnerIndex
from sim.network import build as build_network
from sim.params import ConfigError
from sim.places.outcomes import by_msoa
from sim.population import Population, generate, grow, place_pupils, pupils
from sim.processes import attitude, contact, demography, employment, mental_health, new_week, ties
from sim.processes.rule import Week
from sim.speed import BIG, Later, WeekZero, speed_for  # (WeekZero: what week_zero() returns)

logging.getLogger("MESA").setLevel(logging.WARNING)


def stream(seed: np.random.SeedSequence, name: str) -> np.random.Generator:
    """A generator for one named component, derived from the run's seed (Starsim-style: funding or adding one
    component leaves every other component's draws unchanged)."""
    key = zlib.crc32(name.encode())
    return np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + (key,)))


def as_seed_sequence(seed) -> np.random.SeedSequence:
    """An int or a SeedSequence; None draws fresh entropy from the OS (Mesa's convention for ``seed=None``: every
    model differs, e.g. each iteration of ``mesa.batch_run``); the entropy drawn is kept in ``model.seed``."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        # (1.5 was run as seed 1 and recorded as 1.5; -1 and 'abc' were numpy's or int()'s errors)
        raise ConfigError(f"'seed' must be a whole number >= 0 (or None: fresh entropy), got {seed!r}")
    return np.random.SeedSequence(None if seed is None else int(seed))


SEPTEMBER_WEEK = 24  # weeks from the Census (21 March 2021) to the start of the school year (1 September)
# what a model holds at week 0 that its funding does not change (with its random streams): see WeekZero
WEEK_ZERO = ("pop", "net", "indices", "programme_net", "employment_shift", "inactive_mix", "attitude_effect",
             "attitude_ref", "templates", "demography_log", "work_teams", "week")



class IntegrationModel(mesa.Model):
    """Residents of one pilot area, week by week.

    Args:
        area: name of a config in ``configs/area/`` (or an area mapping).
        scale: fraction of the real population to simulate, in (0, 1].
        seed: an int or a ``numpy.random.SeedSequence``; everything random derives from it. None (the default,
            as in Mesa) draws a fresh seed, kept in ``model.seed`` so the run can be repeated.
        weeks: run length used by :meth:`run` and by ``mesa.batch_run`` (``model.running`` turns False).
        engine: "vectorised" or "agents".
        params: mechanism parameters: a mapping like the ``model`` config group, or ``ModelParams``.
        scenario: a funding scenario: a name in ``configs/scenario/`` or a mapping (see ``sim.scenario``).
        intervention_params: programme parameters ``{name: {param: value}}`` overriding
            ``configs/intervention/<name>.yaml``.
        interventions: extra programme objects with ``step(model, week)`` (used by virtual trials).
        start: a :class:`WeekZero` from another model of the same area, scale, seed and parameters (see
            :meth:`week_zero`): this model starts from a copy of it instead of building the same population again.
        fast: the speed machinery (``sim.speed``) on or off; None (the default): on unless ``SIM_FAST=0``. The
            numbers are the same either way.
    """

    def __init__(self, area="bradford", scale=0.01, seed=None, weeks=104, engine="vectorised", params=None,
                 scenario="baseline", intervention_params=None, interventions=(), area_config=None,
                 start=None, fast=None):
        self.speed = speed_for(fast)  # (what makes it faster, asked at fixed points: model.speed)
        scale, weeks, _, engine = check_run(scale, weeks, 0, engine)
        interventions = scenario_mod.check_extra(interventions)  # (every argument checked before any work)
        self.seed_sequence = as_seed_sequence(seed)
        self.seed = self.seed_sequence.entropy if seed is None else seed
        super().__init__(rng=stream(self.seed_sequence, "mesa"))
        self.area = load_area(area_config if area_config is not None else area)
        check_scale(scale, self.area)
        self.scale, self.weeks, self.engine = scale, weeks, engine
        self.params = params if isinstance(params, ModelParams) else model_params(params)
        self.scenario = scenario_mod.check(scenario, self.area["name"], weeks)
        ip = intervention_params
        if not (isinstance(ip, dict) and ip and all(dataclasses.is_dataclass(v) for v in ip.values())):
            ip = scenario_mod.intervention_params(ip)  # validate a plain mapping (or take the defaults)
        self.intervention_params = ip
        self.week_no = 0
        self._rngs = {}
        with self.speed.building(), self.speed.on():
            if start is None or not self.speed.restore(self, start):  # (a copy of start's state, if it has one)
                self._build_week_zero()
            self.interventions = scenario_mod.build_interventions(self.scenario, self.intervention_params, scale,
                                                                  self.rng_for) + list(interventions)
            self.stepper = ENGINES[engine](self)
            # a list, not a numpy object array: cycles through object arrays are invisible to the garbage collector
            rows, capacity = np.flatnonzero(self.pop.alive), self.pop.capacity
            if len(rows) and rows[-1] == len(rows) - 1:  # rows 0..n-1, as a new population has them: in one go
                self._agents_by_row: list = self.speed.add_agents(self, Resident, range(len(rows)))
                self._agents_by_row.extend([None] * (capacity - len(rows)))
            else:
                self._agents_by_row = [None] * capacity
                self.add_agents(rows)
        # the seed too, so each row of mesa.batch_run says which run it is (a fresh seed is drawn otherwise)
        self.datacollector = mesa.DataCollector(
            model_reporters={**{k: (lambda m, k=k: m.current[k]) for k in indicators.INDICATORS + indicators.EXTRA},
                             "seed": lambda m: m.seed})
        with self.speed.on():
            self._collect()
        # where the outcomes are (sim.places.outcomes): per MSOA at week 0 and at the last week
        self.msoa_counts = {0: by_msoa(self.pop, self.networks)}
        # Mesa's batch_run takes DataCollector row ``steps - 1`` as the last and labels rows by it; week 0 is
        # recorded too, so ``steps`` counts the weeks recorded (week_no + 1): its last row is the final week
        self.steps = 1

    # --- randomness --------------------------------------------------------------------------------------------

    def rng_for(self, name: str) -> np.random.Generator:
        if name not in self._rngs:
            self._rngs[name] = stream(self.seed_sequence, name)
        return self._rngs[name]

    # --- agents ------------------------------------------------------------------------------------------------

    def add_agents(self, rows: np.ndarray) -> None:
        """One Resident per row, registered with Mesa (in bulk: ``sim.speed.mesa_bulk``)."""
        rows = np.asarray(rows).tolist()
        for r, a in zip(rows, self.speed.add_agents(self, Resident, rows)):
            self._agents_by_row[r] = a

    def remove_residents(self, rows: np.ndarray, gone: np.ndarray, wait: bool = True):
        """Residents who died or left (``rows``; ``gone`` the same as a mask): programmes forget them, their ties
        end and their agents leave Mesa. Their rows are free for newcomers. ``wait`` False: the everyday network
        drops their ties on a second thread if it is large; the handle returned (or None) must be waited for
        (``.result()``) before the networks are used again."""
        for iv in self.interventions:
            iv.forget(rows, gone)
        pending = self.net.remove_residents(rows, self.pop.capacity, gone=gone, wait=wait)
        self.programme_net.remove_residents(rows, self.pop.capacity, gone=gone)
        by_row = self._agents_by_row
        agents = [by_row[r] for r in rows.tolist() if by_row[r] is not None]
        for r in rows.tolist():
            by_row[r] = None
        self.speed.remove_agents(self, Resident, agents)
        return pending

    def agent_of(self, row: int) -> Resident:
        return self._agents_by_row[row]

    def release(self, recycle: bool = False) -> None:
        """Let this model be garbage-collected (Mesa keeps a per-model id counter that would hold it; its objects,
        frozen when it was made, go back to the collector). ``recycle``: nothing else refers to its agents (a
        study's run), so they are kept, emptied, for the next models of this process (``sim.speed.mesa_bulk``)."""
        self.speed.release(self, Resident, recycle)
        self._agents_by_row, self.stepper, self.running = [], None, False  # (the engine refers back to the model)

    # --- setup -------------------------------------------------------------------------------------------------

    def _build_week_zero(self) -> None:
        """Everything before the first week that no funding choice touches (programmes draw from streams of their
        own, so this is the same for every scenario of a seed and parameter set)."""
        p = self.params
        self.pop: Population = generate(self.area, self.scale, p.population, self.rng_for("population"))
        mental_health.place_refugees(self.pop, self.area["name"], self.scale, p.mental_health, self.rng_for("refugees"))
        self.net, self.indices = build_network(self.pop, p.ties, self.rng_for("network"), self._turnover())
        # programme ties live in a network of their own, so funding a programme leaves the slots (and so the
        # weekly draws) of everyday ties as they are in the baseline: common random numbers
        self.programme_net = ContactNetwork(1024, p.ties)
        self.employment_shift = employment.calibrate_shift(self.pop, p.population, p.employment)
        self.inactive_mix = employment.inactive_mix(self.pop)
        self.attitude_effect, self.attitude_ref = attitude.settle(self.pop, self.net, p,
                                                                  self.rng_for("attitude-init"))
        self.templates = demography.make_templates(self.pop, self.area, self.scale, p.demography)
        self.demography_log = []
        self.work_teams = employment.WorkTeams(self.pop, self.rng_for("jobs"))
        self.week = self._first_week()

    def week_zero(self) -> WeekZero:
        """A copy of this model's week-0 state (population, ties, indices, calibrated shifts, the random streams as
        they stand): another model of the same area, scale, seed and parameters can start from it
        (``IntegrationModel(..., start=...)``) and runs exactly as if it had built it, whatever it funds. With the
        speed machinery off it holds nothing, and a model started from it builds its own."""
        if self.week_no != 0:
            raise RuntimeError("week_zero() is the state before the first week; this model has already stepped")
        state = {k: getattr(self, k) for k in WEEK_ZERO}
        state["_rngs"] = {k: g for k, g in self._rngs.items() if not k.startswith("intervention:")}
        return self.speed.keep(self, state)  # (this run's draws kept for the runs that start from it)

    def _turnover(self) -> dict:
        """Extra weekly loss of ties per setting from people leaving it (jobs ending, changing school, moving),
        so the week-0 network starts at the size the weekly rules sustain."""
        p = self.params
        moves = 2 * demography.weekly(p.demography.move_out) if p.demography.enabled else 0.0
        return {"neighbourhood": moves, "venue": moves, "work": moves + 2 * p.employment.separation,
                "school": moves + 2 / (52 * 7)}

    def _first_week(self) -> Week:
        week = new_week(self.pop.capacity)
        _, week.contacts, week.bridging_q, week.english_contacts = contact.week(self.pop, self.net,
                                                                                 self.params.ties,
                                                                                 self.rng_for("contact-week0"))
        return week

    # --- the week ----------------------------------------------------------------------------------------------

    def step(self) -> None:
        with self.speed.on():
            self._step()

    def _step(self) -> None:
        week = self.week
        if week is None or len(week) != self.pop.capacity:
            week = self.week = new_week(self.pop.capacity)
        else:  # last week's arrays, back at their neutral values (no programme, no contact)
            week.reset()
        for iv in self.interventions:
            iv.step(self, week)
        self.stepper.step(week)  # (which has draws made ahead once the rules have taken this week's)
        self.week_no += 1
        self.demography_log.append({"week": self.week_no, **demography.step(self)})
        if self.week_no % self.params.ties.reindex_weeks == 0:
            self._reindex()
        self._collect()
        if self.week_no >= self.weeks:
            self.running = False
            self.msoa_counts[self.week_no] = by_msoa(self.pop, self.networks)

    def drawn(self, name: str, size: int):
        """This week's draws of stream ``name`` made ahead (``VectorisedEngine.draw_ahead``), if they were made
        for ``size``; else None, with the stream back where it was before them (to be drawn afresh)."""
        return self.speed.drawn(self, name, size)

    def shared_draws(self, name: str, size: int, draw, into: np.ndarray | None = None, borrow: bool = False):
        """This week's numbers of stream ``name`` (``size``: what their shape follows), as ``draw()`` draws them
        (into ``into``, if given), or as another run of the replicate drew them from the same position of the
        stream (``sim.speed.fast.Fast.shared_draws``; ``borrow``: read-only, as kept)."""
        return self.speed.shared_draws(self, name, size, draw, into, borrow)

    def shared_step(self, name: str, stream: str | None, reads: tuple, step) -> tuple:
        """``step()``, a part of the week that draws from ``stream`` (None: draws nothing) and reads only the
        arrays ``reads``: a tuple of arrays, done or taken (read-only) from another run of the replicate where the
        stream stood alike and ``reads`` were equal (``sim.speed.fast.Fast.shared_step``)."""
        return self.speed.shared_step(self, name, stream, reads, step)

    @property
    def networks(self) -> tuple:
        """Everyday ties, then programme ties."""
        return (self.net, self.programme_net)

    def add_programme_ties(self, a: np.ndarray, b: np.ndarray, meet: float) -> None:
        """Ties made on a programme (used by interventions)."""
        self.programme_net.add(np.asarray(a, dtype=np.int32), np.asarray(b, dtype=np.int32), PROGRAMME,
                               self.pop.group, meet=meet)

    def adjacency(self):
        """scipy.sparse adjacency of all ties (everyday and programme) over resident rows."""
        return self.net.adjacency(self.pop.capacity) + self.programme_net.adjacency(self.pop.capacity)

    def _reindex(self) -> None:
        """Refresh schools by age and the partner indices; flag ties whose setting lapsed. Schools and the
        indices of neighbourhoods, schools and venues follow from columns that most scenarios of a replicate
        have alike (who is alive, where, how old): they are taken from another run of the replicate where those
        columns are equal (:meth:`shared_step`; workplaces differ as soon as a programme finds someone work)."""
        pop = self.pop
        # the year's admissions round: the first refresh from the start of September (week 0 is 21 March 2021)
        admissions = (self.week_no - SEPTEMBER_WEEK) % 52 < self.params.ties.reindex_weeks
        reads = (pop.school, pupils(pop), pop.age, pop.household, pop.household_lsoa, pop.religion, pop.female,
                 np.array([admissions]))  # (what place_pupils reads)
        pop.school[:] = self.shared_step("schools", None, reads, lambda: (
            place_pupils(pop, self.params.population, pop.school.copy(), admissions),))[0]
        # the ties whose setting lapsed are flagged on the second thread (a large network) meanwhile
        lapsing = Later(len(self.net.alive) > BIG, ties.mark_lapsed, pop, self.net)
        # work and school change weekly; neighbourhoods and venues only as people move, so they are re-sorted
        # less often (a stale index still only returns current members: partners are checked)
        slow = self.week_no % (3 * self.params.ties.reindex_weeks) == 0
        n_groups = len(pop.groups)
        for s in range(len(TIE_SETTINGS)):
            attr = SETTING_ATTR[s]
            if not (slow or attr in ("workplace", "school")):
                continue
            reads = (getattr(pop, attr), pop.group, pop.alive)
            made = None
            if attr != "workplace":
                made = self.shared_step(f"index:{attr}", None, reads,
                                        lambda reads=reads: PartnerIndex.sort(*reads, n_groups))
                # (a kept entry is read-only, which compiled code would take for another type: a copy of it)
                made = tuple(a if a.flags.writeable else a.copy() for a in made)
            self.indices[s] = PartnerIndex(*reads, n_groups, sorted_arrays=made)
        self.work_teams.refresh()
        lapsing.result()

    def allocate(self, k: int) -> np.ndarray:
        """``k`` free rows (growing every column if the headroom is used up)."""
        free = np.flatnonzero(~self.pop.alive)[:k]
        if len(free) < k:
            self._grow(self.pop.capacity + max(k, self.pop.capacity // 20))
            free = np.flatnonzero(~self.pop.alive)[:k]
        return free

    def _grow(self, capacity: int) -> None:
        grow(self.pop, capacity)
        self.week.grow(capacity)
        self._agents_by_row.extend([None] * (capacity - len(self._agents_by_row)))
        for idx in self.indices.values():  # partner indices check liveness against the (new) column
            idx.alive = self.pop.alive
        self.work_teams.refresh()

    # --- indicators --------------------------------------------------------------------------------------------

    @property
    def spend_gbp(self) -> float:
        """Cumulative spend on interventions so far (area-equivalent GBP)."""
        return float(sum(iv.spend_gbp for iv in self.interventions))

    def intervention_report(self) -> list[dict]:
        return [iv.report() for iv in self.interventions]

    def _collect(self) -> None:
        self.current = indicators.compute(self.pop, self.networks, self.week.contacts, self.spend_gbp)
        # (each reporter reads its entry of current, or the seed)
        self.speed.collect(self.datacollector, self, {**self.current, "seed": self.seed})

    def run(self, progress=None) -> None:
        """Run to ``weeks``; ``progress`` is an optional callable given the week number after each step."""
        while self.running and self.week_no < self.weeks:
            self.step()
            if progress:
                progress(self.week_no)

    def timeseries(self):
        df = self.datacollector.get_model_vars_dataframe().drop(columns="seed").reset_index(drop=True)
        df.insert(0, "week", np.arange(len(df)))
        return df

