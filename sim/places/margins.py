"""How close a synthetic population lands on each MSOA's own Census tables: for each table, the synthetic counts
per MSOA and category against the published ones scaled to the population's size, summarised as the total
absolute error over all cells as a share of the residents counted (TAE / n, the usual measure of fit in spatial
microsimulation: Lovelace & Dumont 2016, *Spatial Microsimulation with R*, ch. 6), and the largest MSOA's share.
It also gives the residential index of dissimilarity (White British against everyone else) beside the Census's."""

from __future__ import annotations

import numpy as np

from sim.fitting import dissimilarity_of_counts
from sim.places import AGES, PROFICIENCY, places

AGE_BANDS = (0, 5, 10, 16, 25, 35, 50, 65, 75, AGES)  # TS007's single years compared in these bands


def _tables(pop) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per table: (synthetic MSOAs x categories, published MSOAs x categories)."""
    pl = places(pop.ons_code)
    a = pop.alive
    nz = pop.n_neighbourhoods
    nb = pop.neighbourhood[a].astype(np.int64)

    def cross(cat, k, keep=None):
        m = np.ones(len(nb), dtype=bool) if keep is None else keep
        return np.bincount(nb[m] * k + cat[m], minlength=nz * k).reshape(nz, k)

    bands = np.asarray(AGE_BANDS)
    age_band = np.searchsorted(bands, np.floor(pop.age[a]), side="right") - 1
    pub_age = np.add.reduceat(pl.age, bands[:-1], axis=1)
    age3 = pop.age[a] >= 3
    english = pop.english[a]
    prof = np.where(pop.main_english[a], 0, np.clip(4 - np.floor(english).astype(np.int64), 1, 4))
    out = {
        "residents": (np.bincount(nb, minlength=nz)[:, None], pl.residents[:, None]),
        "ethnic group (TS021)": (cross(pop.detailed[a].astype(np.int64), pl.ethnicity.shape[1]), pl.ethnicity),
        "age (TS007, bands)": (cross(age_band, len(bands) - 1), pub_age),
        "proficiency in English (TS029, aged 3+)": (cross(prof, len(PROFICIENCY), age3), pl.proficiency),
    }
    if hasattr(pop, "religion"):
        out["religion (TS030)"] = (cross(pop.religion[a].astype(np.int64), pl.religion.shape[1]), pl.religion)
    return out


def margins(pop) -> list[dict]:
    """One row per table: TAE / n over all MSOAs, the worst MSOA's, and the number of cells."""
    rows = []
    for name, (got, pub) in _tables(pop).items():
        expected = pub / max(pub.sum(), 1) * got.sum()
        err = np.abs(got - expected)
        per_msoa = err.sum(axis=1) / np.maximum(got.sum(axis=1), 1)
        rows.append({"table": name, "residents": int(got.sum()), "cells": int(got.size),
                     "tae_share": float(err.sum() / max(got.sum(), 1)), "worst_msoa_share": float(per_msoa.max())})
    return rows


def dissimilarity(pop) -> tuple[float, float]:
    """(the population's, the Census's) index of dissimilarity across MSOAs, White British against the rest."""
    a = pop.alive
    wb = np.bincount(pop.neighbourhood[a][pop.detailed[a] == 0], minlength=pop.n_neighbourhoods)
    rest = np.bincount(pop.neighbourhood[a][pop.detailed[a] != 0], minlength=pop.n_neighbourhoods)
    e = places(pop.ons_code).ethnicity
    return dissimilarity_of_counts(wb, rest), dissimilarity_of_counts(e[:, 0], e.sum(axis=1) - e[:, 0])
