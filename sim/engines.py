"""The two ways a week's rules are applied: one numpy pass per rule, or each Resident agent in turn.

Both are synchronous (every rule reads the start-of-week state; changes apply together at the end) and draw from
the same named streams where a rule's draws are per resident (employment), so for the rules whose two forms are
compared draw for draw they agree exactly. Each engine keeps its own weekly scratch state.
"""

from __future__ import annotations

import numpy as np

from sim.agents import Resident
from sim.processes import COLUMN_RULES, contact, demography, ties
from sim.processes.rule import Week

# the weekly inputs the contact pass fills: rules that read them step after it
CONTACT_INPUTS = frozenset(contact.RULE.defines)


class VectorisedEngine:
    """Every rule on every resident at once (the default; what the numbers in the report come from)."""

    name = "vectorised"

    def __init__(self, model):
        self.model = model
        self.scratch: dict = {}  # room a rule reuses week after week, this model's own (models may step at once)

    def step(self, week: Week) -> None:
        m = self.model
        pop, net, p = m.pop, m.net, m.params
        code = contact.speaker_code(pop)
        out, keep = (week.contacts, week.bridging_q, week.english_contacts), None  # zero: filled in place
        if m.programme_net.n_ties:  # programme meetings first: they take time from everyday ones
            pfade, *out = contact.week(pop, m.programme_net, p.ties, m.rng_for("contact-programme"), out=out,
                                       code=code)
            keep = contact.keep_after_programmes(out[0], p.ties)
            m.programme_net.remove(pfade)
        for r in COLUMN_RULES:
            if r.prepare is not None:
                r.prepare(m, week)
        # the everyday ties' pass is shared by this thread and a second one (a large network, the speed machinery
        # on), with the work of the week that reads only the start-of-week state (every rule reads only that, so
        # the order is free; the numbers are the same): drawing new ties, and the rules that do not read this
        # week's contacts, each taken by whichever thread is free first (one chunk can take much longer)
        rng_ties = m.rng_for("ties")
        early = [r for r in COLUMN_RULES if not set(r.reads) & CONTACT_INPUTS]
        given = [self._draws(r) for r in early]  # (taken here: draws made ahead are handed over on this thread)
        side = [lambda: ties.new_ties(pop, m.indices, p.ties, rng_ties, m.attitude_ref)]
        side += [lambda r=r, u=u: r.step(m, week, u) for r, u in zip(early, given)]
        drawn, uniforms = self._contact_uniforms()
        everyday = contact.start(pop, net, p.ties, m.rng_for(contact.STREAM), out=out, code=code, keep=keep,
                                 side=side, drawn=drawn, uniforms=uniforms)
        fade, *out = everyday.result()
        week.contacts, week.bridging_q, week.english_contacts = out
        new = {r.name: r.step(m, week, self._draws(r)) for r in COLUMN_RULES if r not in early}
        formed, *early_new = everyday.side_results()
        new.update(zip((r.name for r in early), early_new))
        self.draw_ahead()  # every rule has taken and used this week's draws: the second thread draws ahead meanwhile
        # apply everything together
        net.remove(fade)
        for a, b, s in formed:
            net.add(a, b, s, pop.group)
        for r in COLUMN_RULES:
            r.apply(m, new[r.name])
        demography.age_everyone(pop)

    def _contact_uniforms(self) -> tuple[bool, np.ndarray | None]:
        """(drawn, uniforms): whether this week's uniforms of the everyday contact pass are drawn already, and
        where, if not in the pass's buffer. Made a week ahead (into the buffer: :meth:`draw_ahead`); for a small
        network, whose pass would draw them on this thread anyway, drawn here, so that they can be shared (another
        run's are read where they are kept rather than copied into the buffer); else the pass draws them."""
        m = self.model
        net = m.net
        if m.drawn(contact.STREAM, len(net.alive)) is not None:
            return True, None
        if len(net.alive) > contact.CHUNKED:
            return False, None
        u, rng = net.week_buffers()[0], m.rng_for(contact.STREAM)
        return True, m.shared_draws(contact.STREAM, len(u), lambda: contact.draw_uniforms(net, rng), into=u,
                                    borrow=True)

    def draw_ahead(self) -> None:
        """Draws the speed machinery may make on the second thread, for a large network, as soon as the week's
        rules have taken theirs (the rules are applied meanwhile): next week's uniforms of the everyday contact
        pass (one per tie slot: the pass has read this week's), of employment and of mental health (per resident
        row), and this week's first draw of demography (a uniform per resident, for deaths: the stream has been
        idle since last week's demography). Each stream is used by nothing else in between, so the numbers are
        those drawn in their place; ``model.drawn`` hands them over, or puts the stream back if a size changed
        meanwhile (``sim.speed.fast.Fast.draw_ahead``)."""
        m = self.model
        if m.week_no + 1 < m.weeks:
            m.speed.draw_ahead(m, len(m.net.alive), self._ahead_jobs)

    def _ahead_jobs(self) -> tuple[list, list]:
        """(alone, together): the draws :meth:`draw_ahead` makes, each (stream, size, draw)."""
        m = self.model
        net, rng = m.net, m.rng_for(contact.STREAM)
        together = [(contact.STREAM, len(net.alive), lambda: contact.draw_uniforms(net, rng))]
        together += [(r.stream, m.pop.capacity, lambda r=r: r.draws(m)) for r in COLUMN_RULES if r.stream]
        alone = []
        if m.params.demography.enabled:  # (on its own: demography, this week, need not wait for the others)
            n, d = m.pop.n, m.rng_for(demography.STREAM)
            alone.append((demography.STREAM, n, lambda: demography.death_uniforms(d, n)))
        return alone, together

    def _draws(self, r):
        """A rule's draws for this week: those drawn a week ahead if there are any, else drawn now."""
        if r.draws is None:
            return None
        m = self.model
        if not r.stream:
            return r.draws(m)
        ahead = m.drawn(r.stream, m.pop.capacity)
        return m.shared_draws(r.stream, m.pop.capacity, lambda: r.draws(m)) if ahead is None else ahead


class AgentEngine:
    """Each Resident applies the rules to itself (``Resident.meet`` then ``Resident.step``): the readable oracle
    the vectorised engine is checked against, and the speed baseline.

    Scratch state for the week: ``prev`` (the start-of-week columns every agent reads), which tie slots each
    resident owns or touches, which ties fade and meet, new ties to add, and the week's employment uniforms."""

    name = "agents"

    def __init__(self, model):
        self.model = model
        self.prev: dict = {}
        self.pending_ties: list = []

    def step(self, week: Week) -> None:
        m = self.model
        pop = m.pop
        self.prev = pop.copy_columns()
        self.rng = m.rng_for("agents")
        # a rule that declares its draws takes the same numbers, from the same stream, in both engines
        self.draws = {r.name: r.draws(m) if r.draws else None for r in COLUMN_RULES}
        self.new = {r.name: self.prev[r.owns[0]].copy() for r in COLUMN_RULES}
        self._by_a, self._by_any, self.fade_mask, self.meet_mask = [], [], [], []
        for net in m.networks:
            live = np.flatnonzero(net.alive)
            self._by_a.append(_slots_by(net.a[live], live, pop.capacity))
            self._by_any.append(_slots_by(np.r_[net.a[live], net.b[live]], np.r_[live, live], pop.capacity))
            self.fade_mask.append(np.zeros(len(net.alive), dtype=bool))
            self.meet_mask.append(np.zeros(len(net.alive), dtype=bool))
        self.pending_ties = []
        residents = m.agents_by_type[Resident]
        residents.do("meet", 1)  # programme ties first: their meetings take time from everyday ones
        programme_contacts = np.zeros(pop.capacity, dtype=np.int32)
        met = self.meet_mask[1]
        pnet = m.programme_net
        np.add.at(programme_contacts, pnet.a[met], 1)
        np.add.at(programme_contacts, pnet.b[met], 1)
        self.keep = contact.keep_after_programmes(programme_contacts, m.params.ties)
        residents.do("meet", 0)
        for r in COLUMN_RULES:
            if r.prepare is not None:
                r.prepare(m, m.week)
        residents.shuffle_do("step")
        for net, fade in zip(m.networks, self.fade_mask):
            net.remove(fade)
        if self.pending_ties:
            t = np.array(self.pending_ties, dtype=np.int64)
            for s in np.unique(t[:, 2]):
                k = t[:, 2] == s
                m.net.add(t[k, 0].astype(np.int32), t[k, 1].astype(np.int32), int(s), pop.group)
        for r in COLUMN_RULES:
            r.apply(m, self.new[r.name])

    def owned_slots(self, row: int, k: int = 0) -> np.ndarray:
        """Tie slots of network ``k`` that resident ``row`` owns (is the 'a' end of): it draws their week."""
        starts, slots = self._by_a[k]
        return slots[starts[row]:starts[row + 1]]

    def incident_slots(self, row: int, k: int = 0) -> np.ndarray:
        starts, slots = self._by_any[k]
        return slots[starts[row]:starts[row + 1]]


ENGINES = {e.name: e for e in (VectorisedEngine, AgentEngine)}


def _slots_by(owner: np.ndarray, slots: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(owner, kind="stable")
    starts = np.r_[0, np.cumsum(np.bincount(owner, minlength=n))]
    return starts, slots[order]
