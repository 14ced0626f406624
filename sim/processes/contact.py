"""This week's contacts: which ties meet, which fade, and what each resident took from meeting.

One uniform draw per tie decides both: it fades if u < fade, and the pair meet if u >= 1 - meet (disjoint when
fade + meet <= 1). From the ties that met, each resident gets: contacts outside the household, quality-weighted
bridging contacts (for attitudes) and contacts with fluent English speakers across language lines (for English).
The vectorised form is one compiled pass (below: ``meet_range``, in chunks on two threads for a large network); the
scalar forms further down are the per-agent engine's.
"""

from __future__ import annotations

import threading

import numba
import numpy as np

from sim.kernels import CHUNKS, row
from sim.network import SETTINGS, TieParams
from sim.processes.rule import Rule, WeekField
from sim.speed.background import Later

LEARNER, FLUENT, MAIN_ENGLISH = 0, 1, 2  # speaker codes (code_of)


@numba.njit(cache=True, nogil=True)
def tie_week(u, fade_p, meet_thr, keep):  # pragma: no cover - compiled
    """(fades, meets) for one tie from its one uniform ``u``: it fades if u < fade_p, the pair meet if
    u >= meet_thr (disjoint when fade + meet <= 1). ``keep`` < 1 scales the chance of meeting, 1 - meet_thr, down
    (time the pair spend on programmes this week). The rule, for the compiled pass and the per-agent engine."""
    if u < fade_p:
        return True, False
    if keep >= 1.0:
        return False, u >= meet_thr
    return False, u >= 1.0 - (1.0 - meet_thr) * keep


@numba.njit(cache=True, nogil=True)
def speaks_english_to(listener, speaker, bridging):  # pragma: no cover - compiled
    """Whether a contact is in English for the ``listener`` (speaker codes): the listener's main language is not
    English and the speaker's is, or the speaker is fluent and from another group (so they share no other
    language, most likely). The rule, for the compiled pass and the per-agent engine."""
    # (bitwise, not `and`/`or`: numba compiles those to branches, which the contact pass mispredicts; the same
    # truth value)
    return (listener != MAIN_ENGLISH) & ((speaker == MAIN_ENGLISH) | ((speaker == FLUENT) & bridging))


@numba.njit(cache=True, nogil=True)
def meet_range(lo, hi, u, fade_p, meet_thr, a, b, setting, bridging, quality, code, keep, fade, contacts,
               bridging_q, english, idx):  # pragma: no cover - compiled
    """Slots lo..hi-1 in two passes: first which ties fade and which meet (branch-free, in slot order: the
    outcome of a tie is a coin flip, which a branch would mispredict half the time), listing the met slots in
    ``idx[lo:]``; then, for the met ties only, the contacts at both ends, also branch-free (adding 0 where a
    contact is not bridging or not in English leaves a sum as it was, so the numbers are those of the
    branching form; without mispredicted branches the scattered reads of the two ends overlap). ``keep`` None:
    nobody was on a programme this week (every tie at its usual chance)."""
    m = lo
    one = np.float32(1.0)
    for k in range(lo, hi):
        kp = one if keep is None else keep[row(a[k])] * keep[row(b[k])]
        fades, meets = tie_week(u[k], fade_p[k], meet_thr[k], kp)
        fade[k] = fades
        idx[m] = k
        m += meets
    for t in range(lo, m):
        k = row(idx[t])
        i = row(a[k])
        j = row(b[k])
        contacts[i] += 1
        contacts[j] += 1
        br = bridging[k]
        q = quality[row(setting[k])] * np.float32(br)  # (times 1 or 0, exactly; a branch here was mispredicted)
        bridging_q[i] += q
        bridging_q[j] += q
        ci = code[i]
        cj = code[j]
        english[i] += np.float32(speaks_english_to(ci, cj, br))
        english[j] += np.float32(speaks_english_to(cj, ci, br))


@numba.njit(cache=True, nogil=True)
def meet_chunk(c, u, fade_p, meet_thr, a, b, setting, bridging, quality, code, keep, fade, part_contacts,
               part_bridging, part_english, idx):  # pragma: no cover - compiled
    """Chunk ``c`` of CHUNKS fixed ranges of slots, into its own partial sums (row ``c`` of each ``part_``
    array, chunks x residents, zeroed here). A large network's pass is its chunks, each on whichever thread is
    free (``contact.Pass``), then :func:`add_chunks`: the same numbers whoever ran each chunk. Each sum is its own
    contiguous array (row ``c`` of a C-ordered array): sums kept side by side in one array (residents x 4) are
    read through strided views, which numba compiles to slower scattered access (24-30 ms a chunk for all of
    Bradford against 14-19 ms, measured in one process)."""
    m = u.shape[0]
    contacts, bridging_q, english = part_contacts[c], part_bridging[c], part_english[c]
    contacts[:] = 0
    bridging_q[:] = 0.0
    english[:] = 0.0
    meet_range(m * c // CHUNKS, m * (c + 1) // CHUNKS, u, fade_p, meet_thr, a, b, setting, bridging, quality, code,
               keep, fade, contacts, bridging_q, english, idx)


@numba.njit(cache=True, nogil=True)
def add_chunks(contacts, bridging_q, english, part_contacts, part_bridging, part_english):  # pragma: no cover
    """The chunks' partial sums added to the outputs in chunk order (the fixed order that makes the result the
    same whoever computed each chunk)."""
    for c in range(CHUNKS):
        for i in range(contacts.shape[0]):
            contacts[i] += part_contacts[c, i]
            bridging_q[i] += part_bridging[c, i]
            english[i] += part_english[c, i]


@numba.njit(cache=True, nogil=True)
def time_left(programme_contacts, displacement, time_budget):  # pragma: no cover - compiled
    """``contact.keep_after_programmes`` in float32 as numpy computes it (``displacement`` and ``time_budget``
    given as float32): 1 - displacement * contacts / budget, clipped to 0-1."""
    out = np.empty(programme_contacts.shape[0], dtype=np.float32)
    zero, one = np.float32(0.0), np.float32(1.0)
    for i in range(programme_contacts.shape[0]):
        used = displacement * np.float32(programme_contacts[i]) / time_budget
        out[i] = min(max(one - used, zero), one)
    return out


@numba.njit(cache=True, nogil=True)
def speaker_codes(main_english, english, fluent_from):  # pragma: no cover - compiled
    """``contact.code_of`` for every row: MAIN_ENGLISH, else FLUENT at ``fluent_from`` (float32) or above, else
    LEARNER."""
    out = np.empty(main_english.shape[0], dtype=np.int8)
    for i in range(main_english.shape[0]):
        out[i] = MAIN_ENGLISH if main_english[i] else (FLUENT if english[i] >= fluent_from else LEARNER)
    return out



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
    the pass draws them so, or the model a week ahead (``VectorisedEngine.draw_ahead``)."""
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
        self._job = Later(True, self._work)  # (on a kept thread: sim.speed.background)

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
    """(fades, meets) for one tie: the same rule (``contact.tie_week``) as the compiled pass."""
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
