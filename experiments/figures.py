"""Figures drawn from result tables alone (never by running a model)."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from experiments.tables import HIGH, LOW, baseline_labels, final_rows, paired_differences  # noqa: E402
from sim.costs import OUTCOMES, RATIO_NAMES  # noqa: E402
from sim.indicators import LABELS  # noqa: E402

SOURCE = ("Source: integration-sim (synthetic residents from ONS Census 2021; parameters and sources in "
          "docs/parameters.md). Lines: median across replicates; bands and bars: 10th-90th percentile.")
KEY_INDICATORS = ("poor_english_share", "employment_rate", "bridging_tie_share", "intergroup_attitude",
                  "isolation_share")
PCT = {"poor_english_share", "employment_rate", "employment_rate_poor_english", "bridging_tie_share",
       "isolation_share"}


def _colours(scenarios):
    cmap = plt.get_cmap("tab10")
    out = {}
    for i, s in enumerate(scenarios):
        out[s] = "0.35" if s.startswith("baseline") else cmap(i % 10)
    return out


def shared_rows(axes, labels, labelled=None, fontsize=7) -> None:
    """Panels that show the same rows get one row axis: a shared category index 0..n-1 from the top, the same limits
    on every panel, the labels where ``labelled`` (the first panel) says. Each panel sizing its own axis to the bars
    it happened to have moved its bars up to a row off the labels, which only the first panel carried."""
    first = axes[0]
    for ax in axes[1:]:
        if not first.get_shared_y_axes().joined(first, ax):
            ax.sharey(first)
    first.set_yticks(range(len(labels)), labels)
    first.set_ylim(len(labels) - 0.5, -0.5)
    for ax in axes:
        ax.tick_params(axis="y", labelleft=ax in (labelled or [first]), labelsize=fontsize)


def one_replicate(tidy) -> bool:
    """Whether some configuration (area and scenario) has a single replicate: then no band or bar is an interval."""
    return bool(len(tidy)) and int(tidy.groupby(["area", "scenario"])["replicate"].nunique().min()) < 2


ONE_REPLICATE = " One replicate per configuration: no band or bar is an interval, each value is a single run."


def _save(fig, out, name, source=SOURCE):
    import textwrap

    fig.get_layout_engine().set(h_pad=0.12) if fig.get_layout_engine() else None
    width = max(int(fig.get_figwidth() * 20), 60)  # characters that fit at this font size
    fig.text(0.01, 0.001, textwrap.fill(source, width), fontsize=6.5, color="0.4", va="bottom")
    png, svg = out / f"{name}.png", out / f"{name}.svg"
    for path in (png, svg):
        tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
        with warnings.catch_warnings():  # (labels too long for the layout, e.g. a sweep over written-out
            warnings.filterwarnings("ignore", message="constrained_layout not applied")  # scenarios: drawn as is)
            fig.savefig(tmp, dpi=110)
        tmp.replace(path)
        if fig.get_layout_engine() is not None:
            fig.set_layout_engine("none")  # laid out once: the SVG keeps the PNG's layout (about half the time)
    plt.close(fig)
    return png.name


def _scale(ind):
    return 100.0 if ind in PCT else 1.0


def _unit(ind, diff=False):
    if ind in PCT:
        return "percentage points" if diff else "%"
    if ind == "spend_gbp":
        return "GBP"
    return "difference (0-1 scale)" if diff else LABELS.get(ind, ("", ""))[1]


def _band(ax, quantiles, area, scenario, ind, colour, alpha) -> None:
    """Median line and 10-90% band of one indicator over the weeks, from a (area, scenario, week) quantile table."""

    try:
        d = quantiles.loc[(area, scenario)][ind].unstack()
    except KeyError:
        return
    k = _scale(ind)
    ax.plot(d.index, d[0.5] * k, color=colour, lw=1.4, label=scenario)
    ax.fill_between(d.index, d[LOW] * k, d[HIGH] * k, color=colour, alpha=alpha, lw=0)


def study_figures(tidy, summary, costs, out, study) -> list[tuple[str, str, str]]:
    """Every figure of a study as PNG and SVG in ``out``; returns (title, png file, caption) for the report."""
    return timeseries_figures(tidy, out, study) + summary_figures(tidy, summary, costs, out, study)


def timeseries_figures(tidy, out, study) -> list[tuple[str, str, str]]:
    """Each indicator over time per scenario, one figure per area."""
    scenarios = list(dict.fromkeys(tidy["scenario"]))
    areas = list(dict.fromkeys(tidy["area"]))
    col = _colours(scenarios)
    figs = []
    q = (tidy.drop(columns=["pair_with", "scale"], errors="ignore")
         .groupby(["area", "scenario", "week"]).quantile([LOW, 0.5, HIGH], numeric_only=True))
    for area in areas:
        names = [n for n in LABELS]
        fig, axes = plt.subplots(2, 4, figsize=(16, 7.5), constrained_layout=True)
        for ax, ind in zip(axes.flat, names):
            for s in scenarios:
                _band(ax, q, area, s, ind, col[s], 0.15)
            ax.set_title(LABELS[ind][0], fontsize=10)
            ax.set_xlabel("week")
            ax.set_ylabel(_unit(ind) if ind in PCT else LABELS[ind][1], fontsize=8)
            ax.grid(alpha=0.3)
        axes.flat[0].legend(fontsize=7, loc="best")
        fig.suptitle(f"{_label(area)}: indicators over two years by funding scenario "
                     f"({int(study['replicates'])} replicates, scale {study['scale']})", fontsize=12)
        name = _save(fig, out, f"timeseries_{area}", source=SOURCE + (ONE_REPLICATE if one_replicate(tidy) else ""))
        figs.append((f"{_label(area)}: indicators over time", name,
                     "Median across replicates with the 10-90% band, for every scenario."))

    return figs


def summary_figures(tidy, summary, costs, out, study) -> list[tuple[str, str, str]]:
    """The difference each scenario makes at the end, the areas side by side, and the cost per outcome."""
    scenarios = list(dict.fromkeys(tidy["scenario"]))
    bases = baseline_labels(tidy)
    areas = list(dict.fromkeys(tidy["area"]))
    col = _colours(scenarios)
    figs = []
    source = SOURCE + (ONE_REPLICATE if one_replicate(tidy) else "")
    has_base = bool(bases) and len(scenarios) > len(bases)
    if has_base:
        diff = paired_differences(tidy)
        fin = final_rows(diff)
        funded = [s for s in scenarios if s not in bases]
        # 2. the difference each scenario makes at the end, per area
        fig, axes = plt.subplots(len(areas), len(KEY_INDICATORS), figsize=(17, 2.2 + 1.9 * len(areas)),
                                 constrained_layout=True, squeeze=False, sharey=True)
        shared_rows(list(axes.flat), funded, labelled=list(axes[:, 0]), fontsize=8)
        for i, area in enumerate(areas):
            for j, ind in enumerate(KEY_INDICATORS):
                ax = axes[i, j]
                k = _scale(ind)
                for y, s in enumerate(funded):
                    v = fin[(fin["area"] == area) & (fin["scenario"] == s)][ind] * k
                    if not len(v):
                        continue
                    med, lo, hi = v.median(), v.quantile(LOW), v.quantile(HIGH)
                    ax.errorbar(med, y, xerr=[[med - lo], [hi - med]], fmt="o", color=col[s], ms=4, capsize=2)
                ax.axvline(0, color="0.5", lw=0.8)
                ax.xaxis.set_major_locator(MaxNLocator(4))
                ax.grid(alpha=0.3, axis="x")
                if i == 0:
                    ax.set_title(LABELS[ind][0], fontsize=9)
                if i == len(areas) - 1:
                    ax.set_xlabel(f"vs baseline ({_unit(ind, diff=True)})", fontsize=8)
                if j == 0:
                    ax.set_ylabel(_label(area), fontsize=9)
        fig.suptitle(f"Difference from no funding after {int(tidy['week'].max())} weeks (paired on seeds)",
                     fontsize=12)
        name = _save(fig, out, "difference_vs_baseline", source=source)
        figs.append(("Difference each scenario makes against the baseline", name,
                     "Scenario minus baseline on the same seeds; point = median, bar = 10-90% across replicates."))

        # 3. small multiples: the five areas side by side, paired difference over time
        outs = ("poor_english_share", "employment_rate", "bridging_tie_share")
        dq = diff.groupby(["area", "scenario", "week"]).quantile([LOW, 0.5, HIGH], numeric_only=True)
        fig, axes = plt.subplots(len(outs), len(areas), figsize=(3.4 * len(areas), 8), sharey="row",
                                 constrained_layout=True, squeeze=False)
        for i, ind in enumerate(outs):
            for j, area in enumerate(areas):
                ax = axes[i, j]
                for s in funded:
                    _band(ax, dq, area, s, ind, col[s], 0.12)
                ax.axhline(0, color="0.5", lw=0.8)
                ax.grid(alpha=0.3)
                if i == 0:
                    ax.set_title(_label(area), fontsize=10)
                if j == 0:
                    ax.set_ylabel(f"{LABELS[ind][0]}\n({_unit(ind, diff=True)} vs baseline)", fontsize=8)
                if i == len(outs) - 1:
                    ax.set_xlabel("week")
        axes[0, 0].legend(fontsize=7)
        fig.suptitle(f"The {len(areas)} Integration Areas compared: change against no funding over time"
                     if len(areas) > 1 else f"{_label(areas[0])}: change against no funding over time", fontsize=12)
        name = _save(fig, out, "areas_compared", source=source)
        figs.append(("The five areas compared" if len(areas) == 5 else "The areas compared", name,
                     "Paired difference from the baseline over time, by area."))

    # 4. cost per outcome
    if costs is not None and len(costs):

        titles = {"gbp_per_resident_lifted_out_of_poor_english": "GBP per resident lifted out of poor English",
                  "gbp_per_extra_person_in_work": "GBP per extra person in work",
                  "gbp_per_extra_bridging_tie": "GBP per extra bridging tie"}
        fig, axes = plt.subplots(1, 3, figsize=(17, 1.5 + 0.35 * len(costs)), constrained_layout=True,
                                 sharey=True)
        labels = [f"{_label(a)} | {s}" for a, s in zip(costs["area"], costs["scenario"])]
        shared_rows(list(axes), labels)
        for ax, ratio in zip(axes, RATIO_NAMES.values()):
            for y, (_, r) in enumerate(costs.iterrows()):
                v = r[ratio]
                if v is None or not np.isfinite(v):  # the reason, on the row's own line
                    why = r.get(f"why_no_{ratio}")
                    ax.text(0.02, y, why if isinstance(why, str) and why else "no gain over baseline", va="center",
                            fontsize=7, color="0.4", transform=ax.get_yaxis_transform())
                    continue
                lo, hi = r[f"{ratio}_low"], r[f"{ratio}_high"]  # (a cost is shown only with both ends)
                ax.barh(y, v, color=col.get(r["scenario"], "C0"), alpha=0.8)
                ax.errorbar(v, y, xerr=[[max(v - lo, 0)], [max(hi - v, 0)]], color="k", lw=0.8, capsize=2)
            ax.set_xscale("log")
            ax.set_title(titles[ratio], fontsize=10)
            ax.set_xlabel("GBP (log scale)")
            ax.grid(alpha=0.3, axis="x")
        fig.suptitle("Cost per outcome against the baseline (bar: median; line: 10-90%)", fontsize=12)
        name = _save(fig, out, "cost_per_outcome", source=source)
        figs.append(("Cost per outcome", name, "Spend divided by the paired gain over the baseline, shown only "
                     "where the gain's 10-90% interval is above zero and the median gain is at least one simulated "
                     "person; otherwise the row says why not."))
    return figs


OUTCOME_TITLES = {"residents_lifted_out_of_poor_english": "residents lifted out of poor English",
                  "extra_people_in_work": "extra people in work", "extra_bridging_ties": "extra bridging ties"}


UNIT_TITLES = {"residents_lifted_out_of_poor_english": "resident lifted out of poor English",
               "extra_people_in_work": "extra person in work", "extra_bridging_ties": "extra bridging tie"}


def decision_figures(decisions, ceac, out, study) -> list[tuple[str, str, str]]:
    """The chance each scenario is best (per area and outcome) and the cost-effectiveness acceptability curves."""
    figs = []
    if decisions is not None and len(decisions) and int(decisions["replicates"].min()) < 2:
        return figs  # one replicate: a share of one draw (or a tie's half) is not a probability; none is drawn
    source = SOURCE
    if decisions is not None and len(decisions):
        areas = list(dict.fromkeys(decisions["area"]))
        outcomes = list(dict.fromkeys(decisions["outcome"]))
        scen = list(dict.fromkeys(decisions["scenario"]))
        col = _colours(scen)
        fig, axes = plt.subplots(1, len(outcomes), figsize=(5.2 * len(outcomes), 1.4 + 0.32 * len(areas) * len(scen)),
                                 constrained_layout=True, squeeze=False, sharey=True)
        rows = [(a, s) for a in areas for s in scen]
        shared_rows(list(axes[0]), [f"{_label(a)} | {s}" for a, s in rows])
        for ax, o in zip(axes[0], outcomes):
            d = decisions[decisions["outcome"] == o]
            for y, (a, s) in enumerate(rows):
                r = d[(d["area"] == a) & (d["scenario"] == s)]
                if len(r):
                    ax.barh(y, float(r["p_best"].iloc[0]), color=col[s], alpha=0.85)
                    ax.plot(float(r["p_beats_baseline"].iloc[0]), y, "k|", ms=9)
                else:  # a placeholder: the row stays where its label is
                    ax.text(0.02, y, "not compared", va="center", fontsize=7, color="0.4",
                            transform=ax.get_yaxis_transform())
            ax.set_xlim(0, 1)
            ax.set_title(OUTCOME_TITLES.get(o, o), fontsize=10)
            ax.set_xlabel("probability")
            ax.grid(alpha=0.3, axis="x")
        fig.suptitle("Chance each scenario does the most (bar) and beats no funding (tick), over paired replicates",
                     fontsize=12)
        name = _save(fig, out, "probability_best", source=source)
        figs.append(("Probability each scenario is best", name, "Share of replicates (each: one seed and one "
                     "parameter set, shared by every scenario) in which the scenario gives the largest gain of those "
                     "compared; the tick is the share in which it beats the baseline."))
    if ceac is not None and len(ceac):
        areas = list(dict.fromkeys(ceac["area"]))
        outcomes = list(dict.fromkeys(ceac["outcome"]))
        options = list(dict.fromkeys(ceac["option"]))
        col = _colours(options)
        fig, axes = plt.subplots(len(areas), len(outcomes), figsize=(5.2 * len(outcomes), 2.6 * len(areas)),
                                 constrained_layout=True, squeeze=False)
        for i, a in enumerate(areas):
            for j, o in enumerate(outcomes):
                ax = axes[i][j]
                d = ceac[(ceac["area"] == a) & (ceac["outcome"] == o)]
                for opt in options:
                    e = d[d["option"] == opt]
                    ax.plot(e["value_gbp"], e["p_most_cost_effective"], color=col[opt], lw=1.4,
                            ls="--" if opt == "baseline" else "-", label=opt)
                ax.set_xscale("log")
                ax.set_ylim(-0.02, 1.02)
                ax.grid(alpha=0.3)
                if i == 0:
                    ax.set_title(f"GBP a payer would give per {UNIT_TITLES.get(o, o)}", fontsize=9)
                if j == 0:
                    ax.set_ylabel(f"{_label(a)}\nP(most cost-effective)", fontsize=8)
        axes[0][-1].legend(fontsize=7, loc="center right")
        fig.suptitle("Cost-effectiveness acceptability curves (net benefit = value x gain - spend; doing nothing "
                     "= 0)", fontsize=12)
        name = _save(fig, out, "acceptability", source=source)
        figs.append(("Cost-effectiveness acceptability", name, "For each value put on one unit of an outcome, "
                     "the chance that each option has the largest net benefit, over paired replicates (HM Treasury "
                     "Green Book / NICE-style probabilistic analysis); one outcome at a time."))
    return figs


def response_figure(table, key, out) -> tuple[str, str, str]:
    """Each outcome's gain against a swept numeric key (e.g. the budget), per area, with 10-90% intervals."""
    outcomes = list(OUTCOME_TITLES)
    fig, axes = plt.subplots(1, len(outcomes), figsize=(5.2 * len(outcomes), 4), constrained_layout=True)
    for ax, o in zip(axes, outcomes):
        for i, (area, d) in enumerate(table.groupby("area", sort=False)):
            d = d.sort_values(key)
            ax.plot(d[key], d[o], "o-", color=f"C{i}", label=_label(area), lw=1.3, ms=4)
            ax.fill_between(d[key], d[f"{o}_p10"], d[f"{o}_p90"], color=f"C{i}", alpha=0.15)
        ax.set_title(OUTCOME_TITLES[o], fontsize=10)
        ax.set_xlabel(key)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("gain over the baseline (area-equivalent)")
    axes[-1].legend(fontsize=7)
    fig.suptitle(f"Response to {key}: median gain with 10-90% interval across replicates", fontsize=12)
    name = _save(fig, out, "response_" + "".join(c if c.isalnum() else "_" for c in key))
    return (f"Response to {key}", name, "Each outcome's paired gain over the baseline as the swept value changes "
            "(response.csv has the numbers).")


def _label(area: str) -> str:
    return area.replace("_", " ").title().replace("With", "with")


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
                 f"{_label(study['area'])}: the {n} most influential of {indices['parameter'].nunique()} parameters "
                 f"({method}; error bars: 95% bootstrap intervals)", fontsize=11)
    return _save(fig, out, "sensitivity", source=(
        "Source: integration-sim; outcome = scenario minus baseline on the same seed at the end of the run "
        "(area-equivalent counts; attitude on its 0-1 scale). Ranges: docs/parameters.md and study.json."))


def optimisation_figure(table, trials, objectives, out, study) -> str:
    """Best allocations against the provided scenarios (gains with intervals), and the search."""

    gains = [g for g, _, _ in OUTCOMES]
    fig, axes = plt.subplots(1, len(gains) + 1, figsize=(5 * (len(gains) + 1), 1.6 + 0.45 * len(table)),
                             constrained_layout=True)
    y = np.arange(len(table))
    shared_rows(list(axes[:len(gains)]), list(table["candidate"]), fontsize=8)
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
                 f"{_label(study['area'])} (red) against the provided scenarios (blue)", fontsize=11)
    return _save(fig, out, "optimisation", source=(
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
    files = [_save(fig, out, "calibration_targets", source=(
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
        files.append(_save(fig, out, "calibration_pairs", source="Source: integration-sim history matching."))
    return files
