"""Study tables and their reductions, from the tidy table alone: final values, paired differences against the
baseline, medians with 10-90% bands, cost per outcome, programme medians. One place for every reduction the report,
the figures and the gathered sweeps use."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.costs import OUTCOMES, RATIO_NAMES
from sim.indicators import INDICATORS

KEY = ["area", "scenario", "replicate"]
LOW, HIGH = 0.1, 0.9  # the band shown everywhere: 10th to 90th percentile across replicates


def _q(x, q):
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    return float(np.quantile(x, q)) if len(x) else float("nan")


def final_rows(tidy: pd.DataFrame) -> pd.DataFrame:
    last = tidy.groupby(KEY)["week"].transform("max")
    return tidy[tidy["week"] == last].reset_index(drop=True)


def baseline_labels(tidy: pd.DataFrame) -> set:
    """Labels of the baseline runs: 'baseline', or in a gathered sweep one per context (see sim.gather)."""
    return set(tidy["pair_with"]) if "pair_with" in tidy else {"baseline"} & set(tidy["scenario"])


def paired_differences(tidy: pd.DataFrame) -> pd.DataFrame:
    """Each run minus its baseline (same area and replicate; in a sweep, the baseline of the same context),
    for every week and column. A table without a ``pair_with`` column pairs every run with 'baseline'."""
    cols = [c for c in tidy.columns if c not in KEY + ["week", "pair_with", "scale"]]
    left = tidy if "pair_with" in tidy else tidy.assign(pair_with="baseline")
    base = left[left["scenario"].isin(baseline_labels(tidy))].drop(columns=["pair_with"])
    base = base.rename(columns={"scenario": "pair_with"})
    merged = left.merge(base, on=["area", "replicate", "week", "pair_with"], suffixes=("", "_base"))
    out = merged[KEY + ["week"]].copy()
    for c in cols:
        out[c] = merged[c] - merged[f"{c}_base"]
    return out


def summarise(tidy: pd.DataFrame) -> pd.DataFrame:
    """Per area, scenario and indicator: the final value's median and 10-90% interval across replicates, and the
    paired difference against the baseline with its interval."""
    fin = final_rows(tidy)
    diff = final_rows(paired_differences(tidy)) if baseline_labels(tidy) else None
    rows = []
    for (area, scen), g in fin.groupby(["area", "scenario"], sort=False):
        d = diff[(diff["area"] == area) & (diff["scenario"] == scen)] if diff is not None else None
        for ind in INDICATORS:
            row = {"area": area, "scenario": scen, "indicator": ind, "replicates": len(g),
                   "median": _q(g[ind], 0.5), "p10": _q(g[ind], LOW), "p90": _q(g[ind], HIGH)}
            if d is not None and len(d):
                row.update({"diff_median": _q(d[ind], 0.5), "diff_p10": _q(d[ind], LOW),
                            "diff_p90": _q(d[ind], HIGH)})
            rows.append(row)
    return pd.DataFrame(rows)


def cost_table(tidy: pd.DataFrame, scale: float) -> pd.DataFrame:
    """Cost per outcome per area and scenario: spend over the paired gain (area-equivalent counts: simulated
    counts / scale, or a row's own ``scale`` in a gathered sweep), with the interval from the gain's 10-90%
    range. None where the scenario did not beat the baseline."""
    bases = baseline_labels(tidy)
    if not bases:
        return pd.DataFrame()
    diff = final_rows(paired_differences(tidy))
    fin = final_rows(tidy)
    rows = []
    for (area, scen), d in diff.groupby(["area", "scenario"], sort=False):
        if scen in bases:
            continue
        f = fin[(fin["area"] == area) & (fin["scenario"] == scen)]
        spend = _q(f["spend_gbp"], 0.5)
        run_scale = float(f["scale"].iloc[0]) if "scale" in f else scale  # a gathered sweep: per row
        row = {"area": area, "scenario": scen, "spend_gbp": spend}
        for gain, col, sign in OUTCOMES:
            g = sign * d[col].to_numpy(dtype=float) / run_scale
            med, lo, hi = _q(g, 0.5), _q(g, LOW), _q(g, HIGH)
            ratio = RATIO_NAMES[gain]
            row[gain] = med
            row[f"{gain}_p10"], row[f"{gain}_p90"] = lo, hi
            row[ratio] = spend / med if med > 0 and spend > 0 else None
            row[f"{ratio}_low"] = spend / hi if hi > 0 and spend > 0 else None
            row[f"{ratio}_high"] = spend / lo if lo > 0 and spend > 0 else None
        rows.append(row)
    return pd.DataFrame(rows)


def programme_table(programmes: pd.DataFrame) -> pd.DataFrame:
    """Per area, scenario and programme: the median across replicates of budget, spend, places and the rest."""
    if not len(programmes):
        return pd.DataFrame()
    return (programmes.groupby(["area", "scenario", "intervention"], sort=False)
            .median(numeric_only=True).drop(columns="replicate", errors="ignore").reset_index())
