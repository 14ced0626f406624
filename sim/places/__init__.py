"""The real places of an area: its MSOAs (Census 2021 middle-layer super output areas) with their own Census
tables and boundaries, read from ``data/msoa2021/`` (copied from the project's reference folder; its README gives
each file's source and checks). Nothing here is fitted or assumed: it is the data as published, keyed by the
area's ONS code, in the categories the population's build steps use.

:func:`places` returns one area's :class:`Places` (read once per process); :mod:`sim.places.geometry` holds the
shapes (centroids, distances, points in polygons) and :mod:`sim.places.schools` the DfE school census.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import pathlib

import numpy as np

from sim.census import DETAILED_GROUPS
from sim.params import ConfigError

DATA = pathlib.Path(__file__).resolve().parent.parent.parent / "data" / "msoa2021"

# TS030's categories, in this order everywhere (the population's religion column holds the index)
RELIGIONS = ("no_religion", "christian", "buddhist", "hindu", "jewish", "muslim", "sikh", "other", "not_answered")
_TS030 = {"no_religion": "No religion", "christian": "Christian", "buddhist": "Buddhist", "hindu": "Hindu",
          "jewish": "Jewish", "muslim": "Muslim", "sikh": "Sikh", "other": "Other religion",
          "not_answered": "Not answered"}  # fmt: skip
# TS021's column of each detailed group (the 19 groups of sim.census, in that order)
_ASIAN, _BLACK = "Asian, Asian British or Asian Welsh", "Black, Black British, Black Welsh, Caribbean or African"
_MIXED, _WHITE, _OTHER = "Mixed or Multiple ethnic groups", "White", "Other ethnic group"
_TS021 = {
    "white_british": f"{_WHITE}: English, Welsh, Scottish, Northern Irish or British",
    "white_irish": f"{_WHITE}: Irish",
    "white_gypsy_traveller": f"{_WHITE}: Gypsy or Irish Traveller", "white_roma": f"{_WHITE}: Roma",
    "white_other": f"{_WHITE}: Other White", "mixed_white_asian": f"{_MIXED}: White and Asian",
    "mixed_white_black_african": f"{_MIXED}: White and Black African",
    "mixed_white_black_caribbean": f"{_MIXED}: White and Black Caribbean",
    "mixed_other": f"{_MIXED}: Other Mixed or Multiple ethnic groups", "asian_indian": f"{_ASIAN}: Indian",
    "asian_pakistani": f"{_ASIAN}: Pakistani", "asian_bangladeshi": f"{_ASIAN}: Bangladeshi",
    "asian_chinese": f"{_ASIAN}: Chinese", "asian_other": f"{_ASIAN}: Other Asian",
    "black_african": f"{_BLACK}: African",
    "black_caribbean": f"{_BLACK}: Caribbean", "black_other": f"{_BLACK}: Other Black", "other_arab": f"{_OTHER}: Arab",
    "other_any": f"{_OTHER}: Any other ethnic group",
}  # fmt: skip
# TS029's categories (residents aged 3 and over), least English last
PROFICIENCY = ("main_english", "very_well", "well", "not_well", "not_at_all")
_P = "Proficiency in English language: Main language is not English (English or Welsh in Wales): "
_TS029 = {"main_english": "Proficiency in English language: Main language is English (English or Welsh in Wales)",
          "very_well": _P + "Can speak English very well", "well": _P + "Can speak English well",
          "not_well": _P + "Cannot speak English well", "not_at_all": _P + "Cannot speak English"}  # fmt: skip
# the cross-table's name of each detailed group (data/msoa2021/religion_by_ethnic_group_la.csv)
_LABEL = dict(zip(DETAILED_GROUPS, (
    "White British", "White Irish", "Gypsy or Irish Traveller", "Roma", "Other White", "Mixed White and Asian",
    "Mixed White and Black African", "Mixed White and Black Caribbean", "Other Mixed", "Indian", "Pakistani",
    "Bangladeshi", "Chinese", "Other Asian", "African", "Caribbean", "Other Black", "Arab", "Any other ethnic group")))
# TS021's five broad groups (published per LSOA), and the broad group of each detailed group
BROAD_GROUPS = ("white", "mixed", "asian", "black", "other")
BROAD_OF = np.array([BROAD_GROUPS.index(g.split("_")[0]) for g in DETAILED_GROUPS])
AGES = 101  # TS007: single years 0..99, then 100 and over


@dataclasses.dataclass(frozen=True)
class Places:
    """One area's MSOAs, in the order of their codes: each table has one row per MSOA (counts of residents)."""

    ons_code: str
    codes: tuple[str, ...]
    names: tuple[str, ...]
    residents: np.ndarray  # TS001 all usual residents
    communal: np.ndarray  # TS001 living in a communal establishment
    ethnicity: np.ndarray  # TS021, MSOAs x the 19 detailed groups of sim.census.DETAILED_GROUPS
    age: np.ndarray  # TS007, MSOAs x single years 0..100+
    proficiency: np.ndarray  # TS029, MSOAs x PROFICIENCY (residents aged 3 and over)
    religion: np.ndarray  # TS030 (aggregated from LSOAs), MSOAs x RELIGIONS
    not_working: np.ndarray  # TS065, MSOAs x (worked in the last 12 months, not since, never): aged 16+ not in work
    religion_by_group: np.ndarray  # the area's religion by ethnic group (Census 2021), the 19 groups x RELIGIONS
    lsoa_msoa: np.ndarray  # each LSOA (the area's, in code order) -> its MSOA (index)
    lsoa_ethnicity: np.ndarray  # TS021 per LSOA: LSOAs x BROAD_GROUPS
    lsoa_lonlat: np.ndarray  # LSOAs x (lon, lat): centroid of the LSOA's boundary (BGC, December 2021)
    lsoa_area_km2: np.ndarray

    @property
    def n(self) -> int:
        return len(self.codes)

    def index_of(self, code: str) -> int:
        return self.codes.index(code)


def _rows(name: str, ons_code: str) -> dict[str, dict]:
    with open(DATA / name, newline="") as f:
        return {r["msoa21cd"]: r for r in csv.DictReader(f) if r["lad21cd"] == ons_code}


def _table(rows: dict, codes, headers) -> np.ndarray:
    return np.array([[float(rows[c][h]) for h in headers] for c in codes]).round().astype(np.int64)


@functools.lru_cache(maxsize=8)
def places(ons_code: str) -> Places:
    """The MSOAs of the area with this ONS code (a ``ConfigError`` naming ``area.ons_code`` if it has none)."""
    ts001 = _rows("ts001_usual_residents_msoa21.csv", ons_code)
    if not ts001:
        raise ConfigError(f"'area.ons_code' {ons_code!r} has no MSOAs in {DATA.name}/ (the five pilot areas do)")
    codes = tuple(sorted(ts001))
    ts021 = _rows("ts021_ethnic_group_msoa21.csv", ons_code)
    ts007 = _rows("ts007_age_single_year_msoa21.csv", ons_code)
    ts029 = _rows("ts029_proficiency_english_msoa21.csv", ons_code)
    ts030 = _rows("ts030_religion_msoa21_aggregated_from_lsoa.csv", ons_code)
    ts065 = _rows("ts065_unemployment_history_msoa21.csv", ons_code)
    ages = (["Aged under 1 year", "Aged 1 year"] + [f"Aged {a} years" for a in range(2, 100)]
            + ["Aged 100 years and over"])
    u = "Unemployment history: Not in employment: "
    with open(DATA / "lsoa21_centroids.csv", newline="") as f:
        lsoas = sorted((r for r in csv.DictReader(f) if r["lad21cd"] == ons_code), key=lambda r: r["lsoa21cd"])
    with open(DATA / "ts021_ethnic_group_high_level_lsoa21.csv", newline="") as f:
        lsoa_eth = {r["lsoa21cd"]: r for r in csv.DictReader(f) if r["lad21cd"] == ons_code}
    broad = {"white": "White", "mixed": "Mixed or Multiple ethnic groups", "asian": _ASIAN, "black": _BLACK,
             "other": "Other ethnic group"}
    with open(DATA / "religion_by_ethnic_group_la.csv", newline="") as f:
        cross = {r["ethnic_group"]: r for r in csv.DictReader(f) if r["geography"] == ons_code}
    return Places(
        ons_code=ons_code, codes=codes, names=tuple(ts001[c]["msoa21nm"] for c in codes),
        residents=_table(ts001, codes, ["Residence type: Total; measures: Value"])[:, 0],
        communal=_table(ts001, codes, ["Residence type: Lives in a communal establishment; measures: Value"])[:, 0],
        ethnicity=_table(ts021, codes, [f"Ethnic group: {_TS021[g]}" for g in DETAILED_GROUPS]),
        age=_table(ts007, codes, ages), proficiency=_table(ts029, codes, [_TS029[k] for k in PROFICIENCY]),
        religion=_table(ts030, codes, [f"Religion: {_TS030[k]}" for k in RELIGIONS]),
        not_working=_table(ts065, codes, [u + "Worked in the last 12 months", u + "Not worked in the last 12 months",
                                          u + "Never worked"]),
        religion_by_group=np.array([[float(cross[_LABEL[g]][_TS030[r]]) for r in RELIGIONS] for g in DETAILED_GROUPS]
                                   if cross else np.ones((len(DETAILED_GROUPS), len(RELIGIONS)))),
        lsoa_msoa=np.array([codes.index(r["msoa21cd"]) for r in lsoas], dtype=np.int64),
        lsoa_ethnicity=np.array([[float(lsoa_eth[r["lsoa21cd"]][f"Ethnic group: {broad[b]}"]) for b in BROAD_GROUPS]
                                 for r in lsoas]).round().astype(np.int64),
        lsoa_lonlat=np.array([[float(r["lon"]), float(r["lat"])] for r in lsoas]),
        lsoa_area_km2=np.array([float(r["area_km2"]) for r in lsoas]),
    )  # fmt: skip


@functools.lru_cache(maxsize=1)
def msoa_areas() -> dict[str, tuple[str, str]]:
    """Every MSOA the data holds (the five areas'): code -> (its area's ONS code, the area's name), so that a code
    given for the wrong area can be named as another area's rather than as unknown."""
    with open(DATA / "ts001_usual_residents_msoa21.csv", newline="") as f:
        return {r["msoa21cd"]: (r["lad21cd"], r["lad21nm"]) for r in csv.DictReader(f)}
