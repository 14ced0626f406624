"""Where residents live, the first build steps of :func:`sim.population.generate`: households and their sizes
(TS017), each household's ethnic group (TS021, fitted to both margins), one row per resident (communal
establishments included), and households placed in neighbourhoods so the area's index of dissimilarity is met.
Each step reads and extends the draft population ``d`` (``population._Draft``)."""

from __future__ import annotations

import numba
import numpy as np

from sim.census import DETAILED_GROUPS, group_value
from sim.fitting import dissimilarity_of_counts, integerise


def households(d) -> None:
    """Households and their sizes (TS017); residents of communal establishments (TS001)."""
    census, rng = d.census, d.rng
    d.model_groups = tuple(d.area["model_groups"]) + ("other",)
    d.det_index = {g: i for i, g in enumerate(DETAILED_GROUPS)}
    d.det_to_model = np.array([d.model_groups.index(g) if g in d.model_groups else len(d.model_groups) - 1
                               for g in DETAILED_GROUPS], dtype=np.int8)  # fmt: skip
    d.n_total = int(round(census["population"] * d.scale))
    d.n_communal = int(round(census["communal_residents"] * d.scale))
    d.n_hh_people = d.n_total - d.n_communal
    hh_counts = np.asarray(census["household_size"], dtype=float)
    sizes = np.arange(1, 9)
    # mean size of "8 or more" households implied by the residents who live in households
    resid_8 = census["population"] - census["communal_residents"] - (hh_counts[:7] * sizes[:7]).sum()
    mean8 = float(np.clip(resid_8 / max(hh_counts[7], 1), 8.0, 12.0))
    hh_n = integerise(hh_counts, int(round(hh_counts.sum() * d.scale)), rng)
    hh_size = np.repeat(sizes, hh_n)
    big = hh_size == 8
    # spread 8+ households over 8..12 people so their mean is mean8, then fix the resident total exactly
    hh_size[big] = 8 + rng.poisson(mean8 - 8.0, size=big.sum()).clip(0, 6)
    _adjust_sizes(hh_size, d.n_hh_people - int(hh_size.sum()), rng)
    d.hh_size, d.n_hh = hh_size, len(hh_size)


def ethnic_groups(d) -> None:
    """Ethnic group per household (TS021), larger households tilted to groups with larger households."""
    rng = d.rng
    eth_counts = np.array([d.census["ethnicity"][g] for g in DETAILED_GROUPS], dtype=float)
    d.persons_by_det = integerise(eth_counts, d.n_total, rng)
    communal_by_det = integerise(eth_counts, d.n_communal, rng)
    communal_by_det = np.minimum(communal_by_det, d.persons_by_det)
    communal_by_det += integerise(d.persons_by_det - communal_by_det, d.n_communal - communal_by_det.sum(), rng)
    d.communal_by_det = communal_by_det
    d.hh_det = _households_by_group(d.hh_size, d.persons_by_det - communal_by_det, d.params, d.rng)


def residents(d) -> None:
    """One row per person: household rows first, then communal residents (groups of about 50 per establishment,
    each its own non-private household id); spare rows for growth."""
    n, n_hh, hh_size = d.n_total, d.n_hh, d.hh_size
    d.n = n
    d.capacity = capacity = int(np.ceil(n * (1 + d.headroom))) + 16
    household = np.full(capacity, -1, dtype=np.int32)
    household[: d.n_hh_people] = np.repeat(np.arange(n_hh, dtype=np.int32), hh_size)
    d.n_ce = n_ce = max(1, int(np.ceil(d.n_communal / 50))) if d.n_communal else 0
    household[d.n_hh_people:n] = n_hh + (np.arange(d.n_communal) % max(n_ce, 1))
    d.household = household
    d.hh_communal = np.zeros(n_hh + n_ce, dtype=bool)
    d.hh_communal[n_hh:] = True
    det = np.zeros(capacity, dtype=np.int8)
    det[:d.n_hh_people] = np.repeat(d.hh_det, hh_size)
    det[d.n_hh_people:n] = d.rng.permutation(np.repeat(np.arange(len(DETAILED_GROUPS)), d.communal_by_det))
    d.det = det
    d.slot = np.zeros(n, dtype=np.int32)  # position of each person in their household (0 = head)
    d.starts = np.concatenate([[0], np.cumsum(hh_size)[:-1]])
    d.slot[:d.n_hh_people] = np.arange(d.n_hh_people) - np.repeat(d.starts, hh_size)


def neighbourhoods(d) -> None:
    """Households to neighbourhoods on a one-dimensional residential axis whose spread of group positions is set
    by bisection so the area's index of dissimilarity is met; communal establishments anywhere."""
    n, n_hh, rng = d.n, d.n_hh, d.rng
    d.n_neigh = n_neigh = int(d.area["neighbourhoods"])
    hh_group_pos = np.array([group_value(d.params.neighbourhood_minority_position, g) for g in DETAILED_GROUPS])
    largest = d.det_index[d.area["model_groups"][0]]
    hh_det_all = d.det[d.starts[:n_hh]]
    noise = rng.normal(size=n_hh)
    target_d = float(d.area["dissimilarity"])
    # households of the same position on the axis keep the order of their noise at any spread: sorted once (by
    # class of position, then noise), a spread's order is a merge of these few lists (see place_households)
    _, class_of_group = np.unique(hh_group_pos, return_inverse=True)
    position_class = class_of_group[hh_det_all].astype(np.int16)
    by_class = np.argsort(noise)
    by_class = by_class[np.argsort(position_class[by_class], kind="stable")]
    class_start = np.r_[0, np.cumsum(np.bincount(position_class))]
    pos, noise_by_class = hh_group_pos[hh_det_all][by_class], noise[by_class]
    hh_largest = hh_det_all == largest  # everyone in a household is of its group

    def place(spread):  # x = spread * position + noise, of the households in by_class order
        return place_households(spread * pos + noise_by_class, by_class, class_start, d.hh_size, hh_largest,
                                 n_neigh)

    lo, hi = 0.0, 20.0
    for _ in range(16):  # bisection on the spread of group positions
        mid = 0.5 * (lo + hi)
        _, in_largest, others = place(mid)
        dis = dissimilarity_of_counts(in_largest, others)
        lo, hi = (mid, hi) if dis < target_d else (lo, mid)
    d.hh_neigh = np.empty(n_hh + d.n_ce, dtype=np.int16)
    d.hh_neigh[:n_hh] = place(0.5 * (lo + hi))[0]
    d.hh_neigh[n_hh:] = rng.integers(0, n_neigh, size=d.n_ce)
    d.neighbourhood = np.zeros(d.capacity, dtype=np.int16)
    d.neighbourhood[:n] = d.hh_neigh[d.household[:n]]


@numba.njit(cache=True, nogil=True)
def place_households(x, by_class, class_start, size, largest, n_neigh):  # pragma: no cover - compiled
    """Households in the order of a stable sort of their positions (ties by row), filling neighbourhoods of equal
    residents in turn: (each household's neighbourhood, residents of the largest group and of the rest in each
    neighbourhood). ``by_class``: rows grouped by class (``class_start``), in an order within a class in which
    their positions ``x`` (in that order) do not decrease; each class's ties are put back in row order, then the
    classes merged."""
    n = x.shape[0]
    rows = by_class.copy()
    xs = x.copy()
    equal = 0
    for t in range(1, n):
        equal += xs[t] == xs[t - 1]
    for c in range(class_start.shape[0] - 1 if equal else 0):  # (ties are rare: one quick pass to rule them out)
        i = class_start[c]
        while i < class_start[c + 1]:
            j = i + 1
            while j < class_start[c + 1] and xs[j] == xs[i]:
                j += 1
            for t in range(i + 1, j):  # (insertion sort: a tie is a pair or three)
                r = rows[t]
                h = t
                while h > i and rows[h - 1] > r:
                    rows[h] = rows[h - 1]
                    h -= 1
                rows[h] = r
            i = j
    bounds = class_start.copy()
    rows2 = np.empty_like(rows)
    xs2 = np.empty_like(xs)
    while bounds.shape[0] > 2:  # merge neighbouring runs in pairs, by (x, row)
        n_runs = bounds.shape[0] - 1
        new_bounds = np.empty((n_runs + 1) // 2 + 1, dtype=bounds.dtype)
        new_bounds[0] = 0
        for p in range(0, n_runs, 2):
            lo, mid = bounds[p], bounds[p + 1]
            hi = bounds[p + 2] if p + 2 <= n_runs else mid
            i, j, t = lo, mid, lo
            while i < mid and j < hi:
                if xs[j] < xs[i] or (xs[j] == xs[i] and rows[j] < rows[i]):
                    rows2[t], xs2[t] = rows[j], xs[j]
                    j += 1
                else:
                    rows2[t], xs2[t] = rows[i], xs[i]
                    i += 1
                t += 1
            while i < mid:
                rows2[t], xs2[t] = rows[i], xs[i]
                i += 1
                t += 1
            while j < hi:
                rows2[t], xs2[t] = rows[j], xs[j]
                j += 1
                t += 1
            new_bounds[p // 2 + 1] = hi
        rows, rows2 = rows2, rows
        xs, xs2 = xs2, xs
        bounds = new_bounds
    total = max(size.sum(), 1)
    out = np.empty(n, dtype=np.int16)
    a = np.zeros(n_neigh, dtype=np.int64)
    b = np.zeros(n_neigh, dtype=np.int64)
    cum = 0
    q = -n_neigh // total  # (cum - 1) * n_neigh // total, kept up to date without dividing
    for t in range(n):
        r = rows[t]
        cum += size[r]
        v = (cum - 1) * n_neigh
        while (q + 1) * total <= v:
            q += 1
        nb = min(q, n_neigh - 1)
        out[r] = nb
        if largest[r]:
            a[nb] += size[r]
        else:
            b[nb] += size[r]
    return out, a, b


def _adjust_sizes(hh_size: np.ndarray, diff: int, rng) -> None:
    """Add or remove residents from random multi-person households until the total is exact (removing only from
    households of 3 or more, so no household drops below 2)."""
    while diff:
        cand = np.flatnonzero(hh_size >= (3 if diff < 0 else 2))
        take = rng.choice(cand, size=min(abs(diff), len(cand)), replace=False)
        hh_size[take] += np.sign(diff)
        diff -= int(np.sign(diff)) * len(take)


def _households_by_group(hh_size, persons_by_det, params, rng) -> np.ndarray:
    """Detailed group of each household: fit households-by-size x groups to both margins, then round."""
    sizes, counts = np.unique(hh_size, return_counts=True)
    tilt = np.array([group_value(params.household_size_tilt, g) for g in DETAILED_GROUPS])
    m = np.exp(np.outer(sizes - 1, tilt)) * np.maximum(persons_by_det, 1e-9)[None, :]
    m[:, persons_by_det == 0] = 0
    for _ in range(200):  # iterative fitting: rows = households of each size, columns = persons of each group
        m *= (counts / np.maximum(m.sum(axis=1), 1e-12))[:, None]
        persons = (m * sizes[:, None]).sum(axis=0)
        m *= np.where(persons > 0, persons_by_det / np.maximum(persons, 1e-12), 0)[None, :]
    m *= (counts / np.maximum(m.sum(axis=1), 1e-12))[:, None]
    out = np.empty(len(hh_size), dtype=np.int8)
    for r, s in enumerate(sizes):
        rows = np.flatnonzero(hh_size == s)
        per = integerise(m[r], len(rows), rng)
        out[rng.permutation(rows)] = np.repeat(np.arange(len(DETAILED_GROUPS)), per)
    return out
