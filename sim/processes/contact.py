"""This week's contacts: which ties meet, which fade, and what each resident took from meeting.

One uniform draw per tie decides both: it fades if u < fade, and the pair meet if u >= 1 - meet (disjoint when
fade + meet <= 1). From the ties that met, each resident gets: contacts outside the household, quality-weighted
bridging contacts (for attitudes) and contacts with fluent English speakers across language lines (for English).
The vectorised form is one compiled pass (``sim.kernels``); the scalar forms below are the per-agent engine's.
"""

from __future__ import annotations

import threading

import numpy as np

from sim.background import Later
from sim.kernels import (
    CHUNKS,
    FLUENT,
    LEARNER,
    MAIN_ENGLISH,
    add_chunks,
    meet_chunk,
    meet_range,
    speaker_codes,
    speaks_english_to,
    tie_week,
    time_left,
)
from sim.network import SETTINGS, TieParams
from sim.processes.rule import Rule, WeekField


def setting_table(p: TieParams, key: str) -> np.ndarray:
    return np.array([getattr(p, key).get(s, 0.0) for s in SETTINGS], dtype=np.float32)


FLUENT_FROM = 3.0  # 'very well' on the 0-4 scale: speaks English to others


def speaker_code(pop) -> np.ndarray:
    """0 = another main language, not yet fluent; 1 = another main language, fluent ('very well', >= 3);
    2 = main language English. Codes 0 and 1 still learn; codes 1 and 2 speak English to others."""
    return speaker_codes(pop.main_english, pop.english, np.float32(FLUENT_FROM))  # code_of, in one compiled pass


def code_of(main_english, english):
    """Speaker codes (arrays, or one resident's values): the one definition."""
    return np.where(main_english, MAIN_ENGLISH, np.where(english >= FLUENT_FROM, FLUENT, LEARNER)).astype(np.int8)


def keep_after_programmes(programme_contacts: np.ndarray, p: TieParams) -> np.ndarray:
    """Per resident, the share of the usual chance of meeting everyday ties left this week after programme
    meetings: a weekly time budget, of which each programme meeting takes ``displacement`` of one meeting's
    time from everyday contacts (the rest is time that would otherwise not have been social)."""
    if type(p.displacement) in (float, int) and type(p.time_budget) in (float, int):  # (compiled: the same numbers)
        return time_left(programme_contacts, np.float32(p.displacement), np.float32(p.time_budget))
    used = p.displacement * programme_contacts.astype(np.float32) / np.float32(p.time_budget)
    return np.clip(np.float32(1.0) - used, 0.0, 1.0).astype(np.float32)


STREAM = "contact"  # the random stream of the everyday ties' uniforms (one per tie slot each week)


def draw_uniforms(net, rng) -> np.ndarray:
    """This week's uniform per tie slot, into the network's buffer (the numbers of a new array, none allocated):
    the pass draws them so, or the model a week ahead (``IntegrationModel.draw_ahead``)."""
    u = net.week_buffers()[0]
    return rng.random(len(u), dtype=np.float32, out=u)


CHUNKED = 200_000  # networks with more slots than this are passed in CHUNKS fixed chunks (and can share the work)


def _args(pop, net, p: TieParams, out, code, keep, uniforms=None):
    n = len(pop.alive)
    u, fade, idx = net.week_buffers()
    u = u if uniforms is None else uniforms
    if out is None:
        out = (np.zeros(n, dtype=np.int32), np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.float32))
    code = speaker_code(pop) if code is None else code
    return u, fade, idx, out, (u, net.fade_p, net.meet_thr, net.a, net.b, net.setting, net.bridging,
                               setting_table(p, "quality"), code, keep, fade)


def week(pop, net, p: TieParams, rng, out=None, code=None, keep=None):
    """This week's contacts in one pass over the ties (compiled): returns (fade mask, contacts, bridging quality,
    English contacts). One uniform per tie slot: it fades if u < fade, the pair meet if u >= 1 - meet. With
    ``out`` (a previous call's three per-resident arrays) the counts are added to those. ``keep`` (per resident,
    default 1) scales each tie's chance of meeting by the product at its two ends (:func:`keep_after_programmes`).

    Per resident these are the sparse products A_met @ 1, A_met_bridging @ quality and A_met_english @ 1; English
    is the language of a contact for someone whose main language is not English when the partner is fluent and
    either speaks it as a main language or the pair do not share a group (and so, most likely, another language).
    """
    return Pass(pop, net, p, rng, out=out, code=code, keep=keep).result()  # a large network's chunks on two threads


class Pass:
    """This week's contact pass (:func:`week`, the same numbers) begun in a second thread, so that the rules that do
    not read its results run meanwhile on the other core (:func:`start`). The second thread draws the uniforms,
    then takes pieces of work in list order: the fixed chunks of slots, then the ``side`` pieces (other work of
    the week that reads only the start-of-week state, such as drawing new ties). :meth:`result` (the week's own
    thread) takes whatever is left, waits for the chunks and adds them in their fixed order; :meth:`side_results`
    waits for the side pieces. Who ran a piece changes nothing: the compiled passes release the GIL, and nothing
    one piece writes is read by another."""

    def __init__(self, pop, net, p: TieParams, rng, out=None, code=None, keep=None, side=(), drawn=False,
                 uniforms=None):
        self.u, self.fade, self.idx, self.out, args = _args(pop, net, p, out, code, keep,
                                                            uniforms if drawn else None)
        self._draw = None if drawn else (net, rng)  # None: the uniforms are in the buffer already (a week ahead)
        self.chunked = len(self.u) > CHUNKED
        self._side, self._side_out = tuple(side), [None] * len(side)
        if not self.chunked:  # a small network: at once, on this thread
            if not drawn:
                draw_uniforms(net, rng)
            meet_range(0, len(self.u), *args, *self.out, self.idx)
            self._side_out = [f() for f in self._side]
            return
        n = len(pop.alive)
        self.parts = net.partial_sums(n, CHUNKS)
        self._args = args
        self._next, self._lock, self._drawn = 0, threading.Lock(), threading.Event()
        self._chunks_done = threading.Condition(self._lock)
        self._chunks_left = CHUNKS
        self._error = None
        self._job = Later(True, self._work)  # (on a kept thread: sim.background)

    def _take(self) -> int:
        with self._lock:
            t, self._next = self._next, self._next + 1
        return t

    def _pieces(self) -> None:
        """Take and run pieces until none is left (on either thread)."""
        t = self._take()
        while t < CHUNKS + len(self._side):
            if t < CHUNKS:
                meet_chunk(t, *self._args, *self.parts, self.idx)
                with self._chunks_done:
                    self._chunks_left -= 1
                    self._chunks_done.notify_all()
            else:
                self._side_out[t - CHUNKS] = self._side[t - CHUNKS]()
            t = self._take()

    def _work(self) -> None:
        try:
            if self._draw is not None:
                draw_uniforms(*self._draw)
            self._drawn.set()
            self._pieces()
        except BaseException as e:  # re-raised by result() or side_results()
            self._error = e
            self._drawn.set()
            with self._chunks_done:
                self._chunks_done.notify_all()

    def _raise(self) -> None:
        if self._error is not None:
            self._job.result()
            raise self._error

    def result(self):
        """(fade mask, contacts, bridging quality, English contacts), as :func:`week` returns them."""
        if self.chunked:
            self._drawn.wait()
            self._raise()
            try:
                self._pieces()
            except BaseException:
                self._job.result()
                raise
            with self._chunks_done:
                while self._chunks_left and self._error is None:
                    self._chunks_done.wait()
            self._raise()
            add_chunks(*self.out, *self.parts)
        return (self.fade, *self.out)

    def side_results(self) -> list:
        """What each ``side`` piece returned, in their order (after :meth:`result`)."""
        if self.chunked:
            self._job.result()
            self._raise()
        return self._side_out


def start(pop, net, p: TieParams, rng, out=None, code=None, keep=None, side=(), drawn=False,
          uniforms=None) -> Pass:
    """Begin this week's contact pass (see :class:`Pass`); ``.result()`` gives what :func:`week` returns and
    ``.side_results()`` what the ``side`` pieces returned. ``drawn``: this week's uniforms are in the network's
    buffer already (``IntegrationModel.drawn``), taken from ``rng`` as the pass would have taken them, or in
    ``uniforms`` (one per slot, read only: another run's, ``IntegrationModel.shared_draws``)."""
    return Pass(pop, net, p, rng, out=out, code=code, keep=keep, side=side, drawn=drawn, uniforms=uniforms)


# --- scalar forms (per-agent engine) ---------------------------------------------------------------------------


def draw_one(slot: int, net, rng, keep=None) -> tuple[bool, bool]:
    """(fades, meets) for one tie: the same rule (``kernels.tie_week``) as the compiled pass."""
    k = 1.0 if keep is None else float(keep[net.a[slot]] * keep[net.b[slot]])
    fades, meets = tie_week(rng.random(), net.fade_p[slot], net.meet_thr[slot], k)
    return bool(fades), bool(meets)


def exposure_one(i: int, slots, prev, net, met: np.ndarray, p: TieParams) -> tuple[int, float, float]:
    """Contacts, bridging quality and English contacts of resident ``i`` from its ties that met (the same
    predicate, ``kernels.speaks_english_to``, as the compiled pass)."""
    contacts, bq, eng = 0, 0.0, 0.0
    me = int(code_of(prev["main_english"][i], prev["english"][i]))
    for k in slots:
        if not met[k]:
            continue
        j = int(net.b[k]) if net.a[k] == i else int(net.a[k])
        contacts += 1
        br = bool(net.bridging[k])
        if br:
            bq += p.quality.get(SETTINGS[net.setting[k]], 0.0)
        if speaks_english_to(me, int(code_of(prev["main_english"][j], prev["english"][j])), br):
            eng += 1.0
    return contacts, bq, eng

RULE = Rule(
    "contact", __doc__.splitlines()[0], step=week, step_one=exposure_one, kind="contact",
    defines={
        "contacts": WeekField(np.int32, 0, "ties that met this week (outside the household)"),
        "bridging_q": WeekField(np.float32, 0.0, "quality-weighted bridging contacts this week"),
        "english_contacts": WeekField(np.float32, 0.0, "contacts with a fluent English speaker across language"),
    },
)
