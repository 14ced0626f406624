"""Who goes to which real school: families rank schools, schools admit by their oversubscription criteria, and
places are allocated by deferred acceptance, as English councils' coordinated admissions do (the School
Admissions Code 2021: equal-preference schemes, in which the offer is the highest-ranked school whose criteria the
pupil meets; Abdulkadiroglu & Sonmez 2003 for the mechanism). So school segregation *emerges* from where pupils
live, what families prefer and how places are rationed, and can exceed residential segregation.

- **Preferences**: a family ranks up to ``school_choices`` schools of the pupil's phase (that take the pupil's
  sex) by closeness (appeal falls by one unit per ``school_distance_km``), a pull towards a school of the family's
  own faith, and a family's own taste (a Gumbel draw per pupil and school, fixed for the pupil).
- **Priorities**: a school with a religious character that is its own admission authority ranks applicants of its
  faith first (:data:`sim.places.schools.FAITH_ADMISSIONS`); then every school ranks by distance.
- **Capacity**: each school's places are its real roll (DfE, January 2023) scaled to the model's pupils.
- **Over time** a pupil keeps their school while in its phase; pupils starting school or moving up to secondary
  school are allocated the places then free in one round a year (September), pupils arriving of school age at
  once (:func:`place`). A pupil placed by lottery
  (the mixed intakes policy) gets the place at a drawn position along the phase's places instead (:func:`by_lottery`).

Homes: a pupil lives at a point of their household's LSOA (its centroid plus a draw within a disc of its area,
fixed by the household), so siblings share a home and distances within an LSOA are not all zero.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np

from sim.places import places
from sim.places.geometry import shapes
from sim.places.schools import schools

NO_SCHOOL = -1


@numba.njit(cache=True, inline="always")
def _mix(x):  # pragma: no cover - compiled
    """splitmix64's finaliser: a well-spread 64-bit value from any 64-bit input."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@numba.njit(cache=True)
def _uniform(a, b, salt):  # pragma: no cover - compiled
    """A uniform in (0, 1) fixed by two whole numbers and the run's salt."""
    h = _mix(np.uint64(a) * np.uint64(0x9E3779B97F4A7C15) + _mix(np.uint64(b) + np.uint64(salt)))
    return (np.float64(h >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True)
def homes(household, lsoa, cx, cy, radius, salt):  # pragma: no cover - compiled
    """Each resident's home (km): their LSOA's centroid plus a uniform point of a disc of its area, by household."""
    n = household.shape[0]
    x = np.empty(n)
    y = np.empty(n)
    for i in range(n):
        z = lsoa[i]
        r = radius[z] * np.sqrt(_uniform(household[i], 1, salt))
        t = 2.0 * np.pi * _uniform(household[i], 2, salt)
        x[i] = cx[z] + r * np.cos(t)
        y[i] = cy[z] + r * np.sin(t)
    return x, y


@numba.njit(cache=True)
def preferences(px, py, phase, female, religion, key, sx, sy, sphase, ssex, sfaith, scale_km, pull, k,
                salt):  # pragma: no cover - compiled
    """Each pupil's ranked list of up to ``k`` schools (-1 padded) and their distance to each (km)."""
    m, ns = px.shape[0], sx.shape[0]
    pref = np.full((m, k), -1, dtype=np.int64)
    dist = np.zeros((m, k))
    util = np.empty(k)
    for i in range(m):
        got = 0
        for s in range(ns):
            if sphase[s] != phase[i] or (ssex[s] == 1 and not female[i]) or (ssex[s] == 2 and female[i]):
                continue
            d = np.sqrt((px[i] - sx[s]) ** 2 + (py[i] - sy[s]) ** 2)
            u = -d / scale_km[phase[i]] - np.log(-np.log(_uniform(key[i], s, salt)))
            if sfaith[s] >= 0 and sfaith[s] == religion[i]:
                u += pull
            if got < k:
                j = got
                got += 1
            elif u > util[k - 1]:
                j = k - 1
            else:
                continue
            while j > 0 and util[j - 1] < u:  # keep the list sorted by appeal, best first
                util[j], pref[i, j], dist[i, j] = util[j - 1], pref[i, j - 1], dist[i, j - 1]
                j -= 1
            util[j], pref[i, j], dist[i, j] = u, s, d
    return pref, dist


@numba.njit(cache=True)
def deferred_acceptance(pref, priority, capacity):  # pragma: no cover - compiled
    """Pupil-proposing deferred acceptance: each pupil's school (-1: none of their list had room for them).
    ``priority[i, j]``: school ``pref[i, j]``'s rank of pupil ``i`` (lower first); each school holds its best
    applicants so far in a max-heap on priority."""
    m, k = pref.shape
    ns = capacity.shape[0]
    start = np.zeros(ns + 1, dtype=np.int64)
    for s in range(ns):
        start[s + 1] = start[s] + max(capacity[s], 0)
    held = np.empty(start[ns], dtype=np.int64)
    held_p = np.empty(start[ns])
    size = np.zeros(ns, dtype=np.int64)
    nxt = np.zeros(m, dtype=np.int64)
    out = np.full(m, -1, dtype=np.int64)
    stack = np.arange(m)[::-1].copy()
    top = m
    while top > 0:
        top -= 1
        i = stack[top]
        if nxt[i] >= k or pref[i, nxt[i]] < 0:
            continue  # (their list is used up)
        s, p = pref[i, nxt[i]], priority[i, nxt[i]]
        nxt[i] += 1
        b, c = start[s], start[s + 1] - start[s]
        if size[s] < c:  # room: push onto the heap
            h = size[s]
            size[s] += 1
            while h > 0 and held_p[b + (h - 1) // 2] < p:
                held[b + h], held_p[b + h] = held[b + (h - 1) // 2], held_p[b + (h - 1) // 2]
                h = (h - 1) // 2
            held[b + h], held_p[b + h] = i, p
            out[i] = s
            continue
        if c == 0 or held_p[b] <= p:  # rejected
            stack[top] = i
            top += 1
            continue
        worst = held[b]  # i displaces the school's worst-ranked holder, who applies on down their list
        out[worst] = -1
        stack[top] = worst
        top += 1
        h = 0
        while True:  # sift i down from the root
            left, r, big = 2 * h + 1, 2 * h + 2, h
            pb = p
            if left < c and held_p[b + left] > pb:
                big, pb = left, held_p[b + left]
            if r < c and held_p[b + r] > pb:
                big = r
            if big == h:
                break
            held[b + h], held_p[b + h] = held[b + big], held_p[b + big]
            h = big
        held[b + h], held_p[b + h] = i, p
        out[i] = s
    return out


@dataclasses.dataclass
class SchoolSetting:
    """An area's schools as the model uses them: places scaled to its pupils, homes' geometry, the run's salt."""

    phase: np.ndarray
    capacity: np.ndarray
    faith: np.ndarray
    faith_admissions: np.ndarray
    sex: np.ndarray
    xy: np.ndarray
    centroid: np.ndarray  # of each LSOA, km (homes are drawn around these)
    radius: np.ndarray
    salt: int

    @classmethod
    def make(cls, ons_code: str, pupils_by_phase: np.ndarray, spare: float, salt: int) -> SchoolSetting:
        """Places: each school's roll times the model's pupils of its phase over the phase's real roll, plus a
        share ``spare`` (so every pupil has a place, whatever the scale), at least one place a school."""
        sc, sh, pl = schools(ons_code), shapes(ons_code), places(ons_code)
        cap = np.zeros(sc.n, dtype=np.int64)
        for ph in (1, 2):
            m = sc.phase == ph
            ratio = pupils_by_phase[ph] / max(sc.roll[m].sum(), 1)
            cap[m] = np.maximum(1, np.ceil(sc.roll[m] * ratio * (1 + spare))).astype(np.int64)
        return cls(sc.phase, cap, sc.faith, sc.faith_admissions, sc.sex, sc.xy, sh.km(pl.lsoa_lonlat),
                   np.sqrt(pl.lsoa_area_km2 / np.pi), int(salt))

    @property
    def n(self) -> int:
        return len(self.phase)


def school_phase(age) -> np.ndarray:
    """1 primary (4-10), 2 secondary (11-17), 0 neither."""
    return np.where((age >= 4) & (age < 11), 1, np.where((age >= 11) & (age < 18), 2, 0)).astype(np.int8)


def place(prev, pupil, age, household, lsoa, religion, female, setting: SchoolSetting, params,
          admissions: bool) -> np.ndarray:
    """Each resident's school (or -1), from where each pupil was (``prev``). In the year's admissions round
    (``admissions``: September, and at week 0) pupils starting school or moving up to secondary school are
    allocated the places then free, all together; in-year, a pupil keeps their school (a pupil who turned 11
    stays at primary school until September; one who turned 4 waits for a reception place) and only pupils
    arriving of school age are allocated places. A pure function of its arguments."""
    phase = np.where(pupil, school_phase(age), 0)
    new = np.full(len(prev), NO_SCHOOL, dtype=np.int32)
    stay = (phase > 0) & (prev >= 0)
    if admissions:
        stay[stay] = setting.phase[prev[stay]] == phase[stay]
    new[stay] = prev[stay]
    entering = np.flatnonzero((phase > 0) & ~stay & (admissions | (prev >= 0) | (age >= 5)))
    if len(entering) == 0:
        return new
    left = setting.capacity - np.bincount(new[stay], minlength=setting.n)
    rest = entering
    x, y = homes(household[rest], lsoa[rest].astype(np.int64), setting.centroid[:, 0], setting.centroid[:, 1],
                 setting.radius, setting.salt)
    pull = params.school_faith_pull
    key = rest.astype(np.int64) * 1_000_003 + household[rest]  # (a pupil's own taste: fixed while they live)
    pref, dist = preferences(x, y, phase[rest], female[rest], religion[rest], key, setting.xy[:, 0],
                             setting.xy[:, 1], setting.phase, setting.sex, setting.faith,
                             np.array([1.0, params.school_distance_km["primary"],
                                       params.school_distance_km["secondary"]]), pull,
                             int(params.school_choices), setting.salt)
    faith_first = setting.faith_admissions[np.maximum(pref, 0)] & (setting.faith[np.maximum(pref, 0)]
                                                                    == religion[rest][:, None])
    priority = dist + 1e6 * ~faith_first
    got = deferred_acceptance(pref, priority, np.maximum(left, 0))
    np.subtract.at(left, got[got >= 0], 1)
    out = np.flatnonzero(got < 0)  # (no school on their list had room: the nearest school that has)
    got[out] = nearest_with_room(x[out], y[out], phase[rest[out]], female[rest[out]], setting.xy[:, 0],
                                 setting.xy[:, 1], setting.phase, setting.sex, left)
    new[rest] = got
    return new


def _fits(s, phase, female, setting) -> bool:
    return setting.phase[s] == phase and not (setting.sex[s] == 1 and not female) and not (
        setting.sex[s] == 2 and female)


def by_lottery(school, pupil, age, female, rows, positions, setting: SchoolSetting) -> np.ndarray:
    """Places by lottery (the mixed intakes policy) for pupils ``rows``, each at their drawn position along the
    places of their phase's schools, or the next school there with room for them; the places the others hold are
    kept."""
    phase = school_phase(age[rows])
    others = pupil & (school >= 0)
    others[rows] = False
    left = setting.capacity - np.bincount(school[others], minlength=setting.n)
    out = np.empty(len(rows), dtype=np.int32)
    for j in range(len(rows)):
        ids = np.flatnonzero(setting.phase == phase[j])
        cum = np.cumsum(setting.capacity[ids])
        first = int(np.searchsorted(cum, positions[j] * cum[-1], side="right").clip(0, len(ids) - 1))
        out[j] = ids[first]  # (every place taken: over the roll at the drawn school)
        for step in range(len(ids)):
            s = ids[(first + step) % len(ids)]
            if left[s] > 0 and _fits(s, phase[j], female[rows[j]], setting):
                out[j] = s
                break
        left[out[j]] -= 1
    return out


@numba.njit(cache=True)
def nearest_with_room(x, y, phase, female, sx, sy, sphase, ssex, left):  # pragma: no cover - compiled
    """In turn, each pupil's nearest school of their phase that takes their sex and has a place left (taking it),
    or the nearest such school if none has (over its roll)."""
    out = np.empty(x.shape[0], dtype=np.int64)
    for i in range(x.shape[0]):
        best, best_d, near, near_d = -1, np.inf, -1, np.inf
        for s in range(sx.shape[0]):
            if sphase[s] != phase[i] or (ssex[s] == 1 and not female[i]) or (ssex[s] == 2 and female[i]):
                continue
            d = (x[i] - sx[s]) ** 2 + (y[i] - sy[s]) ** 2
            if d < near_d:
                near, near_d = s, d
            if left[s] > 0 and d < best_d:
                best, best_d = s, d
        out[i] = best if best >= 0 else near
        left[out[i]] -= 1
    return out
