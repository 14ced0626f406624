"""Study tables and their reductions, from the tidy table alone: final values, paired differences against the
baseline, medians with 10-90% bands, cost per outcome, programme medians. One place for every reduction the report,
the figures and the gathered sweeps use."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.costs import OUTCOMES, RATIO_NAMES, why_no_cost
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
    cols = [c for c in tidy.columns if c not in KEY + ["week", "pair_with", "scale", "parameter_set"]
            and pd.api.types.is_numeric_dtype(tidy[c])]
    left = tidy if "pair_with" in tidy else tidy.assign(pair_with="baseline")
    base = left[left["scenario"].isin(baseline_labels(tidy))].drop(columns=["pair_with"])
    base = base.rename(columns={"scenario": "pair_with"})
    merged = left.merge(base, on=["area", "replicate", "week", "pair_with"], suffixes=("", "_base"))
    out = merged[KEY + ["week"] + (["parameter_set"] if "parameter_set" in merged else [])].copy()
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
    range; only for a gain that is there, and otherwise ``why_no_<ratio>`` says why not (sim.costs.why_no_cost)."""
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
            g = sign * d[col].to_numpy(dtype=float) / run_scale + 0.0  # (no -0 in the table)
            med, lo, hi = _q(g, 0.5), _q(g, LOW), _q(g, HIGH)
            ratio = RATIO_NAMES[gain]
            row[gain] = med
            row[f"{gain}_p10"], row[f"{gain}_p90"] = lo, hi
            why = why_no_cost(g, run_scale, spend, lo)
            row[ratio] = spend / med if why is None else np.nan
            row[f"{ratio}_low"] = spend / hi if why is None else np.nan
            row[f"{ratio}_high"] = spend / lo if why is None else np.nan
            row[f"why_no_{ratio}"] = why or ""
        rows.append(row)
    return pd.DataFrame(rows)


def programme_table(programmes: pd.DataFrame) -> pd.DataFrame:
    """Per area, scenario and programme: the median across replicates of budget, spend, places and the rest."""
    if not len(programmes):
        return pd.DataFrame()
    return (programmes.groupby(["area", "scenario", "intervention"], sort=False)
            .median(numeric_only=True).drop(columns="replicate", errors="ignore").reset_index())


def gains(tidy: pd.DataFrame, scale: float) -> pd.DataFrame:
    """One row per area, scenario and replicate at the end: each outcome's paired gain over the baseline
    (area-equivalent counts, sign so that more is better), the spend, and the parameter set the replicate ran."""
    bases = baseline_labels(tidy)
    if not bases:
        return pd.DataFrame()
    diff = final_rows(paired_differences(tidy))
    fin = final_rows(tidy).set_index(KEY)
    diff = diff[~diff["scenario"].isin(bases)]
    out = diff[KEY + (["parameter_set"] if "parameter_set" in diff else [])].copy()
    idx = pd.MultiIndex.from_frame(diff[KEY])
    run_scale = fin["scale"].reindex(idx).to_numpy(float) if "scale" in fin else scale
    for gain, col, sign in OUTCOMES:
        out[gain] = sign * diff[col].to_numpy(float) / run_scale
    out["spend_gbp"] = fin["spend_gbp"].reindex(idx).to_numpy(float)
    return out.reset_index(drop=True)


def _paired(g: pd.DataFrame):
    """(area, outcome, wide) for every area and outcome: the gains as one row per replicate and one column per
    scenario, replicates missing any scenario dropped (so every comparison is paired)."""
    for area, a in g.groupby("area", sort=False):
        for gain, _, _ in OUTCOMES:
            wide = a.pivot_table(index="replicate", columns="scenario", values=gain, sort=False).dropna()
            if not wide.empty:
                yield area, gain, wide


def decision_table(g: pd.DataFrame, margins: dict | None = None) -> pd.DataFrame:
    """Per area, outcome and scenario: the chance (share of paired replicates: same seed and parameter set) that
    the scenario gives the largest gain of those compared, and that it beats the baseline by at least ``margins``
    [outcome] (0 by default)."""
    margins = margins or {}
    rows = []
    for area, gain, wide in _paired(g):
        top = wide.to_numpy().max(axis=1, keepdims=True)
        ties = (wide.to_numpy() == top).sum(axis=1, keepdims=True)
        best = ((wide.to_numpy() == top) / ties).mean(axis=0)  # a tie shares the win
        m = float(margins.get(gain, 0.0))
        for j, scen in enumerate(wide.columns):
            rows.append({"area": area, "outcome": gain, "scenario": scen, "replicates": len(wide),
                         "p_best": float(best[j]), "margin": m, "p_beats_baseline": float((wide[scen] > m).mean())})
    return pd.DataFrame(rows)


def head_to_head(g: pd.DataFrame) -> pd.DataFrame:
    """Per area and outcome, for every ordered pair of scenarios (the baseline included, at gain 0): the chance that
    the first gives a larger gain than the second, over paired replicates (same seed and parameter set). Ties
    count half."""
    rows = []
    for area, gain, wide in _paired(g):
        wide = wide.assign(baseline=0.0)
        for s in wide.columns:
            for o in wide.columns:
                if s != o:
                    x, y = wide[s].to_numpy(), wide[o].to_numpy()
                    rows.append({"area": area, "outcome": gain, "scenario": s, "against": o, "replicates": len(wide),
                                 "p_larger_gain": float(((x > y) + 0.5 * (x == y)).mean())})
    return pd.DataFrame(rows)


def variance_split(values, groups) -> dict:
    """Split the variance of ``values`` (one per replicate) into parameters and chance, from replicates that share
    a parameter set (``groups``): a one-way random-effects analysis of variance. Chance is the mean variance within
    a set; parameters is the variance of set means less the chance it contains (never below zero)."""
    v = np.asarray(values, float)
    g = np.asarray(groups)
    sets = [v[g == k] for k in dict.fromkeys(g)]
    sizes = np.array([len(s) for s in sets])
    if len(sets) < 2 or sizes.min() < 2:
        return {"parameters": np.nan, "chance": np.nan, "parameter_share": np.nan}
    chance = float(np.mean([np.var(s, ddof=1) for s in sets]))
    between = float(np.var([s.mean() for s in sets], ddof=1))
    params = max(between - chance / float(np.mean(sizes)), 0.0)
    total = params + chance
    return {"parameters": params, "chance": chance, "parameter_share": params / total if total > 0 else np.nan}


def variance_table(g: pd.DataFrame) -> pd.DataFrame:
    """Per area, scenario and outcome: how much of the spread of the gain comes from the parameters and how much
    from chance (replicates sharing a parameter set; see variance_split)."""
    if "parameter_set" not in g or g["parameter_set"].nunique() < 2:
        return pd.DataFrame()
    rows = []
    for (area, scen), d in g.groupby(["area", "scenario"], sort=False):
        for gain, _, _ in OUTCOMES:
            split = variance_split(d[gain], d["parameter_set"])
            rows.append({"area": area, "scenario": scen, "outcome": gain, "sd_total": float(np.std(d[gain], ddof=1)),
                         "sd_parameters": np.sqrt(split["parameters"]), "sd_chance": np.sqrt(split["chance"]),
                         "parameter_share": split["parameter_share"]})
    return pd.DataFrame(rows)


VALUES_PER_OUTCOME = np.unique(np.round(np.geomspace(10, 1e6, 41), -1))  # GBP the payer would give per unit


def acceptability(g: pd.DataFrame, values=VALUES_PER_OUTCOME) -> pd.DataFrame:
    """The cost-effectiveness acceptability curve per area and outcome: for each value a payer puts on one unit of
    the outcome, the chance that each option (doing nothing included) has the largest net benefit, value x gain
    - spend, over the paired replicates."""
    rows = []
    for area, a in g.groupby("area", sort=False):
        for gain, _, _ in OUTCOMES:
            wide = a.pivot_table(index="replicate", columns="scenario", values=gain, sort=False).dropna()
            spend = a.pivot_table(index="replicate", columns="scenario", values="spend_gbp", sort=False)
            spend = spend.reindex(index=wide.index, columns=wide.columns)
            if wide.empty:
                continue
            options = ["baseline", *wide.columns]
            for v in values:
                nb = np.column_stack([np.zeros(len(wide)), v * wide.to_numpy() - spend.to_numpy()])
                top = nb.max(axis=1, keepdims=True)
                win = ((nb == top) / (nb == top).sum(axis=1, keepdims=True)).mean(axis=0)
                rows += [{"area": area, "outcome": gain, "value_gbp": float(v), "option": o, "p_most_cost_effective":
                          float(w)} for o, w in zip(options, win)]
    return pd.DataFrame(rows)


def persistence(tidy: pd.DataFrame, end_week: int, scale: float) -> pd.DataFrame:
    """Per area, scenario and outcome: the median paired gain when spending stops (``end_week``) and at the end of
    the run, and the share of it still there (median gain at the end / median gain when spending stopped)."""
    bases = baseline_labels(tidy)
    if not bases:
        return pd.DataFrame()
    diff = paired_differences(tidy)
    diff = diff[~diff["scenario"].isin(bases)]
    last = int(diff["week"].max())
    rows = []
    for (area, scen), d in diff.groupby(["area", "scenario"], sort=False):
        at_end, final = d[d["week"] == end_week], d[d["week"] == last]
        for gain, col, sign in OUTCOMES:
            a, f = _q(sign * at_end[col] / scale, 0.5), _q(sign * final[col] / scale, 0.5)
            rows.append({"area": area, "scenario": scen, "outcome": gain, "spending_stops_week": end_week,
                         "gain_when_spending_stops": a, "run_ends_week": last, "gain_at_run_end": f,
                         "share_persisting": f / a if a > 0 else np.nan})
    return pd.DataFrame(rows)


def response(tidy: pd.DataFrame, key: str, scale: float) -> pd.DataFrame:
    """A swept numeric key against each outcome's paired gain: per area and value, the median and 10-90% interval
    across replicates (the response curve of a budget sweep)."""
    g = gains(tidy, scale)
    if not len(g) or key not in tidy:
        return pd.DataFrame()
    value = tidy.drop_duplicates("scenario").set_index("scenario")[key]
    g[key] = g["scenario"].map(value)
    g = g[pd.to_numeric(g[key], errors="coerce").notna()]
    rows = []
    for (area, x), d in g.groupby(["area", key], sort=True):
        row = {"area": area, key: float(x), "replicates": len(d)}
        for gain, _, _ in OUTCOMES:
            row[gain], row[f"{gain}_p10"], row[f"{gain}_p90"] = (_q(d[gain], 0.5), _q(d[gain], LOW),
                                                                 _q(d[gain], HIGH))
        rows.append(row)
    return pd.DataFrame(rows)


# each headline outcome's count column (sim.costs.OUTCOMES) and the same count per MSOA (sim.places.outcomes)
MSOA_COUNT = {"n_poor_english": "poor_english", "n_employed_16_64": "employed_16_64",
              "n_bridging_ties": "bridging_tie_ends"}
MSOA_KEY = ["area", "scenario", "week", "ons_code", "msoa", "name"]


def msoa_table(runs: pd.DataFrame, scale: float) -> pd.DataFrame:
    """Where the outcomes are (msoa.csv), from every run's counts per MSOA (experiments.runner.msoa_rows): per
    area, scenario, recorded week and MSOA, each count's median across replicates scaled to the area (counts /
    scale), the shares' medians (sim.places.outcomes.shares, run by run), and at the last week, for each scenario
    but the baseline, the paired gain per MSOA over the baseline of the same replicate: the study's headline
    outcomes (sim.costs.OUTCOMES, area-equivalent counts, more is better), median with the 10-90% interval. The
    MSOAs' counts add up to the area's, so the gains of an area's MSOAs add up to its gain run by run."""
    from sim.places.outcomes import COUNTS, shares

    runs = shares(runs)
    rates = [c for c in runs.columns if c.endswith(("_share", "_rate"))]
    g = runs.groupby(MSOA_KEY, sort=False)
    out = g[list(COUNTS)].median() / scale
    out[rates] = g[rates].median()
    out.insert(0, "replicates", g["replicate"].nunique())
    out = out.reset_index()
    if "baseline" not in set(runs["scenario"]):
        return out
    fin = runs[runs["week"] == runs.groupby(KEY)["week"].transform("max")]
    cols = list(MSOA_COUNT.values())
    base = fin[fin["scenario"] == "baseline"][["area", "replicate", "week", "msoa", *cols]]
    paired = fin[fin["scenario"] != "baseline"].merge(base, on=["area", "replicate", "week", "msoa"],
                                                      suffixes=("", "_base"))
    names = [gain for gain, _, _ in OUTCOMES]
    for gain, col, sign in OUTCOMES:
        c = MSOA_COUNT[col]
        paired[gain] = sign * (paired[c] - paired[f"{c}_base"]) / scale + 0.0  # (no -0 in the table)
    q = paired.groupby(MSOA_KEY, sort=False)[names]
    by_msoa = q.median().join(q.quantile(LOW).add_suffix("_p10")).join(q.quantile(HIGH).add_suffix("_p90"))
    by_msoa = by_msoa[[f"{n}{s}" for n in names for s in ("", "_p10", "_p90")]]
    return out.merge(by_msoa.reset_index(), on=MSOA_KEY, how="left")
