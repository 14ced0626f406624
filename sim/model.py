"""IntegrationModel: the Mesa model that owns the residents, their ties and the weekly rules.

State is columnar (``model.pop``, ``model.net``); every resident is also a :class:`Resident` agent in
``model.agents``. Two engines apply the same rules: ``vectorised`` (default: one numpy pass per rule over all
residents) and ``agents`` (``Resident.step`` for each agent; the readable oracle and the speed baseline). Both are
synchronous: every rule reads the state at the start of the week; changes apply together at its end.
"""

from __future__ import annotations

import dataclasses
import logging
import weakref
import zlib

import mesa
import numpy as np

from sim import indicators
from sim import scenario as scenario_mod
from sim.agents import Resident
from sim.config import ModelParams, check_run, check_scale, load_area, model_params
from sim.network import PROGRAMME, SETTING_ATTR, TIE_SETTINGS, ContactNetwork, PartnerIndex
from sim.network import build as build_network
from sim.population import (
    CHILD,
    EMPLOYED,
    NO_SETTING,
    Population,
    assign_schools,
    assign_venues,
    generate,
    poor_english,  # fmt: skip
)
from sim.processes import attitude, contact, demography, employment, language, ties

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
    return np.random.SeedSequence(None if seed is None else int(seed))


@dataclasses.dataclass
class Week:
    """What a week brought each resident: contacts drawn, and what programmes put in (zeros in the baseline)."""

    contacts: np.ndarray
    bridging_q: np.ndarray
    english_contacts: np.ndarray
    class_hours: np.ndarray
    job_boost: np.ndarray

    @classmethod
    def empty(cls, n: int) -> "Week":
        return cls(np.zeros(n, np.int32), np.zeros(n, np.float32), np.zeros(n, np.float32),
                   np.zeros(n, np.float32), np.ones(n, np.float32))  # fmt: skip


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
    """

    def __init__(self, area="bradford", scale=0.01, seed=None, weeks=104, engine="vectorised", params=None,
                 scenario="baseline", intervention_params=None, interventions=(), area_config=None):
        scale, weeks, _, engine = check_run(scale, weeks, 0, engine)
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
        p = self.params

        self.pop: Population = generate(self.area, scale, p.population, self.rng_for("population"))
        self.net, self.indices = build_network(self.pop, p.ties, self.rng_for("network"), self._turnover())
        # programme ties live in a network of their own, so funding a programme leaves the slots (and so the
        # weekly draws) of everyday ties as they are in the baseline: common random numbers
        self.programme_net = ContactNetwork(1024, p.ties)
        self.employment_shift = employment.calibrate_shift(self.pop, p.population, p.employment)
        self.inactive_mix = employment.inactive_mix(self.pop)
        self._settle_attitudes()
        self.templates = demography.make_templates(self.pop, self.area, scale, p.demography)
        self.demography_log = []
        self.interventions = scenario_mod.build_interventions(self.scenario, self.intervention_params, scale,
                                                              self.rng_for) + list(interventions)

        self._worker_index = None
        # a list, not a numpy object array: cycles through object arrays are invisible to the garbage collector
        self._agents_by_row: list = [None] * self.pop.capacity
        self._create_agents(np.flatnonzero(self.pop.alive))
        self.week = self._first_week()
        self.datacollector = mesa.DataCollector(
            model_reporters={k: (lambda m, k=k: m.current[k]) for k in indicators.INDICATORS + indicators.EXTRA})
        self._collect()

    # --- randomness --------------------------------------------------------------------------------------------

    def rng_for(self, name: str) -> np.random.Generator:
        if name not in self._rngs:
            self._rngs[name] = stream(self.seed_sequence, name)
        return self._rngs[name]

    # --- agents ------------------------------------------------------------------------------------------------

    def _create_agents(self, rows: np.ndarray) -> None:
        """One Resident per row. Large batches are registered with Mesa in bulk: the same three registries that
        ``Agent.__init__`` fills one by one (Mesa 3.3.1: ``model._agents``, the type's AgentSet and
        ``_all_agents``), about 4x faster. The agents are the same as ``Resident(model, row)`` makes (a test
        checks)."""
        if len(rows) == 0:
            return
        ids = mesa.Agent._ids[self]
        new = Resident.__new__
        made = []
        for r in rows.tolist():
            a = new(Resident)
            a.model, a.unique_id, a.pos, a.row = self, next(ids), None, r
            made.append(a)
        self._agents.update(dict.fromkeys(made))
        if Resident not in self._agents_by_type:
            self._agents_by_type[Resident] = mesa.agent.AgentSet([], random=self.random)
        # the AgentSets hold WeakKeyDictionaries: fill their dicts of weak references directly. Plain weak
        # references (no callback) are shared by both; entries leave through remove(), as Mesa's own do (the
        # model holds a strong reference to every live agent, so none dies while still listed)
        refs = dict.fromkeys(map(weakref.ref, made))
        for agentset in (self._agents_by_type[Resident], self._all_agents):
            agentset._agents.data.update(refs)
        by_row = self._agents_by_row
        for r, a in zip(rows.tolist(), made):
            by_row[r] = a

    def _remove_agents(self, rows: np.ndarray) -> None:
        """Deregister the residents of ``rows`` from Mesa (in bulk, the inverse of :meth:`_create_agents`)."""
        by_row = self._agents_by_row
        gone = [by_row[r] for r in rows.tolist() if by_row[r] is not None]
        for r in rows.tolist():
            by_row[r] = None
        by_type = self._agents_by_type.get(Resident)
        for a in gone:
            del self._agents[a]
            if by_type is not None:
                by_type._agents.pop(a, None)
            self._all_agents._agents.pop(a, None)

    def agent_of(self, row: int) -> Resident:
        return self._agents_by_row[row]

    def release(self) -> None:
        """Let this model be garbage-collected: Mesa 3.3.1's ``Agent._ids`` keeps every model alive otherwise."""
        mesa.Agent._ids.pop(self, None)

    # --- setup -------------------------------------------------------------------------------------------------

    def _turnover(self) -> dict:
        """Extra weekly loss of ties per setting from people leaving it (jobs ending, changing school, moving),
        so the week-0 network starts at the size the weekly rules sustain."""
        p = self.params
        moves = 2 * demography.weekly(p.demography.move_out) if p.demography.enabled else 0.0
        return {"neighbourhood": moves, "venue": moves, "work": moves + 2 * p.employment.separation,
                "school": moves + 2 / (52 * 7)}

    def _settle_attitudes(self) -> None:
        """Calibrate the contact effect to r = 0.21 and start attitudes at their fixed point (no drift)."""
        rng = self.rng_for("attitude-init")
        draws = []
        for _ in range(4):
            draws.append(attitude.drive(contact.week(self.pop, self.net, self.params.ties, rng)[2]))
        # (no programme ties exist yet)
        mean_drive = np.mean(draws, axis=0)
        alive = self.pop.alive
        self.attitude_effect = attitude.calibrate(self.pop.attitude_set[alive], mean_drive[alive],
                                                  self.params.attitude)
        target = self.pop.attitude_set + self.attitude_effect * mean_drive
        self.pop.attitude[:] = np.where(alive, np.clip(target, 0, 1), 0).astype(np.float32)

    def _first_week(self) -> Week:
        week = Week.empty(self.pop.capacity)
        _, week.contacts, week.bridging_q, week.english_contacts = contact.week(self.pop, self.net,
                                                                                 self.params.ties,
                                                                                 self.rng_for("contact-week0"))
        return week

    # --- the week ----------------------------------------------------------------------------------------------

    def step(self) -> None:
        week = Week.empty(self.pop.capacity)
        self.week = week
        for iv in self.interventions:
            iv.step(self, week)
        if self.engine == "vectorised":
            self._step_vectorised(week)
        else:
            self._step_agents(week)
        self.week_no += 1
        self._demography()
        if self.week_no % self.params.ties.reindex_weeks == 0:
            self._reindex()
        self._collect()
        if self.week_no >= self.weeks:
            self.running = False

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

    def _step_vectorised(self, week: Week) -> None:
        pop, net, p = self.pop, self.net, self.params
        code = contact.speaker_code(pop)
        fade, *out = contact.week(pop, net, p.ties, self.rng_for("contact"), code=code)
        if self.programme_net.n_ties:
            pfade, *out = contact.week(pop, self.programme_net, p.ties, self.rng_for("contact-programme"), out=out,
                                       code=code)
            self.programme_net.remove(pfade)
        week.contacts, week.bridging_q, week.english_contacts = out
        new_english = language.step(pop, week, p.language)
        new_status = employment.step(pop, week, p.employment, p.population, self.employment_shift,
                                     self.inactive_mix, self.rng_for("employment"))
        new_attitude = attitude.step(pop, week, p.attitude, self.attitude_effect)
        formed = ties.new_ties(pop, self.indices, p.ties, self.rng_for("ties"))
        # apply everything together
        net.remove(fade)
        for a, b, s in formed:
            net.add(a, b, s, pop.group)
        pop.english[:] = new_english
        pop.attitude[:] = new_attitude
        self._apply_status(pop.status.copy(), new_status)
        alive = pop.alive
        pop.age[alive] += np.float32(1 / 52)
        pop.years_in_uk[alive] += np.float32(1 / 52)

    def _step_agents(self, week: Week) -> None:
        pop = self.pop
        self.prev = pop.copy_columns()
        old_status = self.prev["status"]
        self.agent_rng = self.rng_for("agents")
        # employment takes the same uniforms, from the same stream, as the vectorised engine: one rule, one draw
        self.employment_draws = employment.draws(self.rng_for("employment"), len(pop.status))
        self._by_a, self._by_any, self.fade_mask, self.meet_mask = [], [], [], []
        for net in self.networks:
            live = np.flatnonzero(net.alive)
            self._by_a.append(_slots_by(net.a[live], live, pop.capacity))
            self._by_any.append(_slots_by(np.r_[net.a[live], net.b[live]], np.r_[live, live], pop.capacity))
            self.fade_mask.append(np.zeros(len(net.alive), dtype=bool))
            self.meet_mask.append(np.zeros(len(net.alive), dtype=bool))
        self.pending_ties = []
        residents = self.agents_by_type[Resident]
        residents.do("meet")
        residents.shuffle_do("step")
        for net, fade in zip(self.networks, self.fade_mask):
            net.remove(fade)
        if self.pending_ties:
            t = np.array(self.pending_ties, dtype=np.int64)
            for s in np.unique(t[:, 2]):
                m = t[:, 2] == s
                self.net.add(t[m, 0].astype(np.int32), t[m, 1].astype(np.int32), int(s), pop.group)
        new_status = pop.status.copy()
        pop.status[:] = old_status
        self._apply_status(old_status, new_status)

    def owned_slots(self, row: int, k: int = 0) -> np.ndarray:
        starts, slots = self._by_a[k]
        return slots[starts[row]:starts[row + 1]]

    def incident_slots(self, row: int, k: int = 0) -> np.ndarray:
        starts, slots = self._by_any[k]
        return slots[starts[row]:starts[row + 1]]

    def _apply_status(self, old: np.ndarray, new: np.ndarray) -> None:
        """Set the new statuses; people who start work get a work team, people who stop lose theirs."""
        pop = self.pop
        pop.status[:] = new
        start = np.flatnonzero(pop.alive & (new == EMPLOYED) & (old != EMPLOYED))
        stop = np.flatnonzero(pop.alive & (new != EMPLOYED) & (old == EMPLOYED))
        pop.workplace[stop] = NO_SETTING
        if len(start):
            self._find_work_team(start)

    def _find_work_team(self, rows: np.ndarray) -> None:
        """A new job is in the team of a random worker of the same group and English level (a referral).

        Joining where a like worker works keeps the expected make-up of work teams (and so the share of bridging
        work ties) what it was at week 0, rather than mixing teams at random as people change jobs. Workers are
        indexed by (group, poor English) every few weeks, like the other partner indices.
        """
        pop, rng = self.pop, self.rng_for("jobs")
        if self._worker_index is None:
            self._worker_index = PartnerIndex(np.where(pop.status == EMPLOYED, self._job_key(), -1),
                                              np.zeros(pop.capacity, dtype=np.int8), pop.alive, 1)
        idx = self._worker_index
        if len(idx.rows) == 0:
            return
        key = self._job_key()
        ref = idx.draw(rows, key, np.zeros(pop.capacity, dtype=np.int8), 0.0, rng, check=False)
        anyone = idx.rows[rng.integers(0, len(idx.rows), size=len(rows))]
        ref = np.where(ref >= 0, ref, anyone)
        team = pop.workplace[ref]
        pop.workplace[rows] = np.where(team >= 0, team, pop.workplace[anyone])

    def _job_key(self) -> np.ndarray:
        return self.pop.group.astype(np.int32) * 2 + poor_english(self.pop.main_english, self.pop.english)

    def _reindex(self) -> None:
        """Refresh schools by age and the partner indices; flag ties whose setting lapsed."""
        pop = self.pop
        assign_schools(pop, self.params.population)
        # work and school change weekly; neighbourhoods and venues only as people move, so they are re-sorted
        # less often (a stale index still only returns current members: partners are checked)
        slow = self.week_no % (3 * self.params.ties.reindex_weeks) == 0
        for s in range(len(TIE_SETTINGS)):
            if slow or SETTING_ATTR[s] in ("workplace", "school"):
                self.indices[s] = PartnerIndex(getattr(pop, SETTING_ATTR[s]), pop.group, pop.alive,
                                               len(pop.groups))
        ties.mark_lapsed(pop, self.net)
        self._worker_index = None

    def _demography(self) -> None:
        p = self.params.demography
        if not p.enabled:
            self.demography_log.append({"week": self.week_no, "deaths": 0, "births": 0, "moved_out": 0,
                                        "moved_in": 0, "international_arrivals": 0})
            return
        pop, rng = self.pop, self.rng_for("demography")
        dead = demography.deaths(pop, p, rng)
        mothers = demography.mothers(pop, p, rng)
        leaving = demography.leaving_households(pop, p, rng)
        moving = np.zeros(len(pop.household_communal), dtype=bool)
        moving[leaving] = True
        leavers = np.flatnonzero(pop.alive & moving[np.maximum(pop.household, 0)] & (pop.household >= 0))
        gone = np.unique(np.r_[dead, leavers]).astype(np.int64)
        pop.alive[gone] = False
        gone_mask = np.zeros(pop.capacity, dtype=bool)
        gone_mask[gone] = True
        mothers = mothers[~gone_mask[mothers]]  # a mother who died or moved out this week gives birth elsewhere
        for iv in self.interventions:
            iv.forget(gone, gone_mask)
        for net in self.networks:
            net.remove_residents(gone, pop.capacity)
        self._remove_agents(gone)
        donors = demography.arriving_donors(self.templates, pop.household_neighbourhood[leaving], rng)
        t = self.templates
        sizes = t["sizes"][donors]
        new_rows = self._allocate(int(sizes.sum()) + len(mothers))
        arr_rows, baby_rows = new_rows[: int(sizes.sum())], new_rows[int(sizes.sum()):]
        src = np.concatenate([t["rows"][t["starts"][d]: t["starts"][d] + t["sizes"][d]] for d in donors]) \
            if len(donors) else np.zeros(0, dtype=np.int64)  # fmt: skip
        cols = t["columns"]
        for c in pop.COLUMNS:
            if c in ("household", "neighbourhood", "workplace", "school", "venue"):
                continue
            getattr(pop, c)[arr_rows] = cols[c][src]
        pop.household[arr_rows] = np.repeat(leaving, sizes) if len(leaving) else []
        pop.neighbourhood[arr_rows] = pop.household_neighbourhood[pop.household[arr_rows]]
        # babies
        pop.alive[baby_rows] = True
        for c in ("group", "detailed", "main_english", "household", "neighbourhood", "employ_trait"):
            getattr(pop, c)[baby_rows] = getattr(pop, c)[mothers]
        pop.age[baby_rows] = 0.0
        pop.years_in_uk[baby_rows] = 0.0
        pop.female[baby_rows] = rng.random(len(baby_rows)) < 0.488
        pop.born_abroad[baby_rows] = False
        pop.english[baby_rows] = np.where(pop.main_english[baby_rows], 4.0, 0.5)
        pop.status[baby_rows] = CHILD
        pop.attitude_set[baby_rows] = pop.attitude_set[mothers]
        pop.attitude[baby_rows] = pop.attitude[mothers]
        born_or_arrived = np.r_[arr_rows, baby_rows]
        pop.workplace[born_or_arrived] = NO_SETTING
        pop.school[born_or_arrived] = NO_SETTING
        pop.venue[born_or_arrived] = NO_SETTING
        workers = arr_rows[pop.status[arr_rows] == EMPLOYED]
        if len(workers):
            self._find_work_team(workers)
        assign_venues(pop, arr_rows, self.params.population, rng)
        self._create_agents(born_or_arrived)
        intl = int(np.isin(donors, t["international"]).sum())
        self.demography_log.append({"week": self.week_no, "deaths": len(dead), "births": len(baby_rows),
                                    "moved_out": len(leavers), "moved_in": len(arr_rows),
                                    "international_arrivals": intl})

    def _allocate(self, k: int) -> np.ndarray:
        """``k`` free rows (growing every column if the headroom is used up)."""
        free = np.flatnonzero(~self.pop.alive)[:k]
        if len(free) < k:
            self._grow(self.pop.capacity + max(k, self.pop.capacity // 20))
            free = np.flatnonzero(~self.pop.alive)[:k]
        return free

    def _grow(self, capacity: int) -> None:
        pop = self.pop
        for c in pop.COLUMNS:
            old = getattr(pop, c)
            fill = -1 if c in ("household", "workplace", "school", "venue") else 0
            new = np.full(capacity, fill, dtype=old.dtype)
            new[: len(old)] = old
            setattr(pop, c, new)
        for name in ("contacts", "bridging_q", "english_contacts", "class_hours", "job_boost"):
            old = getattr(self.week, name)
            new = np.zeros(capacity, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self.week, name, new)
        self._agents_by_row.extend([None] * (capacity - len(self._agents_by_row)))
        for idx in self.indices.values():  # partner indices check liveness against the (new) column
            idx.alive = pop.alive
        self._worker_index = None

    # --- indicators --------------------------------------------------------------------------------------------

    @property
    def spend_gbp(self) -> float:
        """Cumulative spend on interventions so far (area-equivalent GBP)."""
        return float(sum(iv.spend_gbp for iv in self.interventions))

    def intervention_report(self) -> list[dict]:
        return [iv.report() for iv in self.interventions]

    def _collect(self) -> None:
        self.current = indicators.compute(self.pop, self.networks, self.week.contacts, self.spend_gbp)
        self.datacollector.collect(self)

    def run(self, progress=None) -> None:
        """Run to ``weeks``; ``progress`` is an optional callable given the week number after each step."""
        while self.running and self.week_no < self.weeks:
            self.step()
            if progress:
                progress(self.week_no)

    def timeseries(self):
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        df.insert(0, "week", np.arange(len(df)))
        return df


def _slots_by(owner: np.ndarray, slots: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(owner, kind="stable")
    starts = np.r_[0, np.cumsum(np.bincount(owner, minlength=n))]
    return starts, slots[order]
