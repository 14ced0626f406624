"""Where adults meet beyond home, work and school: a place of worship of their own faith, or a community venue.

- **Places of worship.** An adult attends one of their religion's places of worship regularly with their
  religion's attendance (``worship_attendance``); the places of a religion are its congregations, each drawing
  its faith from a run of neighbouring MSOAs (along a tour of the area's MSOAs, nearest next) until it has about
  ``congregation_size`` regular attenders of the real population: so a mosque or a gurdwara draws across
  neighbourhoods, and a congregation is of one faith (and so mostly of a few ethnic groups) whatever the mix where
  its members live. The number of places is the same at every scale.
- **Community venues** (a faith or community group's other activities, clubs, centres): an adult who attends no
  place of worship attends one with ``venue_share``, either their own group's in their MSOA or the MSOA's mixed
  one (``venue_mixed_share``).

A venue's id: the places of worship first, then the community venues (MSOA x (groups + mixed)).
"""

from __future__ import annotations

import numpy as np

from sim.places import RELIGIONS, places
from sim.places.geometry import shapes


def tour(centroids: np.ndarray) -> np.ndarray:
    """The MSOAs in the order of a nearest-next tour from the westernmost: neighbours in the order are near."""
    n = len(centroids)
    left = np.ones(n, dtype=bool)
    order = [int(np.argmin(centroids[:, 0]))]
    left[order[0]] = False
    for _ in range(n - 1):
        d = np.hypot(*(centroids - centroids[order[-1]]).T)
        d[~left] = np.inf
        order.append(int(np.argmin(d)))
        left[order[-1]] = False
    return np.array(order, dtype=np.int64)


def congregations(pop, params) -> tuple[np.ndarray, int]:
    """(for each religion and MSOA, the first of the places of worship its attenders go to and how many there are,
    0 if none; the number of places), from the adults of each faith in each MSOA now and the faith's attendance,
    scaled to the real population: each place takes a run of about ``congregation_size`` attenders along the
    tour, so a place may draw on several MSOAs and an MSOA may hold several places."""
    pl, sh = places(pop.ons_code), shapes(pop.ons_code)
    order = tour(sh.centroid)
    a = pop.alive & (pop.age >= 16)
    adults = np.zeros((len(RELIGIONS), pop.n_neighbourhoods))
    np.add.at(adults, (pop.religion[a], pop.neighbourhood[a]), 1)
    per_real = pl.residents.sum() / max(int(pop.alive.sum()), 1)  # real residents per simulated one
    out = np.zeros((len(RELIGIONS), pop.n_neighbourhoods, 2), dtype=np.int64)
    n = 0
    for r, name in enumerate(RELIGIONS):
        rate, size = params.worship_attendance.get(name, 0.0), params.congregation_size.get(name, 1.0)
        attenders = adults[r, order] * rate * per_real
        if rate <= 0 or attenders.sum() <= 0:
            continue
        k = max(1, int(round(attenders.sum() / size)))
        edges = np.concatenate([[0.0], np.cumsum(attenders)]) / attenders.sum() * k  # in places, along the tour
        first = np.minimum(np.floor(edges[:-1]).astype(np.int64), k - 1)
        last = np.minimum(np.maximum(np.ceil(edges[1:]).astype(np.int64) - 1, first), k - 1)
        out[r, order, 0] = n + first
        out[r, order, 1] = np.where(attenders > 0, last - first + 1, 0)
        n += k
    return out, n


def assign_venues(pop, rows: np.ndarray, params, rng) -> None:
    """The venue of each adult among ``rows`` (everyone at week 0; arrivals later): worship, else perhaps a
    community venue. The places of worship are laid out the first time (from the week-0 population)."""
    if pop.worship is None:
        pop.worship, pop.n_worship = congregations(pop, params)
    adults = rows[pop.age[rows] >= 16]
    rate = np.array([params.worship_attendance.get(name, 0.0) for name in RELIGIONS])
    first, count = pop.worship[pop.religion[adults], pop.neighbourhood[adults]].T
    worships = (rng.random(len(adults)) < rate[pop.religion[adults]]) & (count > 0)
    which = (rng.random(len(adults)) * np.maximum(count, 1)).astype(np.int64)
    pop.venue[adults[worships]] = (first + which)[worships]
    rest = adults[~worships]
    goes = rest[rng.random(len(rest)) < params.venue_share]
    g = len(pop.groups)
    mixed = rng.random(len(goes)) < params.venue_mixed_share
    pop.venue[goes] = pop.n_worship + pop.neighbourhood[goes].astype(np.int32) * (g + 1) + np.where(
        mixed, g, pop.group[goes])
    pop.n_venues = pop.n_worship + pop.n_neighbourhoods * (g + 1)
