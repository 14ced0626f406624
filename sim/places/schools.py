"""The area's real state-funded primary and secondary schools (DfE school census, January 2023, with each school's
postcode located by the ONS postcode directory: ``data/msoa2021/``): where each is, its phase, roll, religious
character, whether it may admit by faith, and whether it takes girls, boys or both."""

from __future__ import annotations

import csv
import dataclasses
import functools

import numpy as np

from sim.places import DATA, RELIGIONS, places
from sim.places.geometry import shapes

PHASES = {"State-funded primary": 1, "State-funded secondary": 2}
# a school's religious character (DfE 'denomination') -> the faith (TS030 category) it is of
FAITH = {"Church of England": "christian", "Roman Catholic": "christian", "Other Christian Faith": "christian",
         "Muslim": "muslim", "Islam": "muslim"}  # fmt: skip
# The School Admissions Code (DfE 2021, 1.36-1.38) lets a school with a religious character give priority by faith
# when its own governing body or trust is its admission authority: voluntary aided schools, and academies and free
# schools designated with a religious character; a voluntary controlled school's admissions are the council's.
FAITH_ADMISSIONS = ("Voluntary aided school", "Academy converter", "Academy sponsor led", "Free schools")
SEX = {"Mixed": 0, "Girls": 1, "Boys": 2, "Unknown": 0}


@dataclasses.dataclass(frozen=True)
class Schools:
    """One row per school, primaries first (each phase in the order of its URNs)."""

    urn: np.ndarray
    name: tuple[str, ...]
    phase: np.ndarray  # 1 primary, 2 secondary
    roll: np.ndarray  # pupils on the roll (headcount), January 2023
    faith: np.ndarray  # index into sim.places.RELIGIONS of the school's faith, or -1: no religious character
    faith_admissions: np.ndarray  # may give priority to pupils of its faith
    sex: np.ndarray  # 0 mixed, 1 girls, 2 boys
    xy: np.ndarray  # km in the area's frame (sim.places.geometry)
    msoa: np.ndarray  # the MSOA (index) the school lies in

    @property
    def n(self) -> int:
        return len(self.urn)


@functools.lru_cache(maxsize=8)
def schools(ons_code: str) -> Schools:
    pl, sh = places(ons_code), shapes(ons_code)
    with open(DATA / "school_locations.csv", newline="") as f:
        where = {r["urn"]: r for r in csv.DictReader(f)}
    with open(DATA / "dfe_schools_2022_23_by_school.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["lad21cd"] == ons_code and r["phase_type_grouping"] in PHASES]
    rows.sort(key=lambda r: (PHASES[r["phase_type_grouping"]], int(r["urn"])))
    xy, msoa = [], []
    for r in rows:
        w = where[r["urn"]]
        z = pl.index_of(w["msoa21cd"])
        msoa.append(z)
        # (one school has no postcode: it stands at the centroid of the MSOA its ward overlaps most)
        xy.append(sh.km(np.array([[float(w["lon"]), float(w["lat"])]]))[0] if w["lat"] else sh.centroid[z])
    faith = [RELIGIONS.index(FAITH[r["denomination"]]) if r["denomination"] in FAITH else -1 for r in rows]
    return Schools(
        urn=np.array([int(r["urn"]) for r in rows]), name=tuple(r["school_name"] for r in rows),
        phase=np.array([PHASES[r["phase_type_grouping"]] for r in rows], dtype=np.int8),
        roll=np.array([float(r["headcount of pupils"]) for r in rows]).round().astype(np.int64),
        faith=np.array(faith, dtype=np.int8),
        faith_admissions=np.array([f >= 0 and r["typeofestablishment_name"] in FAITH_ADMISSIONS
                                   for f, r in zip(faith, rows)]),
        sex=np.array([SEX.get(r["sex_of_school_description"], 0) for r in rows], dtype=np.int8),
        xy=np.array(xy).reshape(-1, 2), msoa=np.array(msoa, dtype=np.int64),
    )  # fmt: skip
