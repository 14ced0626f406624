"""The contact network: ties outside the household, by setting, as flat arrays (a sparse edge list).

A tie joins two residents who met in a setting (neighbourhood, workplace, school, community venue, or a programme
such as a conversation club). It is *bridging* when they belong to different ethnic groups and *bonding*
otherwise. Ties are stored as parallel numpy arrays with free slots (never one Python object per tie); the
weekly rules aggregate over them with ``np.bincount``, which is the sparse matrix-vector product ``A @ x`` without
rebuilding the matrix each week. :meth:`ContactNetwork.adjacency` gives the ``scipy.sparse`` matrix for analysis
and for a resident's ``contacts``. Household members are always in contact and are not stored as ties.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np

from sim.kernels import add_ties, free_slots, free_touching, kept_pairs, row
from sim.params import param
from sim.population import poor_english
from sim.speed.background import BIG, Later

SETTINGS = ("neighbourhood", "work", "school", "venue", "programme")
NEIGHBOURHOOD, WORK, SCHOOL, VENUE, PROGRAMME = range(len(SETTINGS))
SETTING_ATTR = {NEIGHBOURHOOD: "neighbourhood", WORK: "workplace", SCHOOL: "school", VENUE: "venue"}
TIE_SETTINGS = ("neighbourhood", "work", "school", "venue")


@dataclasses.dataclass
class TieParams:
    """How ties form, meet and fade. Stationary ties per resident in a setting = 2 * form / fade."""

    form: dict = param({"neighbourhood": 0.03046, "work": 0.06571, "school": 0.08, "venue": 0.07608},
                       "assumption: new ties a member starts per week; with fade 1/52 this gives about 2 "
                       "neighbourhood, 6 work, 8 school and 4 venue contacts (POLYMOD-like weekly contact counts, "
                       "Mossong et al. 2008, order of magnitude)", low=0, high=1, unit="ties/week",
        plausible={"neighbourhood": (0.005, 0.04), "venue": (0.02, 0.12)})
    fade: dict = param({"neighbourhood": 0.03609, "work": 0.01784, "school": 0.0192, "venue": 0.0192,
                        "programme": 0.01622},
                       "assumption: a tie lasts about a year on average (weekly fade 1/52)", low=0, high=1,
                       unit="per week")
    fade_lapsed: float = param(0.1, "assumption: a tie whose setting no longer joins the pair (job lost, moved "
                               "school) fades within about 10 weeks", low=0, high=1, unit="per week")
    meet: dict = param({"neighbourhood": 0.5131, "work": 0.8423, "school": 0.85, "venue": 0.7322, "programme": 0.8},
                       "assumption: chance that a tie of this setting leads to contact in a given week", low=0,
                       high=1,
        plausible={"neighbourhood": (0.15, 0.7), "work": (0.6, 1.0), "venue": (0.4, 1.0)})
    homophily: dict = param({"neighbourhood": 0.2861, "work": 0.2, "school": 0.3, "venue": 0.0, "programme": 0.0},
                            "assumption: chance a new tie is sought in one's own group first (McPherson et al. "
                            "2001: homophily is strongest for ethnicity)", low=0, high=1,
        plausible={"neighbourhood": (0.2, 0.8)})
    attitude_homophily: float = param(
        0.25, "[X] assumption, a stated range: how much less often a warmer resident seeks a new tie in their own "
        "group, per unit of attitude (0-1) above the week-0 average; prejudice lowers later contact about as much "
        "as contact lowers prejudice (Binder et al. 2009, cross-lagged, pupils in three countries)", low=0, high=2,
        unit="own-group chance per unit attitude", plausible=(0.0, 0.5))
    homophily_language: float = param(0.2435, "assumption: extra own-group (shared language) preference of residents "
                                      "who cannot speak English well", low=0, high=1,
        plausible=(0.1, 0.6))
    quality: dict = param({"neighbourhood": 0.6, "work": 1.0, "school": 1.0, "venue": 0.8, "programme": 0.7579},
                          "assumption: weight of a bridging contact for attitudes (Allport's conditions: "
                          "cooperative, equal-status settings count fully)", low=0, high=1)
    time_budget: float = param(20.57, "assumption, a stated range: meetings with ties a resident has time for in a "
                               "week (POLYMOD: about 13 contacts a day, most of them repeated)", low=1, high=100,
                               unit="meetings/week",
        plausible=(5.0, 40.0))
    displacement: float = param(0.415, "assumption, a stated range 0-1: the share of a programme meeting's time that "
                                "comes out of time with everyday ties (the rest would not have been social)",
                                low=0, high=1,
        plausible=(0.0, 1.0))
    reindex_weeks: int = param(4, "modelling choice: settings are re-sorted for partner choice every few weeks",
                               low=1, high=52, unit="weeks",
        design="how often partner lists are rebuilt, a computational setting")


class ContactNetwork:
    """Ties as parallel arrays with free slots; ``alive`` marks used slots."""

    def __init__(self, capacity: int, params: TieParams):
        self.fade_table = np.array([params.fade.get(s, 0.0) for s in SETTINGS], dtype=np.float32)
        self.meet_table = np.array([1.0 - params.meet.get(s, 0.0) for s in SETTINGS], dtype=np.float32)
        self.fade_lapsed = np.float32(params.fade_lapsed)
        # per tie: the week's uniform u fades it if u < fade_p and makes the pair meet if u >= meet_thr;
        # free slots never fade or meet
        self.fade_p = np.full(capacity, -1.0, dtype=np.float32)
        self.meet_thr = np.full(capacity, 2.0, dtype=np.float32)
        self.a = np.zeros(capacity, dtype=np.int32)
        self.b = np.zeros(capacity, dtype=np.int32)
        self.setting = np.zeros(capacity, dtype=np.int8)
        self.bridging = np.zeros(capacity, dtype=bool)
        self.lapsed = np.zeros(capacity, dtype=bool)
        self.alive = np.zeros(capacity, dtype=bool)
        self._free = np.arange(capacity - 1, -1, -1, dtype=np.int64)  # a stack of free slots (top = end)
        self._n_free = capacity

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)  # copies and pickles leave the weekly scratch buffers behind
        state.pop("_u", None)
        state.pop("_fade", None)
        state.pop("_idx", None)
        state.pop("_parts", None)
        return state

    def week_buffers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scratch for a week's contact pass, one entry per slot, reused week after week (allocating millions of
        slots anew each week costs more than the pass fills them): uniforms, the fade mask (which the pass writes
        whole; valid until the next call) and a list of slots."""
        cap = len(self.alive)
        if getattr(self, "_u", None) is None or len(self._u) != cap:
            self._u, self._fade = np.empty(cap, dtype=np.float32), np.zeros(cap, dtype=bool)
            self._idx = np.empty(cap, dtype=np.int32)  # (slot numbers: int32 halves the traffic)
        return self._u, self._fade, self._idx

    def partial_sums(self, n: int, chunks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scratch for the chunked contact pass: per chunk and resident (chunks x n each), contacts (int32),
        bridging quality and English contacts (float32, as the sums they add to); each chunk zeroes its rows."""
        parts = getattr(self, "_parts", None)
        if parts is None or parts[0].shape != (chunks, n):
            parts = self._parts = (np.zeros((chunks, n), dtype=np.int32), np.zeros((chunks, n), dtype=np.float32),
                                   np.zeros((chunks, n), dtype=np.float32))
        return parts

    @property
    def n_ties(self) -> int:
        return int(self.alive.sum())

    def add(self, a: np.ndarray, b: np.ndarray, setting, group: np.ndarray, meet: float | None = None) -> None:
        """Add ties a-b (self-ties and missing partners, marked -1, are dropped). ``meet`` overrides the
        setting's weekly chance of meeting for these ties (a programme that meets monthly, say)."""
        a, b = np.asarray(a), np.asarray(b)
        k = kept_pairs(a, b)  # (compiled: a few are added at a time, several times a week)
        if k == 0:
            return
        if self._n_free < k:
            self._grow(len(self.alive) + max(2 * k, len(self.alive) // 10))
        setting = np.full(a.shape, setting, dtype=np.int8)  # (quicker to make than a broadcast view)
        thr = np.float32(-1.0) if meet is None else np.float32(1.0 - meet)
        self._n_free = add_ties(a, b, setting, group, thr, self.fade_table, self.meet_table, self.a, self.b,
                                self.setting, self.bridging, self.lapsed, self.alive, self.fade_p, self.meet_thr,
                                self._free, self._n_free)

    def remove(self, mask: np.ndarray) -> None:
        """Free the (live) slots in ``mask``."""
        mask = np.ascontiguousarray(mask, dtype=bool)  # (read as whole words: one byte a slot, in one block)
        self._n_free = free_slots(mask, self.alive, self.fade_p, self.meet_thr, self._free, self._n_free)[0]

    def remove_residents(self, rows: np.ndarray, n_rows: int, gone: np.ndarray | None = None,
                         wait: bool = True) -> Later | None:
        """Drop every tie of the given residents (they died or left the area; ``gone``: the same as a mask over
        the ``n_rows`` resident rows, if the caller has one). ``wait`` False: a large network does it on a second
        thread (:mod:`sim.speed.background`) and the handle returned must be waited for (``.result()``) before the
        network is used again."""
        if len(rows) == 0:
            return None
        if gone is None:
            gone = np.zeros(n_rows, dtype=bool)
            gone[rows] = True

        def drop():
            self._n_free = free_touching(gone, self.a, self.b, self.alive, self.fade_p, self.meet_thr, self._free,
                                         self._n_free)[0]

        pending = Later(not wait and len(self.alive) > BIG, drop)
        if wait:
            pending.result()
            return None
        return pending

    def _grow(self, capacity: int) -> None:
        old_cap = len(self.alive)
        free = np.empty(capacity, dtype=np.int64)
        free[: self._n_free] = self._free[: self._n_free]
        added = np.arange(capacity - 1, old_cap - 1, -1, dtype=np.int64)
        free[self._n_free: self._n_free + len(added)] = added
        self._free, self._n_free = free, self._n_free + len(added)
        for name in ("a", "b", "setting", "bridging", "lapsed", "alive", "fade_p", "meet_thr"):
            old = getattr(self, name)
            new = np.full(capacity, {"fade_p": -1.0, "meet_thr": 2.0}.get(name, 0), dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def adjacency(self, n_rows: int, setting: int | None = None):
        """Symmetric scipy.sparse adjacency (entries count ties) over resident rows (a ``csr_array``)."""
        import scipy.sparse as sp  # here: only analysis needs it, and it costs every process 0.15 s to import

        m = self.alive if setting is None else self.alive & (self.setting == setting)
        a, b = self.a[m], self.b[m]
        data = np.ones(2 * len(a), dtype=np.int32)
        return sp.csr_array((data, (np.r_[a, b], np.r_[b, a])), shape=(n_rows, n_rows))

    def incident(self, row: int) -> np.ndarray:
        """Slots of the live ties of one resident (for the per-agent engine and inspection)."""
        return np.flatnonzero(self.alive & ((self.a == row) | (self.b == row)))


class PartnerIndex:
    """Members of one setting sorted by (setting id, group), for drawing tie partners with homophily."""

    def __init__(self, setting_id: np.ndarray, group: np.ndarray, alive: np.ndarray, n_groups: int,
                 sorted_arrays: tuple | None = None):
        self.alive = alive  # the live mask (a view: partners must still be alive when drawn)
        # (one compiled form for every setting: neighbourhood ids are int16, the others int32)
        if sorted_arrays is None:
            sorted_arrays = self.sort(setting_id, group, alive, n_groups)
        self.rows, self.start_s, self.len_s, self.start_sg, self.len_sg = sorted_arrays  # (read, never written)
        self.n_groups = n_groups
        self.members = self.rows  # alias: who can start a tie

    @classmethod
    def sort(cls, setting_id: np.ndarray, group: np.ndarray, alive: np.ndarray, n_groups: int) -> tuple:
        """What an index holds, from the columns it reads alone (``sorted_arrays`` of a new index)."""
        return cls._sort(setting_id.astype(np.int32, copy=False), group, alive, n_groups)

    @staticmethod
    @numba.njit(cache=True, nogil=True)
    def _sort(setting_id, group, alive, n_groups):  # pragma: no cover - compiled
        """The live members (setting id >= 0) in (setting, group) order, by row within each (a counting sort),
        and where each setting and each (setting, group) starts among them and how many it has."""
        n_set = 0
        for i in range(alive.shape[0]):
            if alive[i] and setting_id[i] >= 0:
                n_set = max(n_set, np.int64(setting_id[i]) + 1)
        n_set = max(n_set, 1)
        len_sg = np.zeros(n_set * n_groups, dtype=np.int64)
        for i in range(alive.shape[0]):
            if alive[i] and setting_id[i] >= 0:
                len_sg[row(np.int64(setting_id[i]) * n_groups + group[i])] += 1
        len_s = np.zeros(n_set, dtype=np.int64)
        start_s = np.zeros(n_set, dtype=np.int64)
        start_sg = np.zeros(n_set * n_groups, dtype=np.int64)
        for k in range(n_set * n_groups):
            len_s[k // n_groups] += len_sg[k]
            if k > 0:
                start_sg[k] = start_sg[k - 1] + len_sg[k - 1]
        for k in range(1, n_set):
            start_s[k] = start_s[k - 1] + len_s[k - 1]
        rows = np.empty(start_sg[-1] + len_sg[-1], dtype=np.int64)
        at = start_sg.copy()
        for i in range(alive.shape[0]):
            if alive[i] and setting_id[i] >= 0:
                k = row(np.int64(setting_id[i]) * n_groups + group[i])
                rows[row(at[k])] = i
                at[k] += 1
        return rows, start_s, len_s, start_sg, len_sg

    def draw(self, initiators: np.ndarray, setting_id: np.ndarray, group: np.ndarray, own_group_prob,
             rng: np.random.Generator, check: bool = True) -> np.ndarray:
        """A partner for each initiator in the same setting (own group first with ``own_group_prob``), or -1."""
        own = rng.random(len(initiators)) < own_group_prob
        u = rng.random(len(initiators))
        return self._pick(initiators, setting_id, group, own, u, self.start_s, self.len_s, self.start_sg,
                          self.len_sg, self.n_groups, self.rows, self.alive, check)

    @staticmethod
    @numba.njit(cache=True, nogil=True)
    def _pick(initiators, setting_id, group, own, u, start_s, len_s, start_sg, len_sg, n_groups, rows, alive,
              check):  # pragma: no cover - compiled
        """Each initiator's partner: with ``own`` (and someone of their group there), the member at ``u`` of
        their own group in their setting, else of anyone in it; -1 with no setting, nobody there, a partner who
        died or left since the index was built, or (``check``) no longer belongs to the setting (indices are
        refreshed every few weeks)."""
        n_set = len_s.shape[0]
        out = np.empty(initiators.shape[0], dtype=np.int64)
        for t in range(initiators.shape[0]):
            i = row(initiators[t])
            s = np.int64(setting_id[i])
            valid = s >= 0 and s < n_set
            if not valid:
                s = 0
            sg = row(s * n_groups + group[i])
            if own[t] and len_sg[sg] > 0:
                start, length = start_sg[sg], len_sg[sg]
            else:
                start, length = start_s[s], len_s[s]
            out[t] = -1
            if valid and length > 0:
                r = row(rows[row(min(start + min(np.int64(u[t] * length), max(length - 1, 0)), rows.shape[0] - 1))])
                if alive[r] and (not check or setting_id[r] == setting_id[i]):
                    out[t] = r
        return out


def own_group_probability(params: TieParams, setting: str, poor, warmth=0.0) -> np.ndarray:
    """Chance that a new tie in ``setting`` is with one's own group: homophily, higher for those with poor English
    and lower for those warmer towards other groups than the week-0 average (``warmth``: attitude less that
    average) (arrays or one resident's value: the one definition both engines use)."""
    return np.clip(params.homophily.get(setting, 0.0) + params.homophily_language * poor
                   - params.attitude_homophily * warmth, 0.0, 1.0)


def build(pop, params: TieParams, rng: np.random.Generator, turnover: dict | None = None):
    """The initial network at its stationary size: each member starts Poisson(form / loss) ties per setting,
    where loss = fade + ``turnover`` (members leaving the setting take their ties with them)."""
    turnover = turnover or {}
    loss = {name: max(params.fade[name] + turnover.get(name, 0.0), 1e-9) for name in TIE_SETTINGS}
    expected = 0
    indices = {}
    for s, name in enumerate(TIE_SETTINGS):
        sid = getattr(pop, SETTING_ATTR[s])
        idx = PartnerIndex(sid, pop.group, pop.alive, len(pop.groups))
        indices[s] = idx
        expected += len(idx.members) * params.form[name] / loss[name]
    net = ContactNetwork(int(expected * 1.1) + 1024, params)  # grows if needed
    poor = poor_english(pop.main_english, pop.english)
    for s, name in enumerate(TIE_SETTINGS):
        idx = indices[s]
        sid = getattr(pop, SETTING_ATTR[s])
        k = rng.poisson(params.form[name] / loss[name], size=len(idx.members))
        init = np.repeat(idx.members, k)
        # the chance takes two values (no warmth yet): worked out for each, the same numbers as for each initiator;
        # partners come from an index of these very columns, so each is in its initiator's setting (no check)
        chance = own_group_probability(params, name, np.array([False, True]))
        partners = idx.draw(init, sid, pop.group, np.where(poor[init], chance[1], chance[0]), rng, check=False)
        net.add(init, partners, s, pop.group)
    return net, indices
