"""Figures drawn from result tables alone (never by running a model): a study's time series, summaries and
decisions, and a sweep's response; the analyses' own figures are in :mod:`experiments.analysis_figures`."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from experiments.tables import HIGH, LOW, baseline_labels, final_rows, paired_differences  # noqa: E402
from sim.costs import RATIO_NAMES  # noqa: E402
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
