"""The residents' columnar state: the population's columns, each declared once (``Column``: its dtype and its
value in spare rows, at birth, on arrival and at week 0), in one table, ``COLUMN_SPECS`` (the population's own
columns, below, then those each weekly rule declares, added by ``sim.processes.register``); ``Population``, whose
arrays are those columns; growing it, and filling the rows of arrivals and babies; and the codes the columns use.
``sim.population`` builds a Population from the Census (and re-exports these names).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

# Economic status codes (TS066 categories; children under 16 have CHILD).
CHILD, EMPLOYED, UNEMPLOYED, STUDENT, HOME, RETIRED, SICK, OTHER = range(8)
# Census TS029 "cannot speak English well or at all": proficiency below 'well' (2 on the 0-4 scale)
POOR_ENGLISH_BELOW = 2.0


def poor_english(main_english, english):
    """Cannot speak English well or at all (Census TS029); arrays or one resident's values. The one definition."""
    return np.logical_and(np.logical_not(main_english), english < POOR_ENGLISH_BELOW)
STATUS_NAMES = ("child", "employed", "unemployed", "student", "looking_after_home", "retired", "long_term_sick",
                "other_inactive")  # fmt: skip
NO_SETTING = -1


@dataclasses.dataclass(frozen=True)
class Column:
    """One population column, declared once: its ``dtype``; its value in unused rows (``missing``); at birth
    (``"mother"``: the mother's; a constant; or ``f(pop, rows, rng)``); for a resident arriving in the area
    (``"donor"``: copied from the week-0 template resident; ``"placed"``: set by where they move in); at week 0,
    for a column the generator does not build (``start``: the live rows' value; None: ``missing``); and what it
    means (``doc``: also the docstring of the :class:`sim.agents.Resident` attribute of that name). Which weekly
    rule changes the column is declared by that rule (``Rule.owns``)."""

    dtype: Any
    missing: Any = 0
    birth: Any = "mother"
    arrival: str = "donor"
    start: Any = None
    doc: str = ""


# the columns of the population itself (who lives where, from the Census); a weekly rule declares the columns it
# brings (``Rule.columns``: English in ``processes/language.py``, status in ``employment.py``, ...), and
# ``sim.processes`` adds them to COLUMN_SPECS
BASE_COLUMNS = {
    "alive": Column(bool, missing=False, birth=True, doc="row in use by a resident"),
    "age": Column(np.float32, birth=0.0, doc="age in years"),
    "female": Column(bool, birth=lambda pop, rows, rng: rng.random(len(rows)) < 0.488,  # ONS sex ratio at birth
                     doc="True for women (TS008)"),
    "group": Column(np.int8, doc="model ethnic group (index into Population.groups)"),
    "detailed": Column(np.int8, doc="detailed ethnic group (index into DETAILED_GROUPS, TS021)"),
    "born_abroad": Column(bool, birth=False, doc="born outside the UK (TS004)"),
    "years_in_uk": Column(np.float32, birth=0.0, doc="years lived in the UK (age, if UK-born)"),
    "main_english": Column(bool, doc="main language is English (TS029)"),
    "religion": Column(np.int8, doc="religion (index into sim.places.RELIGIONS, TS030); a baby's is their mother's"),
    "household": Column(np.int32, missing=NO_SETTING, arrival="placed", doc="household id"),
    "neighbourhood": Column(np.int16, arrival="placed",
                           doc="neighbourhood: the MSOA (index into the area's codes, sim.places)"),
    "school": Column(np.int32, missing=NO_SETTING, birth=NO_SETTING, arrival="placed", doc="school id, -1 if none"),
    "venue": Column(np.int32, missing=NO_SETTING, birth=NO_SETTING, arrival="placed",
                    doc="community venue id, -1 if none"),
    "intake_pos": Column(np.float32, missing=-1.0, birth=-1.0,
                         doc="the drawn position (0-1) of a school place by lottery along the places of the phase's "
                             "schools, or -1: none (the mixed-intakes policy draws it for the pupils it reaches)"),
}

# every column, in one table (the population's own, then each rule's, in the rules' order): the population's
# arrays, ``grow``, arrivals, births and Resident's attributes follow it
COLUMN_SPECS: dict = dict(BASE_COLUMNS)


@dataclasses.dataclass
class Population:
    """Columnar resident state: one array per column of COLUMN_SPECS (``pop.english``, ...), preallocated to
    ``capacity`` rows; ``alive`` marks rows in use. ``columns``: the arrays the generator built, by name; every
    other declared column starts at its declared value."""

    area: str
    groups: tuple  # model groups: detailed groups of >= 2% plus "other"
    household_neighbourhood: np.ndarray
    household_communal: np.ndarray
    n_neighbourhoods: int  # the area's MSOAs (sim.places), in the order of their codes
    ons_code: str = ""  # the area's ONS code, which names its MSOAs
    household_lsoa: np.ndarray = None  # each household's LSOA (index into the area's, sim.places), for its home
    n_workplaces: int = 0
    n_schools: int = 0
    n_venues: int = 0
    schools: Any = None  # the area's schools and their places (sim.school_choice.SchoolSetting)
    worship: Any = None  # per religion and MSOA: its first place of worship and how many (sim.venues)
    n_worship: int = 0
    columns: dataclasses.InitVar[dict] = None

    COLUMNS = tuple(BASE_COLUMNS)  # the names of COLUMN_SPECS (kept up to date by declare_columns)

    def __post_init__(self, columns: dict) -> None:
        capacity = len(columns["alive"])
        for c, a in columns.items():
            spec = COLUMN_SPECS.get(c)
            if spec is None or a.dtype != np.dtype(spec.dtype) or len(a) != capacity:
                raise TypeError(f"population column '{c}' is not declared as built (import sim.processes, whose "
                                f"rules declare their columns, before making a population)")
            setattr(self, c, a)
        for c, spec in COLUMN_SPECS.items():
            if c not in columns:
                a = np.full(capacity, spec.missing, dtype=spec.dtype)
                if spec.start is not None:
                    a[self.alive] = spec.start
                setattr(self, c, a)

    @property
    def n(self) -> int:
        return int(self.alive.sum())

    @property
    def capacity(self) -> int:
        return len(self.alive)

    def copy_columns(self) -> dict:
        return {c: getattr(self, c).copy() for c in self.COLUMNS}


def declare_columns(columns: dict) -> None:
    """Add a rule's columns to COLUMN_SPECS (``sim.processes.register`` calls this for each rule)."""
    global _BIRTH_PLAN
    taken = set(columns) & set(COLUMN_SPECS)
    if taken:
        raise TypeError(f"population column '{sorted(taken)[0]}' is declared twice")
    COLUMN_SPECS.update(columns)
    Population.COLUMNS = tuple(COLUMN_SPECS)
    _BIRTH_PLAN = _birth_plan()


def grow(pop: Population, capacity: int) -> None:
    """Room for more residents: every column extended to ``capacity`` with its missing value."""
    for c, spec in COLUMN_SPECS.items():
        old = getattr(pop, c)
        new = np.full(capacity, spec.missing, dtype=old.dtype)
        new[: len(old)] = old
        setattr(pop, c, new)


def fill_arrivals(pop: Population, rows: np.ndarray, source: dict, src: np.ndarray) -> None:
    """Arriving residents copy the columns of their template residents (``source`` columns at rows ``src``);
    where they live and what they attend are left missing, for the move to place them."""
    for c, spec in COLUMN_SPECS.items():
        getattr(pop, c)[rows] = source[c][src] if spec.arrival == "donor" else spec.missing


def fill_births(pop: Population, rows: np.ndarray, mothers: np.ndarray, rng) -> None:
    """Babies: first what they take from their mother, then fixed values, then drawn or derived ones (in table
    order, so the draws come in a fixed order)."""
    mother, fixed, made = _BIRTH_PLAN
    for c in mother:
        getattr(pop, c)[rows] = getattr(pop, c)[mothers]
    for c, value in fixed:
        getattr(pop, c)[rows] = value
    for c, birth in made:
        getattr(pop, c)[rows] = birth(pop, rows, rng)


def _birth_plan():
    """The column table's births sorted into (from the mother, fixed, drawn or derived), each in table order."""
    return (
        [c for c, spec in COLUMN_SPECS.items() if isinstance(spec.birth, str) and spec.birth == "mother"],
        [(c, spec.birth) for c, spec in COLUMN_SPECS.items()
         if not callable(spec.birth) and not isinstance(spec.birth, str)],
        [(c, spec.birth) for c, spec in COLUMN_SPECS.items() if callable(spec.birth)],
    )


_BIRTH_PLAN = _birth_plan()
