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

import numpy as np
import scipy.sparse as sp

from sim.kernels import counting_order, touching
from sim.params import param
from sim.population import poor_english

SETTINGS = ("neighbourhood", "work", "school", "venue", "programme")
NEIGHBOURHOOD, WORK, SCHOOL, VENUE, PROGRAMME = range(len(SETTINGS))
SETTING_ATTR = {NEIGHBOURHOOD: "neighbourhood", WORK: "workplace", SCHOOL: "school", VENUE: "venue"}
TIE_SETTINGS = ("neighbourhood", "work", "school", "venue")


@dataclasses.dataclass
class TieParams:
    """How ties form, meet and fade. Stationary ties per resident in a setting = 2 * form / fade."""

    form: dict = param({"neighbourhood": 0.02291, "work": 0.05876, "school": 0.08, "venue": 0.06833},
                       "assumption: new ties a member starts per week; with fade 1/52 this gives about 2 "
                       "neighbourhood, 6 work, 8 school and 4 venue contacts (POLYMOD-like weekly contact counts, "
                       "Mossong et al. 2008, order of magnitude)", low=0, high=1, unit="ties/week",
        plausible={"neighbourhood": (0.005, 0.04), "venue": (0.02, 0.12)})
    fade: dict = param({"neighbourhood": 0.03201, "work": 0.02567, "school": 0.0192, "venue": 0.0192,
                        "programme": 0.02222},
                       "assumption: a tie lasts about a year on average (weekly fade 1/52)", low=0, high=1,
                       unit="per week")
    fade_lapsed: float = param(0.1, "assumption: a tie whose setting no longer joins the pair (job lost, moved "
                               "school) fades within about 10 weeks", low=0, high=1, unit="per week")
    meet: dict = param({"neighbourhood": 0.5207, "work": 0.641, "school": 0.85, "venue": 0.6095, "programme": 0.8},
                       "assumption: chance that a tie of this setting leads to contact in a given week", low=0,
                       high=1,
        plausible={"neighbourhood": (0.15, 0.7), "work": (0.6, 1.0), "venue": (0.4, 1.0)})
    homophily: dict = param({"neighbourhood": 0.5755, "work": 0.2, "school": 0.3, "venue": 0.0, "programme": 0.0},
                            "assumption: chance a new tie is sought in one's own group first (McPherson et al. "
                            "2001: homophily is strongest for ethnicity)", low=0, high=1,
        plausible={"neighbourhood": (0.2, 0.8)})
    attitude_homophily: float = param(
        0.25, "[X] assumption, a stated range: how much less often a warmer resident seeks a new tie in their own "
        "group, per unit of attitude (0-1) above the week-0 average; prejudice lowers later contact about as much "
        "as contact lowers prejudice (Binder et al. 2009, cross-lagged, pupils in three countries)", low=0, high=2,
        unit="own-group chance per unit attitude", plausible=(0.0, 0.5))
    homophily_language: float = param(0.3764, "assumption: extra own-group (shared language) preference of residents "
                                      "who cannot speak English well", low=0, high=1,
        plausible=(0.1, 0.6))
    quality: dict = param({"neighbourhood": 0.6, "work": 1.0, "school": 1.0, "venue": 0.8, "programme": 0.5751},
                          "assumption: weight of a bridging contact for attitudes (Allport's conditions: "
                          "cooperative, equal-status settings count fully)", low=0, high=1)
    time_budget: float = param(36.7, "assumption, a stated range: meetings with ties a resident has time for in a "
                               "week (POLYMOD: about 13 contacts a day, most of them repeated)", low=1, high=100,
                               unit="meetings/week",
        plausible=(5.0, 40.0))
    displacement: float = param(0.3501, "assumption, a stated range 0-1: the share of a programme meeting's time that "
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
        return state

    def week_buffers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scratch for a week's contact pass, one entry per slot, reused week after week (allocating millions of
        slots anew each week costs more than the pass fills them): uniforms, the fade mask (which the pass writes
        whole; valid until the next call) and a list of slots."""
        cap = len(self.alive)
        if getattr(self, "_u", None) is None or len(self._u) != cap:
            self._u, self._fade = np.empty(cap, dtype=np.float32), np.zeros(cap, dtype=bool)
            self._idx = np.empty(cap, dtype=np.int64)
        return self._u, self._fade, self._idx

    @property
    def n_ties(self) -> int:
        return int(self.alive.sum())

    def add(self, a: np.ndarray, b: np.ndarray, setting, group: np.ndarray, meet: float | None = None) -> None:
        """Add ties a-b (self-ties and missing partners, marked -1, are dropped). ``meet`` overrides the
        setting's weekly chance of meeting for these ties (a programme that meets monthly, say)."""
        ok = (b >= 0) & (a != b)
        a, b = a[ok], b[ok]
        setting = np.broadcast_to(np.asarray(setting, dtype=np.int8), ok.shape)[ok]
        k = len(a)
        if k == 0:
            return
        if self._n_free < k:
            self._grow(len(self.alive) + max(2 * k, len(self.alive) // 10))
        free = self._free[self._n_free - k: self._n_free]
        self._n_free -= k
        self.a[free], self.b[free], self.setting[free] = a, b, setting
        self.bridging[free] = group[a] != group[b]
        self.lapsed[free] = False
        self.alive[free] = True
        self.fade_p[free] = self.fade_table[setting]
        self.meet_thr[free] = self.meet_table[setting] if meet is None else np.float32(1.0 - meet)

    def remove(self, mask: np.ndarray) -> None:
        """Free the (live) slots in ``mask``."""
        slots = np.flatnonzero(mask & self.alive)
        self.alive[slots] = False
        self.fade_p[slots] = -1.0
        self.meet_thr[slots] = 2.0
        self._free[self._n_free: self._n_free + len(slots)] = slots
        self._n_free += len(slots)

    def remove_residents(self, rows: np.ndarray, n_rows: int) -> None:
        """Drop every tie of the given residents (they died or left the area)."""
        if len(rows) == 0:
            return
        gone = np.zeros(n_rows, dtype=bool)
        gone[rows] = True
        self.remove(touching(self.alive, self.a, self.b, gone))

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

    def adjacency(self, n_rows: int, setting: int | None = None) -> sp.csr_array:
        """Symmetric scipy.sparse adjacency (entries count ties) over resident rows."""
        m = self.alive if setting is None else self.alive & (self.setting == setting)
        a, b = self.a[m], self.b[m]
        data = np.ones(2 * len(a), dtype=np.int32)
        return sp.csr_array((data, (np.r_[a, b], np.r_[b, a])), shape=(n_rows, n_rows))

    def incident(self, row: int) -> np.ndarray:
        """Slots of the live ties of one resident (for the per-agent engine and inspection)."""
        return np.flatnonzero(self.alive & ((self.a == row) | (self.b == row)))


class PartnerIndex:
    """Members of one setting sorted by (setting id, group), for drawing tie partners with homophily."""

    def __init__(self, setting_id: np.ndarray, group: np.ndarray, alive: np.ndarray, n_groups: int):
        self.alive = alive  # the live mask (a view: partners must still be alive when drawn)
        rows = np.flatnonzero(alive & (setting_id >= 0))
        sid = setting_id[rows].astype(np.int64)
        key = sid * n_groups + group[rows]
        n_set = int(sid.max()) + 1 if len(sid) else 1
        order = counting_order(key, n_set * n_groups)
        self.rows = rows[order]
        self.n_groups = n_groups
        cnt_s = np.bincount(sid, minlength=n_set)
        cnt_sg = np.bincount(key, minlength=n_set * n_groups)
        self.start_s = np.r_[0, np.cumsum(cnt_s)[:-1]]
        self.len_s = cnt_s
        self.start_sg = np.r_[0, np.cumsum(cnt_sg)[:-1]]
        self.len_sg = cnt_sg
        self.members = self.rows  # alias: who can start a tie

    def draw(self, initiators: np.ndarray, setting_id: np.ndarray, group: np.ndarray, own_group_prob,
             rng: np.random.Generator, check: bool = True) -> np.ndarray:
        """A partner for each initiator in the same setting (own group first with ``own_group_prob``), or -1."""
        s = setting_id[initiators].astype(np.int64)
        valid = (s >= 0) & (s < len(self.len_s))
        s = np.where(valid, s, 0)
        sg = s * self.n_groups + group[initiators]
        own = rng.random(len(initiators)) < own_group_prob
        own &= self.len_sg[sg] > 0
        start = np.where(own, self.start_sg[sg], self.start_s[s])
        length = np.where(own, self.len_sg[sg], self.len_s[s])
        u = rng.random(len(initiators))
        pick = start + np.minimum((u * length).astype(np.int64), np.maximum(length - 1, 0))
        out = np.where(valid & (length > 0), self.rows[np.minimum(pick, len(self.rows) - 1)], -1)
        ok = out >= 0
        ok[ok] = self.alive[out[ok]]  # a resident who died or left since the index was built is no partner
        if check:  # and a partner must still belong to the setting (indices are refreshed every few weeks)
            ok &= setting_id[np.maximum(out, 0)] == setting_id[initiators]
        out = np.where(ok, out, -1)
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
        partners = idx.draw(init, sid, pop.group, own_group_probability(params, name, poor[init]), rng)
        net.add(init, partners, s, pop.group)
    return net, indices
