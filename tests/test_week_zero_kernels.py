"""The compiled and shortcut forms of the week-0 set-up give exactly the numbers of the plain numpy forms they
replace (the baselines check whole runs; these check each form on its own, ties and edge cases included)."""

import numpy as np
import pytest

from sim.config import load_area, model_params
from sim.kernels import CHUNKS
from sim.network import ContactNetwork, PartnerIndex
from sim.population import COLUMN_SPECS, generate
from sim.processes import contact, demography
from sim.processes.attitude import bridging_passes as _bridging_passes
from sim.processes.contact import setting_table


class _NumpyPartnerIndex:
    """PartnerIndex as it was written in numpy (the reference)."""

    def __init__(self, setting_id, group, alive, n_groups):
        self.alive = alive
        rows = np.flatnonzero(alive & (setting_id >= 0))
        sid = setting_id[rows].astype(np.int64)
        key = sid * n_groups + group[rows]
        n_set = int(sid.max()) + 1 if len(sid) else 1
        self.rows = rows[np.argsort(key, kind="stable")]
        self.n_groups = n_groups
        self.len_s = np.bincount(sid, minlength=n_set)
        self.len_sg = np.bincount(key, minlength=n_set * n_groups)
        self.start_s = np.r_[0, np.cumsum(self.len_s)[:-1]]
        self.start_sg = np.r_[0, np.cumsum(self.len_sg)[:-1]]

    def draw(self, initiators, setting_id, group, own_group_prob, rng, check=True):
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
        ok[ok] = self.alive[out[ok]]
        if check:
            ok &= setting_id[np.maximum(out, 0)] == setting_id[initiators]
        return np.where(ok, out, -1)


@pytest.mark.parametrize("dtype", [np.int16, np.int32])
def test_partner_index_sorts_and_draws_as_the_numpy_form(dtype):
    rng = np.random.default_rng(1)
    n, n_groups = 5000, 4
    sid = rng.integers(-1, 40, size=n).astype(dtype)
    group = rng.integers(0, n_groups, size=n).astype(np.int8)
    alive = rng.random(n) < 0.9
    idx, ref = PartnerIndex(sid, group, alive, n_groups), _NumpyPartnerIndex(sid, group, alive, n_groups)
    for name in ("rows", "start_s", "len_s", "start_sg", "len_sg"):
        assert np.array_equal(getattr(idx, name), getattr(ref, name)) and getattr(idx, name).dtype == np.int64
    assert idx.members is idx.rows
    alive[rng.random(n) < 0.05] = False  # some die and some move after the index is made
    sid[rng.random(n) < 0.05] = rng.integers(-1, 45, size=1)[0]
    init = rng.integers(0, n, size=20000)
    for prob, check in ((0.0, True), (0.6, True), (rng.random(len(init)), False)):
        a, b = np.random.default_rng(7), np.random.default_rng(7)
        assert np.array_equal(idx.draw(init, sid, group, prob, a, check=check),
                              ref.draw(init, sid, group, prob, b, check=check))
        assert a.random() == b.random()  # the same draws, the same number of them
    empty = PartnerIndex(np.full(10, -1, dtype=dtype), np.zeros(10, dtype=np.int8), np.ones(10, dtype=bool), 3)
    assert len(empty.rows) == 0 and np.array_equal(empty.len_s, [0]) and len(empty.len_sg) == 3


@pytest.mark.parametrize("slots", [contact.CHUNKED // 4, contact.CHUNKED + 60_000])  # one chunk, and CHUNKS
def test_the_settling_passes_give_contact_weeks_bridging_sums(slots):
    params = model_params(None).ties
    pop = generate(load_area("walsall"), 0.01, model_params(None).population, np.random.default_rng(3))
    rng = np.random.default_rng(4)
    net = ContactNetwork(slots, params)
    residents = np.flatnonzero(pop.alive).astype(np.int32)
    k = int(slots * 0.9)
    for s in range(4):
        net.add(rng.choice(residents, k // 4), rng.choice(residents, k // 4), s, pop.group)
    net.remove(rng.random(len(net.alive)) < 0.05)  # free slots among the used ones
    m = len(net.alive)
    quality = setting_table(params, "quality")
    chunks = CHUNKS if m > contact.CHUNKED else 1
    bridging = np.flatnonzero(net.bridging)
    bounds = np.searchsorted(bridging, [m * c // chunks for c in range(chunks + 1)])
    u = np.empty((3, len(bridging)), dtype=np.float32)
    want = []
    for p in range(3):
        want.append(contact.week(pop, net, params, np.random.default_rng(10 + p))[2].copy())
        u[p] = np.random.default_rng(10 + p).random(m, dtype=np.float32)[bridging]
    got = _bridging_passes(u, net.fade_p[bridging], net.meet_thr[bridging], net.a[bridging], net.b[bridging],
                           net.setting[bridging], quality, bounds, len(pop.alive))
    for p in range(3):
        assert want[p].any() and np.array_equal(got[:, p], want[p])


def _numpy_templates(pop):
    alive = np.flatnonzero(pop.alive & ~pop.household_communal[np.maximum(pop.household, 0)])
    hh = pop.household[alive]
    order = np.argsort(hh, kind="stable")
    ids, starts, sizes = np.unique(hh[order], return_index=True, return_counts=True)
    return alive[order], ids, starts, sizes


@pytest.mark.parametrize("shuffle", [False, True])
def test_templates_list_households_as_the_numpy_form(shuffle):
    area = load_area("walsall")
    p = model_params(None)
    pop = generate(area, 0.01, p.population, np.random.default_rng(5))
    if shuffle:  # households no longer listed member by member in order
        perm = np.random.default_rng(6).permutation(pop.capacity)
        for c in COLUMN_SPECS:
            setattr(pop, c, getattr(pop, c)[perm])
    t = demography.make_templates(pop, area, 0.01, p.demography)
    rows, ids, starts, sizes = _numpy_templates(pop)
    assert t["n"] == len(ids)
    for name, want in (("rows", rows), ("starts", starts), ("sizes", sizes)):
        assert np.array_equal(t[name], want) and t[name].dtype == want.dtype
    assert np.array_equal(t["neighbourhood"], pop.household_neighbourhood[ids])
