"""The named indicators: pure functions of the state. These names are a stable contract for users' scripts."""

from __future__ import annotations

import numpy as np

from sim.population import EMPLOYED, dissimilarity

INDICATORS = (
    "poor_english_share",  # share of residents aged 3+ who cannot speak English well or at all
    "employment_rate",  # employed share of residents aged 16-64
    "employment_rate_poor_english",  # the same among those who cannot speak English well or at all
    "bridging_tie_share",  # share of non-household ties that join different ethnic groups
    "isolation_share",  # share of adults (18+) with no contact outside their household this week
    "intergroup_attitude",  # mean attitude of residents aged 16+, 0 (cold) to 1 (warm)
    "residential_dissimilarity",  # index of dissimilarity, largest group vs everyone else, across neighbourhoods
    "spend_gbp",  # cumulative spend on interventions
)
EXTRA = ("n_residents", "ties_per_resident", "mean_english_other_language", "n_poor_english", "n_employed_16_64",
         "n_bridging_ties")  # counts (at the simulated scale) for cost per outcome


def _share(mask, of) -> float:
    d = np.count_nonzero(of)
    return float(np.count_nonzero(mask & of) / d) if d else float("nan")


def compute(pop, nets, contacts: np.ndarray, spend: float = 0.0) -> dict:
    """The indicators of the current state; ``nets`` are the tie networks (everyday and programme)."""
    alive = pop.alive
    age = pop.age
    n_alive = np.count_nonzero(alive)
    poor = ~pop.main_english & (pop.english < 2.0) & alive
    working_age = alive & (age >= 16) & (age < 65)
    employed = pop.status == EMPLOYED
    n_ties = sum(np.count_nonzero(n.alive) for n in nets)
    n_bridging = sum(np.count_nonzero(n.bridging & n.alive) for n in nets)
    other_lang = alive & ~pop.main_english & (age >= 3)
    return {
        "poor_english_share": _share(poor, alive & (age >= 3)),
        "employment_rate": _share(employed, working_age),
        "employment_rate_poor_english": _share(employed, working_age & poor),
        "bridging_tie_share": float(n_bridging / n_ties) if n_ties else float("nan"),
        "isolation_share": _share(contacts == 0, alive & (age >= 18)),
        "intergroup_attitude": float(pop.attitude[alive & (age >= 16)].mean()),
        "residential_dissimilarity": dissimilarity(pop.neighbourhood[alive], (pop.group == 0)[alive],
                                                   pop.n_neighbourhoods),
        "spend_gbp": float(spend),
        "n_residents": int(n_alive),
        "ties_per_resident": 2.0 * n_ties / max(n_alive, 1),
        "mean_english_other_language": float(pop.english[other_lang].mean()) if other_lang.any() else 0.0,
        "n_poor_english": int(np.count_nonzero(poor & (age >= 3))),
        "n_employed_16_64": int(np.count_nonzero(employed & working_age)),
        "n_bridging_ties": int(n_bridging),
    }
