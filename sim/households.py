"""Where residents live, the first build steps of :func:`sim.population.generate`: households and their sizes
(TS017), each household's ethnic group (TS021, fitted to both margins), one row per resident (communal
establishments included), and households placed in the area's MSOAs by each MSOA's own ethnic group counts.
Each step reads and extends the draft population ``d`` (``population._Draft``)."""

from __future__ import annotations

import numpy as np

from sim.census import DETAILED_GROUPS, group_value
from sim.fitting import fit_table, integerise
from sim.places import BROAD_GROUPS, BROAD_OF, places


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
    # communal residents' groups: each MSOA's by its own TS021 pattern, fitted to the area's communal groups
    ce_rows = np.arange(d.n_hh_people, n)
    ce_msoa = d.hh_neigh[household[ce_rows]]
    pl = d.places
    per = fit_table(pl.ethnicity * (pl.communal / np.maximum(pl.residents, 1))[:, None],
                    np.bincount(ce_msoa, minlength=pl.n), d.communal_by_det, d.rng)
    labels = np.concatenate([d.rng.permutation(np.repeat(np.arange(len(DETAILED_GROUPS)), per[z]))
                             for z in range(pl.n)]) if pl.n else np.zeros(0, dtype=np.int64)
    det[ce_rows[np.argsort(ce_msoa, kind="stable")]] = labels  # (every group's total exact; an MSOA's near)
    d.det = det
    d.slot = np.zeros(n, dtype=np.int32)  # position of each person in their household (0 = head)
    d.starts = np.concatenate([[0], np.cumsum(hh_size)[:-1]])
    d.slot[:d.n_hh_people] = np.arange(d.n_hh_people) - np.repeat(d.starts, hh_size)
    d.neighbourhood = np.zeros(capacity, dtype=np.int16)  # the MSOA (index) of each resident's household
    d.neighbourhood[:n] = d.hh_neigh[household[:n]]


def msoas(d) -> None:
    """Households to MSOAs (the area's real neighbourhoods, :mod:`sim.places`): each MSOA's residents of each
    ethnic group match its own TS021 counts (scaled), so the residential segregation of the area is the Census's
    own; communal establishments go to MSOAs in proportion to their communal residents (TS001). Households are then
    ordered by MSOA (rows of one MSOA are neighbours in memory as they are on the map)."""
    rng, pl = d.rng, places(d.area["ons_code"])
    d.places, d.n_neigh = pl, pl.n
    in_households = np.maximum(pl.ethnicity * ((pl.residents - pl.communal) / np.maximum(pl.residents, 1))[:, None],
                               0)
    target = fit_table(in_households, integerise(pl.residents - pl.communal, d.n_hh_people, rng),
                       d.persons_by_det - d.communal_by_det, rng)
    hh_msoa = np.empty(d.n_hh, dtype=np.int16)
    for g in range(len(DETAILED_GROUPS)):
        rows = rng.permutation(np.flatnonzero(d.hh_det == g))
        if len(rows):  # each MSOA takes a run of the group's households holding about its count of the group
            middle = np.cumsum(d.hh_size[rows]) - d.hh_size[rows] / 2
            hh_msoa[rows] = np.searchsorted(np.cumsum(target[:, g]), middle, side="right").clip(0, pl.n - 1)
    order = np.argsort(hh_msoa, kind="stable")
    d.hh_size, d.hh_det, hh_msoa = d.hh_size[order], d.hh_det[order], hh_msoa[order]
    n_ce = max(1, int(np.ceil(d.n_communal / 50))) if d.n_communal else 0
    ce_msoa = np.repeat(np.arange(pl.n), integerise(pl.communal, n_ce, rng)).astype(np.int16)
    d.hh_neigh = np.concatenate([hh_msoa, ce_msoa])
    d.hh_lsoa = _lsoas(d, pl, hh_msoa, ce_msoa)


def _lsoas(d, pl, hh_msoa, ce_msoa) -> np.ndarray:
    """Each household's LSOA within its MSOA, so that each LSOA's residents of each broad ethnic group match its
    own TS021 counts (published per LSOA for the five broad groups only): where in the MSOA a home is, for the
    distance to school. A communal establishment's LSOA: any of its MSOA's, in proportion to residents."""
    rng = d.rng
    broad = BROAD_OF[d.hh_det]
    out = np.empty(d.n_hh + len(ce_msoa), dtype=np.int32)
    for z in range(pl.n):
        lsoas = np.flatnonzero(pl.lsoa_msoa == z)
        here = np.flatnonzero(hh_msoa == z)
        persons = np.bincount(broad[here], weights=d.hh_size[here], minlength=len(BROAD_GROUPS)).astype(np.int64)
        cells = fit_table(pl.lsoa_ethnicity[lsoas], integerise(pl.lsoa_ethnicity[lsoas].sum(axis=1),
                                                               int(persons.sum()), rng), persons, rng)
        for b in np.flatnonzero(persons):
            rows = rng.permutation(here[broad[here] == b])
            middle = np.cumsum(d.hh_size[rows]) - d.hh_size[rows] / 2
            out[rows] = lsoas[np.searchsorted(np.cumsum(cells[:, b]), middle, side="right").clip(0, len(lsoas) - 1)]
        ce = np.flatnonzero(ce_msoa == z)
        if len(ce):
            w = pl.lsoa_ethnicity[lsoas].sum(axis=1).astype(float)
            out[d.n_hh + ce] = lsoas[rng.choice(len(lsoas), size=len(ce), p=w / w.sum())]
    return out


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


def religions(d) -> None:
    """Religion (TS030 of each MSOA): each MSOA's religions fitted, group by group, to its residents' ethnic groups
    with the area's own religion-by-ethnic-group table (Census 2021) as the pattern; a household shares one
    religion (the Census does not cross religion with household at MSOA level: an assumption that mixed-faith
    households are few), communal residents each their own."""
    pl, rng, n = d.places, d.rng, d.n
    n_rel = pl.religion.shape[1]
    religion = np.zeros(d.capacity, dtype=np.int8)
    # units: households (their head's row stands for all) and communal residents, each with its size
    unit = np.where(d.hh_communal[d.household[:n]], np.arange(n) + d.n_hh + d.n_ce, d.household[:n])
    heads, first = np.unique(unit, return_index=True)
    size = np.bincount(np.searchsorted(heads, unit), minlength=len(heads))
    msoa, group = d.neighbourhood[first].astype(np.int64), d.det[first].astype(np.int64)
    order = np.lexsort((rng.random(len(heads)), group, msoa))
    unit_religion = np.zeros(len(heads), dtype=np.int8)
    n_groups = len(DETAILED_GROUPS)
    start = np.searchsorted(msoa[order] * n_groups + group[order], np.arange(pl.n * n_groups + 1))
    for z in range(pl.n):
        persons = np.bincount(group[order[start[z * n_groups]:start[(z + 1) * n_groups]]],
                              weights=size[order[start[z * n_groups]:start[(z + 1) * n_groups]]],
                              minlength=n_groups).astype(np.int64)
        cells = fit_table(pl.religion_by_group.T, integerise(pl.religion[z], int(persons.sum()), rng), persons, rng)
        for g in np.flatnonzero(persons):
            these = order[start[z * n_groups + g]:start[z * n_groups + g + 1]]
            middle = np.cumsum(size[these]) - size[these] / 2  # each religion takes a run of the households
            unit_religion[these] = np.searchsorted(np.cumsum(cells[:, g]), middle, side="right").clip(0, n_rel - 1)
    religion[:n] = unit_religion[np.searchsorted(heads, unit)]
    d.religion = religion
