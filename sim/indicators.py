"""The named indicators: pure functions of the state. These names are a stable contract for users' scripts."""

from __future__ import annotations

import numba
import numpy as np

from sim.kernels import row
from sim.population import EMPLOYED, POOR_ENGLISH_BELOW
from sim.speed.background import BIG, Later

INDICATORS = (
    "poor_english_share",  # share of residents aged 3+ who cannot speak English well or at all
    "employment_rate",  # employed share of residents aged 16-64
    "employment_rate_poor_english",  # the same among those who cannot speak English well or at all
    "bridging_tie_share",  # share of non-household ties meeting at least monthly that join different ethnic groups
    "isolation_share",  # share of adults (18+) with no contact outside their household this week
    "intergroup_attitude",  # mean attitude of residents aged 16+, 0 (cold) to 1 (warm)
    "residential_dissimilarity",  # index of dissimilarity, largest group vs everyone else, across neighbourhoods
    "school_dissimilarity",  # the same index across schools, among pupils
    "spend_gbp",  # cumulative spend on interventions
)
# a tie counts (in bridging_tie_share, ties_per_resident and n_bridging_ties) if the two meet at least monthly:
# a weekly chance of meeting of 12 in 52 or more. Acquaintances seen twice a year are not what the indicators mean
MONTHLY = 12 / 52

EXTRA = ("n_residents", "ties_per_resident", "mean_english_other_language", "n_poor_english", "n_employed_16_64",
         "n_bridging_ties")  # counts (at the simulated scale) for cost per outcome


def _ratio(num, den, empty=float("nan")) -> float:
    return float(num / den) if den else empty


def dissimilarity(a: np.ndarray, b: np.ndarray) -> float:
    """Index of dissimilarity between two groups' counts across units (0 = every unit has the overall mix, 1 =
    complete separation); 0 if either group is absent."""
    sa, sb = a.sum(), b.sum()
    return 0.5 * float(np.abs(a / sa - b / sb).sum()) if sa > 0 and sb > 0 else 0.0


# the sums resident_counts returns, by position (compiled code indexes them with these constants)
(ALIVE, AGED_3, POOR_3, AGED_16_64, EMPLOYED_16_64, POOR_16_64, EMPLOYED_POOR_16_64, ADULTS_18, ISOLATED_18, AGED_16,
 ATTITUDE_SUM_16, OTHER_LANGUAGE_3, ENGLISH_SUM_OTHER_3) = range(13)


@numba.njit(cache=True, nogil=True)
def resident_counts(alive, age, main_english, english, status, contacts, attitude, group, neighbourhood, n_neigh,
                    employed_code, school, n_schools):  # pragma: no cover - compiled
    """One pass over residents for the indicators: returns (sums, largest group per neighbourhood, others per
    neighbourhood, pupils of the largest group per school, other pupils per school). sums: alive, aged 3+, poor
    English 3+, 16-64, employed 16-64, 16-64 poor English, employed 16-64 poor English, adults 18+, isolated
    adults, aged 16+, attitude sum 16+, other main language 3+, English sum of those. The counts are kept in local
    integers and the two float sums in local float64 accumulators, added in row order."""
    # branch-free (ages, groups and schools follow no order a branch could predict): a count adds a condition, a
    # float sum adds its (finite) value times 0 or 1, so 0.0 where the condition fails, which leaves it as it was
    # (the numbers of the branching form; a conditional expression compiled to a mispredicted branch, 0.20 against
    # 0.16 ms for Bradford 0.05's 29k rows);
    # residents of the largest group (row 0) and the rest (row 1) per neighbourhood and per school (column
    # n_schools: no school)
    by_n = np.zeros((2, n_neigh))
    by_s = np.zeros((2, n_schools + 1))
    n_alive = n3 = poor3 = n1664 = emp1664 = poor1664 = emppoor1664 = n18 = iso18 = n16 = other3 = 0
    att16 = 0.0
    eng_other3 = 0.0
    for i in range(alive.shape[0]):
        if not alive[i]:
            continue
        x = age[i]
        me = main_english[i]
        poor = (not me) & (english[i] < POOR_ENGLISH_BELOW)  # population.poor_english, compiled
        n_alive += 1
        g = np.int64(group[i] != 0)
        by_n[g, row(neighbourhood[i])] += 1
        sc = np.int64(school[i])
        by_s[g, row(sc if (sc >= 0) & (sc < n_schools) else n_schools)] += 1
        a3 = x >= 3
        o3 = a3 & (not me)
        n3 += a3
        poor3 += a3 & poor
        other3 += o3
        eng_other3 += np.float64(english[i]) * np.float64(o3)
        w = (x >= 16) & (x < 65)
        emp = status[i] == employed_code
        n1664 += w
        emp1664 += w & emp
        poor1664 += w & poor
        emppoor1664 += w & poor & emp
        a16 = x >= 16
        n16 += a16
        att16 += np.float64(attitude[i]) * np.float64(a16)
        a18 = x >= 18
        n18 += a18
        iso18 += a18 & (contacts[i] == 0)
    a_n, b_n = by_n[0].copy(), by_n[1].copy()
    a_s, b_s = by_s[0, :n_schools].copy(), by_s[1, :n_schools].copy()
    # in the order of the constants ALIVE .. ENGLISH_SUM_OTHER_3
    s = np.array([float(n_alive), float(n3), float(poor3), float(n1664), float(emp1664), float(poor1664),
                  float(emppoor1664), float(n18), float(iso18), float(n16), att16, float(other3), eng_other3])
    return s, a_n, b_n, a_s, b_s


@numba.njit(cache=True, nogil=True)
def tie_counts(alive, bridging, meet_thr, rarest):  # pragma: no cover - compiled
    """(ties, bridging ties) among live ties that meet at least as often as ``rarest`` (a weekly chance of
    meeting; a tie meets when its uniform is at least meet_thr, so its chance is 1 - meet_thr). Branch-free."""
    n = 0
    nb = 0
    for k in range(alive.shape[0]):
        c = alive[k] & (1.0 - meet_thr[k] >= rarest)
        n += c
        nb += c & bridging[k]
    return n, nb



def compute(pop, nets, contacts: np.ndarray, spend: float = 0.0) -> dict:
    """The indicators of the current state; ``nets`` are the tie networks (everyday and programme).

    One compiled pass over the residents (:func:`resident_counts`) gives every count the shares need; the
    ties of a large network are counted on a second thread meanwhile."""
    ties = [Later(len(n.alive) > BIG, tie_counts, n.alive, n.bridging, n.meet_thr, MONTHLY) for n in nets]
    s, a_n, b_n, a_s, b_s = resident_counts(pop.alive, pop.age, pop.main_english, pop.english, pop.status,
                                            contacts, pop.attitude, pop.group, pop.neighbourhood,
                                            pop.n_neighbourhoods, EMPLOYED, pop.school, pop.n_schools)
    counts = [t.result() for t in ties]
    n_ties, n_bridging = sum(c[0] for c in counts), sum(c[1] for c in counts)
    n_alive = int(s[ALIVE])
    return {
        "poor_english_share": _ratio(s[POOR_3], s[AGED_3]),
        "employment_rate": _ratio(s[EMPLOYED_16_64], s[AGED_16_64]),
        "employment_rate_poor_english": _ratio(s[EMPLOYED_POOR_16_64], s[POOR_16_64]),
        "bridging_tie_share": _ratio(n_bridging, n_ties),
        "isolation_share": _ratio(s[ISOLATED_18], s[ADULTS_18]),
        "intergroup_attitude": _ratio(s[ATTITUDE_SUM_16], s[AGED_16]),
        "residential_dissimilarity": dissimilarity(a_n, b_n),
        "school_dissimilarity": dissimilarity(a_s, b_s),
        "spend_gbp": float(spend),
        "n_residents": n_alive,
        "ties_per_resident": 2.0 * n_ties / max(n_alive, 1),
        "mean_english_other_language": _ratio(s[ENGLISH_SUM_OTHER_3], s[OTHER_LANGUAGE_3], empty=0.0),
        "n_poor_english": int(s[POOR_3]),
        "n_employed_16_64": int(s[EMPLOYED_16_64]),
        "n_bridging_ties": int(n_bridging),
    }

# what each indicator means, for figures and reports: name -> (title, unit)
LABELS = {
    "poor_english_share": ("Cannot speak English well or at all", "share of residents aged 3+"),
    "employment_rate": ("Employment rate", "share of residents aged 16-64"),
    "employment_rate_poor_english": ("Employment rate, poor English", "share of 16-64 with poor English"),
    "bridging_tie_share": ("Bridging ties", "share of ties outside the household meeting at least monthly"),
    "isolation_share": ("Isolated this week", "share of adults 18+"),
    "intergroup_attitude": ("Intergroup attitude", "mean, 0 (cold) to 1 (warm)"),
    "residential_dissimilarity": ("Residential dissimilarity", "index D, largest group vs rest"),
    "school_dissimilarity": ("School dissimilarity", "index D across schools, largest group vs rest, pupils"),
    "spend_gbp": ("Cumulative spend", "GBP"),
}
