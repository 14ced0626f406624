"""The Census marginals of an area next to the same figures measured on a synthetic population (week 0).

Used by the population tests and printable for any area: ``python -m sim.marginals bradford 0.1``.
"""

from __future__ import annotations

import sys

import numpy as np

from sim.census import DETAILED_GROUPS
from sim.population import EMPLOYED, poor_english

AGE_BANDS = ((0, 4), (5, 15), (16, 24), (25, 49), (50, 64), (65, 200))


def census_targets(area: dict) -> dict:
    c = area["census"]
    pop = c["population"]
    age = np.asarray(c["age"], dtype=float)
    groups = list(area["model_groups"])
    eth = c["ethnicity"]
    out = {"population": pop, "households": c["households"]}
    for g in groups:
        out[f"group:{g}"] = eth[g] / sum(eth.values())
    out["group:other"] = 1 - sum(eth[g] for g in groups) / sum(eth.values())
    for lo, hi in AGE_BANDS:
        out[f"age:{lo}-{hi}"] = age[lo: hi + 1].sum() / age.sum()
    out["born_abroad"] = c["born_abroad"] / (c["born_abroad"] + c["born_uk"])
    e = c["economic_activity"]
    out["employed_16plus"] = e["employed"] / e["total_16plus"]
    p = c["proficiency"]
    out["poor_english_3plus"] = (p["not_well"] + p["not_at_all"]) / p["total_3plus"]
    out["female"] = c["sex"]["female"] / (c["sex"]["female"] + c["sex"]["male"])
    return out


def measured(pop) -> dict:
    a = pop.alive
    n = int(a.sum())
    age = pop.age[a]
    out = {"population": n,
           "households": int(np.unique(pop.household[a & ~pop.household_communal[np.maximum(pop.household, 0)]]).size)}
    for i, g in enumerate(pop.groups):
        out[f"group:{g}"] = float((pop.group[a] == i).mean())
    for lo, hi in AGE_BANDS:
        out[f"age:{lo}-{hi}"] = float(((age >= lo) & (age < hi + 1)).mean())
    out["born_abroad"] = float(pop.born_abroad[a].mean())
    adult = age >= 16
    out["employed_16plus"] = float((pop.status[a][adult] == EMPLOYED).mean())
    three = age >= 3
    poor = poor_english(pop.main_english[a], pop.english[a])
    out["poor_english_3plus"] = float(poor[three].mean())
    out["female"] = float(pop.female[a].mean())
    return out


def compare(area: dict, pop, scale: float) -> list[tuple[str, float, float]]:
    """(name, census, synthetic) rows; counts are scaled to the simulated fraction."""
    t, m = census_targets(area), measured(pop)
    rows = []
    for k, v in t.items():
        target = v * scale if k in ("population", "households") else v
        rows.append((k, target, m[k]))
    return rows


def main() -> None:
    from sim.config import load_area
    from sim.population import PopulationParams, generate

    name = sys.argv[1] if len(sys.argv) > 1 else "bradford"
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1
    area = load_area(name)
    pop = generate(area, scale, PopulationParams(), np.random.default_rng(1))
    print(f"{'marginal':24s} {'census':>12s} {'synthetic':>12s}")
    for k, t, v in compare(area, pop, scale):
        print(f"{k:24s} {t:12.4f} {v:12.4f}")
    print("detailed groups:", ", ".join(DETAILED_GROUPS[:3]), "...")


if __name__ == "__main__":
    main()
