"""Where the outcomes are: the residents' counts behind the headline indicators, per MSOA (additive, so runs can
be summed, paired and scaled to the area; shares are worked out when shown). Ties are counted at both ends: a tie
between residents of two MSOAs counts half in each (``tie_ends``: ties per resident = tie_ends / residents)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.columns import EMPLOYED, POOR_ENGLISH_BELOW
from sim.places import places

COUNTS = ("residents", "aged_3plus", "poor_english", "aged_16_64", "employed_16_64", "tie_ends", "bridging_tie_ends")
MONTHLY = 12 / 52  # a tie counts if it meets at least monthly, as in sim.indicators


def by_msoa(pop, nets) -> dict[str, np.ndarray]:
    """Each count of :data:`COUNTS` per MSOA (arrays in the order of the area's codes)."""
    a = pop.alive
    nz = pop.n_neighbourhoods
    nb = pop.neighbourhood
    age = pop.age

    def count(mask):
        return np.bincount(nb[mask], minlength=nz).astype(np.float64)

    three = a & (age >= 3)
    working = a & (age >= 16) & (age < 65)
    out = {"residents": count(a), "aged_3plus": count(three),
           "poor_english": count(three & ~pop.main_english & (pop.english < POOR_ENGLISH_BELOW)),
           "aged_16_64": count(working), "employed_16_64": count(working & (pop.status == EMPLOYED))}
    ends = np.zeros(nz)
    bridging = np.zeros(nz)
    for net in nets:
        live = net.alive & (1.0 - net.meet_thr >= MONTHLY)
        for side in (net.a, net.b):
            z = nb[side[live]]
            ends += 0.5 * np.bincount(z, minlength=nz)
            bridging += 0.5 * np.bincount(z[net.bridging[live]], minlength=nz)
    out["tie_ends"], out["bridging_tie_ends"] = ends, bridging
    return out


def table(pop, counts_by_week: dict[int, dict]) -> pd.DataFrame:
    """One row per MSOA and recorded week: its code, name and counts."""
    pl = places(pop.ons_code)
    return pd.concat([pd.DataFrame({"week": week, "msoa": pl.codes, "name": pl.names, **counts})
                      for week, counts in counts_by_week.items()], ignore_index=True)


def shares(t: pd.DataFrame) -> pd.DataFrame:
    """The counts as the indicators' shares: poor English (aged 3+), employment rate (16-64), bridging ties."""
    return t.assign(poor_english_share=t.poor_english / t.aged_3plus.where(t.aged_3plus > 0),
                    employment_rate=t.employed_16_64 / t.aged_16_64.where(t.aged_16_64 > 0),
                    bridging_tie_share=t.bridging_tie_ends / t.tie_ends.where(t.tie_ends > 0))
