"""The figures of the analyses, drawn from their tables alone: parameters' influence (sensitivity), optimised
allocations against the provided scenarios (optimisation), and the calibration's fit and ensemble."""

from __future__ import annotations

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from experiments import figures as F  # noqa: E402 (its saving, labels and shared rows)
from sim.costs import OUTCOMES  # noqa: E402


def sensitivity_figure(indices, method, out, study, top: int = 20) -> str:
    """Ranked bars of the ``top`` parameters' influence on each outcome, with confidence intervals; the dummy
    parameter's index is drawn as a line (the noise floor)."""
    outcomes = list(dict.fromkeys(indices["outcome"]))
    value, conf, label = (("mu_star", "mu_star_conf", "Morris mu* (mean |elementary effect|)") if method == "morris"
                          else ("ST", "ST_conf", "Sobol total-order index ST"))
    names = "label" if "label" in indices else "parameter"
    n = min(indices["parameter"].nunique(), top)
    fig, axes = plt.subplots(1, len(outcomes), figsize=(4.6 * len(outcomes), 1.2 + 0.32 * n),
                             constrained_layout=True, squeeze=False)
    for ax, o in zip(axes[0], outcomes):
        d = indices[indices["outcome"] == o]
        floor = d.loc[d["parameter"] == "dummy", value]
        d = d[d["parameter"] != "dummy"].sort_values(value).tail(n)
        y = np.arange(len(d))
        ax.barh(y, d[value], xerr=d[conf].clip(lower=0), color="C0", alpha=0.8, capsize=2)
        if method == "sobol":
            ax.plot(d["S1"], y, "o", color="C3", ms=4, label="first-order S1")
            ax.legend(fontsize=7)
        ax.set_yticks(y)
        if len(floor):
            ax.axvline(float(floor.iloc[0]), color="C3", ls="--", lw=1, label="dummy (noise floor)")
            ax.legend(fontsize=7, loc="lower right")
        ax.set_yticklabels(d[names], fontsize=7)
        ax.set_title(o.replace("_", " "), fontsize=10)
        ax.set_xlabel(label, fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.grid(alpha=0.3, axis="x")
    fig.suptitle(f"Sensitivity of the difference '{study.get('scenario', 'balanced')}' makes in "
                 f"{F._label(study['area'])}: the {n} most influential of {indices['parameter'].nunique()} parameters "
                 f"({method}; error bars: 95% bootstrap intervals)", fontsize=11)
    return F._save(fig, out, "sensitivity", source=(
        "Source: integration-sim; outcome = scenario minus baseline on the same seed at the end of the run "
        "(area-equivalent counts; attitude on its 0-1 scale). Ranges: docs/parameters.md and study.json."))


def optimisation_figure(table, trials, objectives, out, study) -> str:
    """Best allocations against the provided scenarios (gains with intervals), and the search."""

    gains = [g for g, _, _ in OUTCOMES]
    fig, axes = plt.subplots(1, len(gains) + 1, figsize=(5 * (len(gains) + 1), 1.6 + 0.45 * len(table)),
                             constrained_layout=True)
    y = np.arange(len(table))
    F.shared_rows(list(axes[:len(gains)]), list(table["candidate"]), fontsize=8)
    for ax, g in zip(axes, gains):
        med, lo, hi = table[g], table[f"{g}_p10"], table[f"{g}_p90"]
        colours = ["C3" if str(c).startswith("optimised") else "C0" for c in table["candidate"]]
        ax.barh(y, med, color=colours, alpha=0.8)
        ax.errorbar(med, y, xerr=[(med - lo).clip(lower=0), (hi - med).clip(lower=0)], fmt="none", color="k",
                    lw=0.8, capsize=2)
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set_title(g.replace("_", " ") + (" (objective)" if g in objectives else ""), fontsize=10)
        ax.set_xlabel("gain over baseline (area-equivalent)")
        ax.grid(alpha=0.3, axis="x")
    ax = axes[-1]
    if len(objectives) == 2 and len(trials):
        ax.scatter(trials[objectives[0]], trials[objectives[1]], s=12, color="C0")
        ax.set_xlabel(objectives[0].replace("_", " "))
        ax.set_ylabel(objectives[1].replace("_", " "))
        ax.set_title("Candidates searched (Pareto front: upper right)", fontsize=10)
    elif len(trials):
        ax.plot(trials["trial"], trials[objectives[0]], ".", color="C0", label="trial")
        ax.plot(trials["trial"], trials[objectives[0]].cummax(), color="C3", label="best so far")
        ax.set_xlabel("trial")
        ax.set_ylabel(objectives[0].replace("_", " "))
        ax.legend(fontsize=7)
        ax.set_title("Search progress", fontsize=10)
    ax.grid(alpha=0.3)
    fig.suptitle(f"Optimised allocation of GBP {float(study.get('budget_gbp', 1e7)) / 1e6:.1f}m in "
                 f"{F._label(study['area'])} (red) against the provided scenarios (blue)", fontsize=11)
    return F._save(fig, out, "optimisation", source=(
        "Source: integration-sim; bars: median paired gain over the baseline on fresh seeds, lines: 10-90%."))


def calibration_figures(fit, runs, ensemble, names, out) -> list[str]:
    """Per target, the observed interval against the model's spread before calibration (wave 1, over the prior)
    and in the ensemble, with the share that hits; and pairwise plots of the ensemble's parameters."""
    import pathlib

    out = pathlib.Path(out)
    targets = list(dict.fromkeys(fit["target"]))
    fig, axes = plt.subplots(len(targets), 1, figsize=(8, 1.1 + 0.9 * len(targets)), squeeze=False,
                             constrained_layout=True)
    for ax, t in zip(axes[:, 0], targets):
        rows = fit[fit["target"] == t]
        obs = rows.iloc[0]
        ax.axvspan(obs["low"], obs["high"], color="C2", alpha=0.25, label="target interval")
        ax.axvline(obs["observed"], color="C2")
        for k, (_, r) in enumerate(rows.iterrows()):
            ax.plot([r["q05"], r["q95"]], [k, k], color=f"C{k}", lw=3)
            ax.plot(r["median"], k, "o", color=f"C{k}")
            ax.text(1.01, k, f"{r['stage']}: {r['hit_share']:.0%} hit", transform=ax.get_yaxis_transform(),
                    va="center", fontsize=7)
        ax.set_yticks([])
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_title(t, fontsize=8, loc="left")
        ax.tick_params(labelsize=7)
    fig.suptitle("Calibration targets: 90% of runs before (wave 1) and in the ensemble, against the target", fontsize=9)
    files = [F._save(fig, out, "calibration_targets", source=(
        "Source: integration-sim history matching; targets and their sources: data/targets/targets.yaml."))]
    shown = [n for n in names if len(ensemble) and ensemble[n].nunique() > 1][:8]
    if len(shown) >= 2:
        k = len(shown)
        fig, axes = plt.subplots(k, k, figsize=(1.6 * k, 1.6 * k), squeeze=False, constrained_layout=True)
        for i, a in enumerate(shown):
            for j, b in enumerate(shown):
                ax = axes[i, j]
                if i == j:
                    ax.hist(ensemble[a], bins=12, color="C0")
                else:
                    ax.scatter(runs[b], runs[a], s=2, color="0.8")
                    ax.scatter(ensemble[b], ensemble[a], s=3, color="C0")
                ax.set_xticks([])
                ax.set_yticks([])
                if j == 0:
                    ax.set_ylabel(a.split(".")[-1] if "." in a else a, fontsize=6)
                if i == k - 1:
                    ax.set_xlabel(b.split(".")[-1] if "." in b else b, fontsize=6)
        fig.suptitle("Ensemble members (blue) among all runs (grey): pairs of parameters", fontsize=9)
        files.append(F._save(fig, out, "calibration_pairs", source="Source: integration-sim history matching."))
    return files
