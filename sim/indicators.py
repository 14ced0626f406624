"""The named indicators: pure functions of the state. These names are a stable contract for users' scripts."""

from __future__ import annotations

import numpy as np

from sim import kernels as K
from sim.background import BIG, Later
from sim.kernels import tie_counts
from sim.population import EMPLOYED

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


def compute(pop, nets, contacts: np.ndarray, spend: float = 0.0) -> dict:
    """The indicators of the current state; ``nets`` are the tie networks (everyday and programme).

    One compiled pass over the residents (``kernels.resident_counts``) gives every count the shares need; the
    ties of a large network are counted on a second thread meanwhile."""
    ties = [Later(len(n.alive) > BIG, tie_counts, n.alive, n.bridging, n.meet_thr, MONTHLY) for n in nets]
    s, a_n, b_n, a_s, b_s = K.resident_counts(pop.alive, pop.age, pop.main_english, pop.english, pop.status,
                                              contacts, pop.attitude, pop.group, pop.neighbourhood,
                                              pop.n_neighbourhoods, EMPLOYED, pop.school, pop.n_schools)
    counts = [t.result() for t in ties]
    n_ties, n_bridging = sum(c[0] for c in counts), sum(c[1] for c in counts)
    n_alive = int(s[K.ALIVE])
    return {
        "poor_english_share": _ratio(s[K.POOR_3], s[K.AGED_3]),
        "employment_rate": _ratio(s[K.EMPLOYED_16_64], s[K.AGED_16_64]),
        "employment_rate_poor_english": _ratio(s[K.EMPLOYED_POOR_16_64], s[K.POOR_16_64]),
        "bridging_tie_share": _ratio(n_bridging, n_ties),
        "isolation_share": _ratio(s[K.ISOLATED_18], s[K.ADULTS_18]),
        "intergroup_attitude": _ratio(s[K.ATTITUDE_SUM_16], s[K.AGED_16]),
        "residential_dissimilarity": dissimilarity(a_n, b_n),
        "school_dissimilarity": dissimilarity(a_s, b_s),
        "spend_gbp": float(spend),
        "n_residents": n_alive,
        "ties_per_resident": 2.0 * n_ties / max(n_alive, 1),
        "mean_english_other_language": _ratio(s[K.ENGLISH_SUM_OTHER_3], s[K.OTHER_LANGUAGE_3], empty=0.0),
        "n_poor_english": int(s[K.POOR_3]),
        "n_employed_16_64": int(s[K.EMPLOYED_16_64]),
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
