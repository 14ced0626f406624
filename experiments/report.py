"""report.html: one self-contained page (figures embedded) that a policy team can read and forward."""

from __future__ import annotations

import base64
import html
import json
import pathlib

import numpy as np
import pandas as pd

from experiments.figures import PCT
from experiments.map_figures import section_html


def _img(path: pathlib.Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def fewest_replicates(summary: pd.DataFrame) -> int | None:
    """The fewest replicates any configuration (area and scenario) has."""
    return int(summary["replicates"].min()) if summary is not None and "replicates" in summary and len(summary) \
        else None


def intervals_statement(study: dict, fewest: int | None = None) -> str:
    """What the 10-90% intervals hold, from the study's own settings (parameter sets, seeds per set, replicates):
    the one statement the report makes about them, wherever it speaks of them (two hard-coded ones contradicted
    each other)."""
    n = int(study.get("replicates") or 0)
    fewest = n if fewest is None else fewest
    u = study.get("uncertainty") or {"parameters": study.get("parameters", "fixed")}
    if fewest < 2:
        return ("One replicate per configuration: there is no interval (the 10% and 90% values are the one run's "
                "value) and every chance is 0% or 100% from a single draw; each number is one possible outcome, not "
                "an estimate. Run two or more replicates (replicates=, or two or more seeds in a sweep).")
    reps = f"{fewest}" if fewest == n else f"{fewest} to {n}"
    if u.get("parameters") == "ensemble":
        sets, per = int(u.get("sets_used") or 0), u.get("seeds_per_set")
        what = (f"The {reps} replicates per configuration ran with {sets} parameter set{'s' if sets != 1 else ''} "
                f"{'(at least, in each job) ' if u.get('per_job') else ''}drawn from the calibrated ensemble "
                f"({u.get('ensemble')}, {u.get('ensemble_members')} members: calibrated mechanisms, and the other "
                f"uncertain parameters, unit costs included, drawn from their plausible ranges), {per} seed(s) per "
                "set; every scenario of a replicate shares its seed and its parameter set, so differences are "
                "paired.")
        what += (" The 10-90% intervals include parameter uncertainty as well as chance." if sets > 1 else
                 " With one parameter set the 10-90% intervals show chance only: they understate what is not known "
                 "about the parameters (more replicates than seeds_per_set use more sets), and the spread cannot be "
                 "split into parameters and chance.")
        if u.get("held"):
            what += f" Held at the study's own values: {', '.join(u['held'])}."
        return what + (f" {u['note']}." if u.get("note") else "")
    if u.get("parameters") == "mixed":
        jobs = ", ".join(f"{n} with parameters={k}" for k, n in (u.get("jobs") or {}).items())
        return (f"The jobs of this sweep drew their parameters differently ({jobs}; a single-run job always runs "
                "the defaults): the 10-90% intervals of labels from parameters=ensemble jobs include parameter "
                "uncertainty as well as chance, the others' show chance only.")
    return (f"The {reps} replicates per configuration ran with one parameter set (the model's defaults, the "
            "calibrated ensemble's central member: parameters=fixed, or single runs) and differ only in their seeds: "
            "the 10-90% intervals show chance only; they understate what is not known about the parameters.")


def _caveats(meta: dict, intervals: str) -> list[str]:
    counts = meta.get("evidence") or {}
    return [
        f"{counts.get('assumptions', '?')} of {counts.get('parameters', '?')} model and programme parameters are "
        "assumptions (labelled so in docs/parameters.md), not read from a source; results are only as good as they "
        "are. The sensitivity analysis (experiment=sensitivity) shows which matter most.",
        "Programme costs are assumptions of the right order, not contract prices; cost per outcome scales with "
        "them directly.",
        "Neighbourhoods are the areas' real MSOAs, each built to its own Census 2021 tables (docs/places.md), and "
        "schools the real state schools with their rolls; which school a pupil attends is modelled (distance, "
        "faith, a family's taste, places), not observed. Places of worship are congregations of one faith drawn "
        "from neighbouring MSOAs (attendance and size are stated assumptions); everyday places (shops, services, "
        "public space) are part of the neighbourhood setting, not modelled apart.",
        "The language, contact, work and programme parameters behind the outcomes are fitted by history matching "
        "to six published figures (data/targets/targets.yaml); several are national, not area, figures, and some "
        "programme effects rest on wide stated ranges where no evaluation gives a size. Effects of contact on "
        "attitudes follow the meta-analytic r = 0.21, which randomised trials find weaker for ethnic prejudice.",
        intervals,
        "The baseline drifts a little on its own (ageing, arrivals settling in; docs/odd.md); every difference "
        "shown is paired on the same seeds, so the drift cancels out of them.",
        "Money and places scale with the simulated fraction of residents; spend is area-equivalent pounds.",
    ]


VALIDATION = pathlib.Path(__file__).resolve().parent.parent / "data" / "calibration" / "default" / "validation"


def validation_html(where=VALIDATION) -> list[str]:
    """The validation section every study report carries: the held-out targets against the calibrated ensemble's
    predictions (the published table of ``experiment=validate``), misses marked; or a plain statement that there
    is none yet."""
    from sim.manifest import check_published
    from sim.params import ConfigError

    path = pathlib.Path(where) / "validation.csv"
    if path.exists():
        try:  # published data: shown only as it was published
            check_published(where, ("validation.csv",), "validation")
        except ConfigError as e:
            return ["<h2>Validation</h2>", f"<p class='warn'>The published validation is not shown: "
                    f"{html.escape(str(e))}.</p>"]
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError):
        return ["<h2>Validation</h2><p class='note'>No validation has been published yet "
                "(python -m sim experiment=calibrate study.publish=data/calibration/default, then "
                "python -m sim experiment=validate). The figures above are not checked against held-out data.</p>"]
    met = int(table["inside"].sum())
    rows = []
    for _, r in table.iterrows():
        pred = (f"{r['median']:.0%} of members significant" if r["measure"] != "value"
                else f"{r['median']:.3g} [{r['q05']:.3g}, {r['q95']:.3g}]")
        rows.append({"held-out target": r["target"], "observed [interval]":
                     f"{r['observed']:.3g} [{r['low']:.3g}, {r['high']:.3g}]", "ensemble median [90%]": pred,
                     "met": "yes" if r["inside"] else "NO"})
    return ["<h2>Validation against held-out data</h2>",
            f"<p class='note'>{met} of {len(table)} targets held out from calibration are met by the calibrated "
            "ensemble (docs/validation.md; targets and sources in data/targets/targets.yaml). Where the model "
            "misses, the table says so.</p>",
            pd.DataFrame(rows).to_html(index=False, escape=True, border=0)]


def _fmt(v, pct=False, money=False):
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    if money:
        return f"£{v:,.0f}"
    return f"{v * 100:+.2f}" if pct else f"{v:+.4f}"


def headline(summary: pd.DataFrame, costs: pd.DataFrame) -> pd.DataFrame:
    """One row per area and funded scenario: spend, paired differences and cost per outcome."""
    if "diff_median" not in summary:
        return pd.DataFrame()
    rows = []
    for (area, scen), g in summary.groupby(["area", "scenario"], sort=False):
        if scen.startswith("baseline"):
            continue
        r = {"area": area, "scenario": scen}
        for ind, label in (("poor_english_share", "poor English (pt)"), ("employment_rate", "employment (pt)"),
                           ("bridging_tie_share", "bridging ties (pt)"),
                           ("intergroup_attitude", "attitude (0-1)")):
            x = g[g["indicator"] == ind].iloc[0]
            pct = ind in PCT
            r[label] = (f"{_fmt(x['diff_median'], pct)} (one run: no interval)" if x["replicates"] < 2 else
                        f"{_fmt(x['diff_median'], pct)} [{_fmt(x['diff_p10'], pct)}, {_fmt(x['diff_p90'], pct)}]")
        c = costs[(costs["area"] == area) & (costs["scenario"] == scen)] if len(costs) else costs
        if len(c):
            c = c.iloc[0]
            r["spend"] = _fmt(c["spend_gbp"], money=True)
            for ratio, label in (("gbp_per_resident_lifted_out_of_poor_english",
                                  "£ per resident lifted out of poor English"),
                                 ("gbp_per_extra_person_in_work", "£ per extra person in work"),
                                 ("gbp_per_extra_bridging_tie", "£ per extra bridging tie")):
                r[label] = cost_cell(c, ratio, interval=False)
        rows.append(r)
    return pd.DataFrame(rows)


def cost_cell(r, ratio: str, interval: bool = True) -> str:
    """A cost per outcome as the page shows it: GBP (with its 10-90% range), or why there is none."""
    v = r.get(ratio)
    if v is None or not np.isfinite(v):
        why = r.get(f"why_no_{ratio}")
        return f"none: {why}" if isinstance(why, str) and why else "-"
    if not interval:
        return _fmt(v, money=True)
    lo, hi = r.get(f"{ratio}_low"), r.get(f"{ratio}_high")
    top = f"{hi:,.0f}" if hi is not None and np.isfinite(hi) else "no bound"
    return f"{v:,.0f} [{lo:,.0f}, {top}]"


def _programme_costs(pc: pd.DataFrame) -> pd.DataFrame:
    from sim.costs import RATIO_NAMES

    rows = []
    for _, r in pc.iterrows():
        rows.append({"area": r["area"], "programme": str(r["scenario"]).split(":", 1)[-1],
                     **{ratio.replace("gbp_per_", "GBP per ").replace("_", " "): cost_cell(r, ratio)
                        for ratio in RATIO_NAMES.values()}})
    return pd.DataFrame(rows)


def findings_html(decisions, costs, variance) -> list[str]:
    """Per area, in words: which scenario does the most for each outcome, with what probability, at what cost per
    outcome, and whether more evidence or more replicates would narrow the answer."""
    from sim.costs import RATIO_NAMES

    if decisions is None or not len(decisions):
        return []
    words = {"residents_lifted_out_of_poor_english": "lifting residents out of poor English",
             "extra_people_in_work": "work", "extra_bridging_ties": "mixing (bridging ties)"}
    out = ["<h2>Findings</h2><ul>"]
    for area, d in decisions.groupby("area", sort=False):
        sentences = []
        for outcome, o in d.groupby("outcome", sort=False):
            best = o.loc[o["p_best"].idxmax()]
            name = html.escape(str(best["scenario"]))
            tied = o[np.isclose(o["p_best"], best["p_best"])]["scenario"].astype(str).tolist()
            if not (o["p_beats_baseline"] > 0).any():  # nothing gained in any replicate: no winner to name
                sentences.append(f"for {words.get(outcome, outcome)}, no scenario gained over no funding in any "
                                 "replicate")
                continue
            if len(tied) > 1 and best["p_best"] > 0:  # (the first of equals is not a winner)
                sentences.append(f"for {words.get(outcome, outcome)}, no single scenario does the most: "
                                 f"{html.escape(', '.join(tied))} are equally often best (each with probability "
                                 f"{best['p_best']:.0%})")
                continue
            if int(best["replicates"]) < 2:  # (a chance of 100% from one draw says nothing)
                text = (f"for {words.get(outcome, outcome)}, <b>{name}</b> gave the largest gain in the one "
                        "replicate (one run: no probability can be given)")
            else:
                text = (f"for {words.get(outcome, outcome)}, <b>{name}</b> does the most with probability "
                        f"{best['p_best']:.0%} (it beats no funding with probability {best['p_beats_baseline']:.0%})")
            c = costs[(costs["area"] == area) & (costs["scenario"] == best["scenario"])] if costs is not None and \
                len(costs) else pd.DataFrame()
            ratio = RATIO_NAMES.get(outcome)
            if len(c) and ratio in c:
                cell = cost_cell(c.iloc[0], ratio)
                text += (f", no cost per unit ({html.escape(cell[6:])})" if cell.startswith("none: ") else
                         f", at GBP {cell} per unit" if cell != "-" else "")
            v = variance[(variance["area"] == area) & (variance["scenario"] == best["scenario"]) &
                         (variance["outcome"] == outcome)] if variance is not None and len(variance) else []
            if len(v) and np.isfinite(v["parameter_share"].iloc[0]):
                share = float(v["parameter_share"].iloc[0])
                text += (f"; {share:.0%} of the spread comes from the parameters (more evidence would narrow it)"
                         if share >= 0.5 else f"; {1 - share:.0%} of the spread is chance (more replicates would "
                         "narrow it)")
            sentences.append(text)
        out.append(f"<li><b>{html.escape(str(area))}</b>: " + "; ".join(sentences) + ".</li>")
    out += ["</ul>", "<p class='note'>Probabilities are shares of paired replicates; a probability near "
            "1/(number of scenarios) means the scenarios cannot be told apart at this size.</p>"]
    return out


def uncertainty_html(study: dict, decisions=None, variance=None, fewest: int | None = None) -> list[str]:
    """'How sure are we': what the intervals include, the chance each scenario is best, the variance split."""
    u = study.get("uncertainty") or {"parameters": study.get("parameters", "fixed")}
    what = html.escape(intervals_statement(study, fewest))
    parts = ["<h2>How sure are we</h2>", f"<p>{what}</p>"]
    if decisions is not None and len(decisions) and int(decisions["replicates"].min()) < 2:
        parts.append("<p class='note'>No chance of being best is shown: from one replicate each would be 0% or "
                     "100% (decisions.csv has them, with the replicates they rest on).</p>")
    elif decisions is not None and len(decisions):
        d = decisions.assign(cell=[f"{b:.0%} ({p:.0%})" for b, p in zip(decisions["p_best"],
                                                                        decisions["p_beats_baseline"])])
        wide = d.pivot_table(index=["area", "outcome"], columns="scenario", values="cell", aggfunc="first",
                             sort=False).reset_index()
        margin = ", ".join(f"{o} {m:g}" for o, m in decisions.groupby("outcome", sort=False)["margin"].first().items())
        parts += ["<h3>Chance each scenario is best (and beats no funding)</h3>",
                  "<p class='note'>Share of paired replicates in which the scenario gives the largest gain of those "
                  f"compared; in brackets, the share in which its gain over the baseline exceeds the margin ({margin}"
                  "; area-equivalent counts). decisions.csv has the numbers.</p>",
                  wide.to_html(index=False, escape=True, border=0)]
    if variance is not None and len(variance) and variance["parameter_share"].notna().any():
        v = variance.pivot_table(index=["area", "scenario"], columns="outcome", values="parameter_share",
                                 sort=False).reset_index()
        parts += ["<h3>Where the spread comes from</h3>",
                  "<p class='note'>Share of the variance of each gain that comes from the parameters rather than "
                  "chance (replicates sharing a parameter set; one-way analysis of variance). A high share means "
                  "more evidence, not more replicates, would narrow the interval. variance_split.csv has the "
                  "standard deviations.</p>",
                  v.to_html(index=False, float_format=lambda x: f"{x:.0%}", border=0, na_rep="-")]
    elif u.get("parameters") == "ensemble":
        parts.append("<p class='note'>To split the spread into parameters and chance, run two or more seeds per "
                     "parameter set (seeds_per_set=2).</p>")
    return parts


def runs_line(t: dict) -> str:
    """How many runs, how many run now or reused, the wall time and workers, from what is known (a gathered sweep:
    its jobs' own records); never a '?' or a time of 0 s standing for 'not known'."""
    if not t or "runs" not in t:
        return "Runs: not recorded (the tables were written from an existing tidy table)"
    if "jobs" in t:  # a gathered sweep (experiments.gather.timing)
        w = t.get("workers") or []
        workers = f"{w[0]}" if len(w) == 1 else f"{w[0]} to {w[-1]}" if w else "unknown"
        time = (f"wall time {_seconds(t['wall_s'])} summed over the {t['timed_jobs']} job(s) that record it"
                if t.get("wall_s") is not None else "wall time not recorded")
        untimed = t["jobs"] - t.get("timed_jobs", 0)
        time += f" ({untimed} single-run job(s) do not record theirs)" if untimed and t.get("wall_s") is not None \
            else ""
        skipped = t.get("skipped") or []
        left = (f"; {len(skipped)} job folder(s) not gathered, unfinished or changed since written "
                f"({', '.join(skipped[:3])}{', ...' if len(skipped) > 3 else ''})" if skipped else "")
        return (f"Runs: {t['runs']} in {t['jobs']} job(s) of the sweep ({t['ran']} run by their job, {t['reused']} "
                f"reused by it from an earlier run; gathering runs nothing){left}; {time}; {workers} worker(s) per "
                "job")
    return (f"Runs: {t['runs']} ({t['ran']} run now, {t['reused']} reused from an earlier, interrupted or identical "
            f"study); wall time {_seconds(t['wall_s'])} on {t['workers']} worker(s)")


def _seconds(s: float) -> str:
    return f"{s:.0f} s" if s >= 10 else f"{s:.1f} s"


def _replicates(study: dict, fewest: int | None) -> str:
    n = study.get("replicates")
    return f"{fewest} to {n}" if fewest is not None and n is not None and fewest != int(n) else str(n)


def _no_degenerate(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as the page shows it: no 10% or 90% value where one replicate makes it the median itself."""
    if "replicates" not in summary:
        return summary
    one = summary["replicates"] < 2
    cols = [c for c in ("p10", "p90", "diff_p10", "diff_p90") if c in summary]
    return summary.assign(**{c: summary[c].where(~one) for c in cols})


def render(summary, costs, programmes, figures, meta, out_dir=None, decisions=None, variance=None,
           persistence=None, programme_costs=None, maps=None) -> str:
    out_dir = pathlib.Path(meta.get("out_dir", ".")) if out_dir is None else pathlib.Path(out_dir)
    study = meta["study"]
    fewest = fewest_replicates(summary)
    intervals = intervals_statement(study, fewest)
    head = headline(summary, costs if costs is not None else pd.DataFrame())
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>integration-sim: {html.escape(str(study.get('name', 'study')))}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;"
        "text-align:right}th{background:#f3f3f3}td:first-child,td:nth-child(2){text-align:left}"
        "img{max-width:100%;border:1px solid #eee}figcaption{font-size:13px;color:#555}"
        "pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:12px}.note{color:#555}"
        ".warn{color:#a00;border:2px solid #a00;padding:0.5em 1em}</style></head><body>",
        f"<h1>Funding scenarios for the Integration Areas: {html.escape(str(study.get('name', 'study')))}</h1>",
        *([f"<p class='warn' id='one-replicate'><b>Warning:</b> {html.escape(intervals)}</p>"]
          if fewest is not None and fewest < 2 else []),
        "<p class='note'>Agent-based simulation of residents (Mesa) built from ONS Census 2021; each scenario is "
        "compared with no funding on the same random seeds. Figures are medians across replicates with 10-90% "
        f"intervals.{'' if fewest is not None and fewest < 2 else ' ' + html.escape(intervals)}</p>",
        "<h2>What was run</h2><ul>",
        f"<li>Areas: {', '.join(map(str, study.get('areas', [])))}</li>",
        f"<li>Scenarios: {', '.join(map(str, study.get('scenarios', {})))}</li>",
        f"<li>Replicates: {_replicates(study, fewest)} per scenario and area (seed {study.get('seed')}, spawned with "
        f"numpy SeedSequence; replicate r shares its seed across scenarios)</li>",
        f"<li>Scale: {study.get('scales', study.get('scale'))} of the residents; {study.get('weeks')} weeks</li>",
        f"<li>{html.escape(runs_line(meta.get('timing') or {}))}</li>",
        f"<li>Code: git commit {html.escape(str(meta.get('git_commit')))}; code and data fingerprint "
        f"{html.escape(str(meta.get('code_fingerprint')))}; generated {meta.get('generated')}</li>",
        "</ul>",
    ]
    if len(head):
        parts += ["<h2>Headline: difference against no funding, and cost per outcome</h2>",
                  "<p class='note'>Median [10%, 90%] across replicates of the paired difference at the end of the "
                  "run; percentage points (pt) for shares. Cost per outcome = spend / median gain (area-equivalent "
                  "counts), only where the gain's 10-90% interval is above zero and the median gain is at least one "
                  "simulated person; otherwise the cell says why not (cost_per_outcome.csv: why_no_*).</p>",
                  head.to_html(index=False, escape=True, border=0)]
    parts += findings_html(decisions, costs, variance)
    parts += section_html(maps, study, out_dir)  # where: one section per area
    parts += uncertainty_html(study, decisions, variance, fewest)
    if programme_costs is not None and len(programme_costs):
        parts += ["<h2>Each programme alone</h2>",
                  f"<p class='note'>Each programme run alone with GBP {float(study['programmes_alone']):,.0f} "
                  "(area-equivalent) against the baseline, on the same seeds and parameter sets: its own cost per "
                  "outcome, median [10%, 90%] (programme_costs.csv). A programme aimed at one outcome may do "
                  "little for the others; where there is no cost, the cell says why not.</p>",
                  _programme_costs(programme_costs).to_html(index=False, escape=True, border=0)]
    if persistence is not None and len(persistence):
        wide = persistence.pivot_table(index=["area", "scenario"], columns="outcome", values="share_persisting",
                                       sort=False).reset_index()
        parts += [f"<h2>After the money stops</h2><p class='note'>Spending stopped in week "
                  f"{int(persistence['spending_stops_week'].iloc[0])}; the run went on to week "
                  f"{int(persistence['run_ends_week'].iloc[0])}. Share of each median gain still there at the end "
                  "(persistence.csv has the gains).</p>",
                  wide.to_html(index=False, float_format=lambda x: f"{x:.0%}", border=0, na_rep="-")]
    parts.append("<h2>Figures</h2>")
    for title, png, caption in figures:
        parts.append(f"<figure><h3>{html.escape(title)}</h3><img alt='{html.escape(title)}' "
                     f"src='data:image/png;base64,{_img(out_dir / png)}'><figcaption>{html.escape(caption)} "
                     f"(also {html.escape(png.replace('.png', '.svg'))})</figcaption></figure>")
    parts += ["<h2>Main caveats</h2><ul>", *(f"<li>{html.escape(c)}</li>" for c in _caveats(meta, intervals)), "</ul>"]
    parts += validation_html()
    parts += ["<h2>Summary table</h2>",
              "<p class='note'>Every indicator's final value (median, p10, p90) and the paired difference against "
              "the baseline. The same table is summary.csv; every run and week is in tidy.parquet.</p>",
              _no_degenerate(summary).to_html(index=False, float_format=lambda v: f"{v:.5g}", border=0,
                                              table_id="summary", na_rep="-")]
    if programmes is not None and len(programmes):
        parts += ["<h2>Programmes and policies</h2><p class='note'>Median across replicates, area-equivalent. A "
                  "policy (mixed_intakes, citizenship_english) has no budget: its participants are the residents it "
                  "reached and its spend what reaching them cost.</p>",
                  programmes.to_html(index=False, float_format=lambda v: f"{v:,.0f}", border=0)]
    parts += ["<h2>Configuration</h2><pre>", html.escape(json.dumps(study, indent=1, default=str)), "</pre>",
              "<h2>Versions</h2><pre>", html.escape(json.dumps(meta.get("versions", {}), indent=1)), "</pre>",
              "</body></html>"]
    return "\n".join(parts)
