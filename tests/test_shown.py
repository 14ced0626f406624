"""Nothing shown that is not there (issue 32): bars on their own labels in every multi-panel figure, a cost per
outcome only for a gain that is there, one statement of what the intervals hold, a gathered sweep's counts from its
jobs, a warning with one replicate, and sim.gather refusing a folder that is no sweep."""

import json
import re
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from experiments import analysis_figures, figures, report, tables
from sim.costs import OUTCOMES, RATIO_NAMES
from sim.indicators import INDICATORS
from sim.manifest import sha256_file

AREAS = ["blackburn_with_darwen", "waltham_forest"]
FUNDED = ["pilot_year_one", "equal_split", "contact_first"]


@pytest.fixture
def drawn(monkeypatch, tmp_path):
    """The figures a function draws, by name, kept open (instead of saved and closed) to inspect their Axes."""
    out = {}

    def keep(fig, where, name, source=figures.SOURCE):
        fig.canvas.draw()
        out[name] = fig
        return f"{name}.png"

    monkeypatch.setattr(figures, "_save", keep)
    yield out
    for fig in out.values():
        plt.close(fig)


def _row_y(ax, y):
    return float(ax.transData.transform((0, y))[1])  # in pixels: the same for every panel of one figure


def _labels_at(label_ax):
    """{pixel height: label} of the row labels a panel carries (only those in view)."""
    lo, hi = sorted(label_ax.get_ylim())
    return {round(_row_y(label_ax, t.get_position()[1])): t.get_text() for t in label_ax.get_yticklabels()
            if t.get_text() and lo <= t.get_position()[1] <= hi}


def _label_beside(labels, pixel):
    near = [lab for y, lab in labels.items() if abs(y - pixel) <= 1.5]
    return near[0] if near else None


def _bars(ax):
    """(value, y centre) of every horizontal bar in a panel."""
    return [(p.get_width(), p.get_y() + p.get_height() / 2) for c in ax.containers
            if hasattr(c, "patches") for p in c.patches]


def _costs():
    """A cost table where every row and panel has its own value; the 2nd and 3rd panels lack rows (the drift)."""
    rows = []
    for i, a in enumerate(AREAS):
        for j, s in enumerate(FUNDED):
            k = 3 * i + j
            r = {"area": a, "scenario": s, "spend_gbp": 1e6}
            for n, ratio in enumerate(RATIO_NAMES.values()):
                missing = (n == 1 and k >= 4) or (n == 2 and k in (0, 3))
                v = np.nan if missing else 1000.0 * (k + 1) + 100 * n
                r.update({ratio: v, f"{ratio}_low": v * 0.5, f"{ratio}_high": v * 2,
                          f"why_no_{ratio}": "gain's 10-90% interval includes zero" if missing else ""})
            rows.append(r)
    return pd.DataFrame(rows)


def _tidy(replicates=3):
    """Two areas, the baseline and three funded scenarios, weeks 0-1: each funded scenario's final difference from
    the baseline is its own known value in every indicator."""
    rows = []
    for i, a in enumerate(AREAS):
        for j, s in enumerate(["baseline"] + FUNDED):
            for r in range(replicates):
                for w in (0, 1):
                    row = {"area": a, "scenario": s, "replicate": r, "week": w}
                    for c in list(INDICATORS) + ["n_poor_english", "n_employed_16_64", "n_bridging_ties",
                                                 "n_residents"]:
                        row[c] = 0.5 + (w * j * (0.01 * (i + 1) + 0.001 * r) if c != "spend_gbp" else 0)
                    row["spend_gbp"] = 1e6 * w * (j > 0)
                    rows.append(row)
    return pd.DataFrame(rows)


def test_every_multi_panel_figure_puts_each_bar_on_its_own_label(drawn, tmp_path):
    study = {"replicates": 3, "scale": 0.01, "area": "walsall", "budget_gbp": 1e7}
    tidy = _tidy()
    costs = _costs()
    figures.summary_figures(tidy, tables.summarise(tidy), costs, tmp_path, study)
    # cost per outcome: every bar, and every 'why not', beside its own row's label
    axes = drawn["cost_per_outcome"].axes
    labels = _labels_at(axes[0])
    expect = [f"{figures._label(a)} | {s}" for a, s in zip(costs["area"], costs["scenario"])]
    assert sorted(labels.values()) == sorted(expect)
    for n, (ax, ratio) in enumerate(zip(axes, RATIO_NAMES.values())):
        bars = _bars(ax)
        assert len(bars) == costs[ratio].notna().sum()
        for value, y in bars:
            k = int(round((value - 100 * n) / 1000)) - 1
            assert _label_beside(labels, _row_y(ax, y)) == expect[k], (ratio, value)
        for t in ax.texts:
            k = next(k for k in range(len(costs)) if np.isclose(t.get_position()[1], k))
            assert np.isnan(costs[ratio].iloc[k]) and t.get_text() == costs[f"why_no_{ratio}"].iloc[k]
            assert _label_beside(labels, _row_y(ax, k)) == expect[k]
    # difference against the baseline: every point beside its scenario, in every panel of its area's row
    fig = drawn["difference_vs_baseline"]
    grid = np.array(fig.axes).reshape(len(AREAS), -1)
    for i in range(len(AREAS)):
        labels = _labels_at(grid[i, 0])
        assert sorted(labels.values()) == sorted(FUNDED)
        for ax, ind in zip(grid[i], figures.KEY_INDICATORS):
            points = [(x, y) for line in ax.lines for x, y in line.get_xydata() if line.get_marker() == "o"]
            assert len(points) == len(FUNDED)
            for x, y in points:
                j = int(round(x / figures._scale(ind) / (0.01 * (i + 1) + 0.001)))  # the median replicate's
                assert _label_beside(labels, _row_y(ax, y)) == FUNDED[j - 1], (ind, x)
    # chance of being best: the third outcome lacks two rows
    dec = pd.DataFrame([{"area": a, "outcome": o, "scenario": s, "replicates": 4, "margin": 0.0,
                         "p_best": (3 * i + j + 1) / 10 + n / 100, "p_beats_baseline": 0.5}
                        for n, (o, _, _) in enumerate(OUTCOMES) for i, a in enumerate(AREAS)
                        for j, s in enumerate(FUNDED) if not (n == 2 and 3 * i + j >= 4)])
    ceac = pd.DataFrame([{"area": a, "outcome": o, "value_gbp": v, "option": opt,
                          "p_most_cost_effective": (i * 12 + n * 4 + m) / 100}
                         for i, a in enumerate(AREAS) for n, (o, _, _) in enumerate(OUTCOMES)
                         for m, opt in enumerate(["baseline"] + FUNDED) for v in (10.0, 1e3)])
    figures.decision_figures(dec, ceac, tmp_path, study)
    axes = drawn["probability_best"].axes
    labels = _labels_at(axes[0])
    rows = [f"{figures._label(a)} | {s}" for a in AREAS for s in FUNDED]
    for n, ax in enumerate(axes):
        bars = _bars(ax)
        assert len(bars) == (dec["outcome"] == OUTCOMES[n][0]).sum()
        for value, y in bars:
            assert _label_beside(labels, _row_y(ax, y)) == rows[int(round((value - n / 100) * 10)) - 1]
    # acceptability: each panel holds its own area's (row label) and outcome's (title) curves
    grid = np.array(drawn["acceptability"].axes).reshape(len(AREAS), len(OUTCOMES))
    for i, a in enumerate(AREAS):
        for n, (o, _, _) in enumerate(OUTCOMES):
            ax = grid[i, n]
            assert figures._label(a) in grid[i, 0].get_ylabel()
            assert figures.UNIT_TITLES[o] in grid[0, n].get_title()
            assert sorted(round(line.get_ydata()[0] * 100) for line in ax.lines) == [i * 12 + n * 4 + m
                                                                                  for m in range(4)]
    # the optimiser's candidates: one missing gain in the second panel
    cand = pd.DataFrame([{"candidate": c, **{g: (k + 1) * 10.0 + n if not (n == 1 and k == 3) else np.nan
                                              for n, (g, _, _) in enumerate(OUTCOMES)},
                          **{f"{g}_{q}": 0.0 for g, _, _ in OUTCOMES for q in ("p10", "p90")}}
                         for k, c in enumerate(["optimised 1", "balanced", "english_first", "work_first"])])
    analysis_figures.optimisation_figure(cand, pd.DataFrame({"trial": [0], OUTCOMES[0][0]: [1.0]}), [OUTCOMES[0][0]],
                                tmp_path, study)
    axes = drawn["optimisation"].axes
    labels = _labels_at(axes[0])
    for n, ax in enumerate(axes[:3]):
        for value, y in _bars(ax):
            if np.isfinite(value):
                assert _label_beside(labels, _row_y(ax, y)) == cand["candidate"].iloc[int(round((value - n) / 10)) - 1]


def _gain_tidy(gains: dict, scale=0.05, spend=1e6):
    """A tidy table of one area whose funded scenarios gain, per replicate, the given simulated counts of people in
    work over the baseline (and nothing else)."""
    rows = []
    n = len(next(iter(gains.values())))
    for s, g in {"baseline": [0] * n, **gains}.items():
        for r in range(n):
            for w in (0, 1):
                row = {c: 0.0 for c in INDICATORS}
                row.update({"area": "walsall", "scenario": s, "replicate": r, "week": w, "n_poor_english": 100,
                            "n_bridging_ties": 50, "n_employed_16_64": 1000 + (g[r] if w else 0),
                            "spend_gbp": spend * w * (s != "baseline")})
                rows.append(row)
    return pd.DataFrame(rows)


def test_a_cost_per_outcome_only_for_a_gain_that_is_there_and_otherwise_why_not():
    # scale 0.05: one simulated person is 20 area-equivalent people
    tidy = _gain_tidy({"clear": [3, 4, 5, 6, 7], "noise": [-1, 0, 1, 1, 2], "none": [0, 0, -1, 0, 0]})
    c = tables.cost_table(tidy, 0.05).set_index("scenario")
    ratio, why = "gbp_per_extra_person_in_work", "why_no_gbp_per_extra_person_in_work"
    assert c.loc["clear", ratio] == pytest.approx(1e6 / (5 * 20)) and not c.loc["clear", why]
    assert c.loc["clear", f"{ratio}_high"] == pytest.approx(1e6 / (c.loc["clear", "extra_people_in_work_p10"]))
    # a median gain of 20 (one simulated person) whose 10-90% interval runs from -8 to 40: no cost
    assert c.loc["noise", "extra_people_in_work"] == 20 and c.loc["noise", "extra_people_in_work_p10"] < 0
    assert np.isnan(c.loc["noise", ratio]) and c.loc["noise", why] == "gain's 10-90% interval includes zero"
    assert np.isnan(c.loc["noise", f"{ratio}_low"]) and np.isnan(c.loc["noise", f"{ratio}_high"])
    assert np.isnan(c.loc["none", ratio]) and c.loc["none", why] == "no gain over baseline"
    # with one replicate no interval: no cost
    one = tables.cost_table(_gain_tidy({"clear": [5]}), 0.05).set_index("scenario")
    assert np.isnan(one.loc["clear", ratio]) and "one replicate" in one.loc["clear", why]
    # a median of half a simulated person (10 area-equivalent people), its interval above zero: no cost
    s = tables.cost_table(_gain_tidy({"half": [0, 1]}), 0.05).set_index("scenario")
    assert s.loc["half", "extra_people_in_work"] == pytest.approx(10) and s.loc["half", "extra_people_in_work_p10"] > 0
    assert np.isnan(s.loc["half", ratio]) and s.loc["half", why] == "gain below one simulated person"
    # gains of 1, 3, 1 and 0 simulated people: an interpolated 10th percentile is above zero, yet one replicate in
    # four had no gain (counted, not interpolated: no cost)
    q = tables.cost_table(_gain_tidy({"one_in_four": [1, 3, 1, 0], "all": [1, 3, 1, 2]}), 1.0).set_index("scenario")
    assert q.loc["one_in_four", "extra_people_in_work_p10"] > 0
    assert np.isnan(q.loc["one_in_four", ratio]) and q.loc["one_in_four", why] == "gain's 10-90% interval includes zero"
    assert q.loc["all", ratio] == pytest.approx(1e6 / 1.5) and not q.loc["all", why]
    # the page says why, in the headline and the findings
    summary = tables.summarise(tidy)
    head = report.headline(summary, c.reset_index())
    cells = head.set_index("scenario")["£ per extra person in work"]
    assert cells["noise"] == "none: gain's 10-90% interval includes zero" and cells["clear"].startswith("£")
    assert cells["none"] == "none: no gain over baseline"
    dec = tables.decision_table(tables.gains(tidy, 0.05))
    text = " ".join(report.findings_html(dec[dec["scenario"] != "clear"], c.reset_index(), None))
    assert "no cost per unit (gain&#x27;s 10-90% interval includes zero)" in text or \
        "no cost per unit (gain's 10-90% interval includes zero)" in text


def _render(study, summary=None):
    summary = summary if summary is not None else tables.summarise(_gain_tidy({"clear": [3, 4, 5, 6]}))
    return report.render(summary, pd.DataFrame(), None, [], {"study": study, "timing": {}})


def _section(page, title):
    start = page.index(title)
    return page[start:page.index("<h2>", start + 1)]


@pytest.mark.parametrize("uncertainty, holds", [
    ({"parameters": "ensemble", "ensemble": "data/calibration/default", "ensemble_members": 129, "sets_used": 2,
      "seeds_per_set": 2}, "include parameter uncertainty as well as chance"),
    ({"parameters": "ensemble", "ensemble": "data/calibration/default", "ensemble_members": 129, "sets_used": 1,
      "seeds_per_set": 4}, "show chance only"),
    ({"parameters": "fixed"}, "show chance only")])
def test_the_report_says_once_what_the_intervals_hold_from_the_study_settings(uncertainty, holds):
    study = {"name": "t", "replicates": 4, "seed": 1, "scale": 0.05, "weeks": 1, "uncertainty": uncertainty}
    statement = report.intervals_statement(study, 4)
    assert holds in statement and "4 replicates" in statement
    page = _render(study)
    import html
    said = html.escape(statement)
    assert said in _section(page, "<h2>How sure are we") and said in _section(page, "<h2>Main caveats")
    assert "stochastic" not in page and "parameter uncertainty is wider" not in page  # (the contradiction)
    if holds == "show chance only":
        assert "include parameter uncertainty" not in page


def test_one_replicate_per_configuration_is_said_and_no_interval_or_chance_is_shown():
    tidy = _gain_tidy({"clear": [5]})
    summary = tables.summarise(tidy)
    study = {"name": "t", "replicates": 1, "seed": 1, "scale": 0.05, "weeks": 1,
             "uncertainty": {"parameters": "fixed"}}
    g = tables.gains(tidy, 0.05)
    dec = tables.decision_table(g)
    page = report.render(summary, tables.cost_table(tidy, 0.05), None, [], {"study": study, "timing": {}},
                         decisions=dec)
    assert "id='one-replicate'" in page and "One replicate per configuration" in page
    head = _section(page, "<h2>Headline")
    assert "(one run: no interval)" in head and "[" not in head.split("</p>", 1)[1]
    assert "probability 100%" not in page and not re.search(r"\d+% \(\d+%\)", page)  # no chance from one draw
    table = page[page.index('id="summary"'):]
    table = table[:table.index("</table>")]
    assert "<td>-</td>" in table  # p10, p90 left out: they are the median itself
    # with two replicates, none of that
    two = report.render(tables.summarise(_gain_tidy({"clear": [5, 6]})), pd.DataFrame(), None, [],
                        {"study": {**study, "replicates": 2}, "timing": {}})
    assert "one-replicate" not in two and "(one run: no interval)" not in two


SMALL = {"areas": ["walsall"], "scale": 0.01, "weeks": 4, "model": {}, "interventions": {}, "workers": 1,
         "parameters": "fixed"}


def _job(sweep, name, scenario, replicates, seed=1):
    from experiments.compare import run_study

    study = {**SMALL, "name": name, "scenarios": ["baseline", scenario], "replicates": replicates, "seed": seed}
    overrides = f"- study.scenarios=[baseline,{scenario}]\n- replicates={replicates}\n- seed={seed}\n"
    return run_study(study, sweep / name, progress=False, extra_files={".hydra/overrides.yaml": overrides})


def test_a_gathered_sweep_reports_its_jobs_counts_and_time_and_warns_with_one_replicate(tmp_path):
    from experiments.gather import gather

    sweep = tmp_path / "sweep"
    jobs = [_job(sweep, "a", "contact_first", 2), _job(sweep, "b", "english_first", 2)]
    out = gather(sweep)
    meta = json.loads((out / "study.json").read_text())
    own = [json.loads((j / "study.json").read_text())["timing"] for j in jobs]
    t = meta["timing"]
    assert t["runs"] == sum(o["runs"] for o in own) == 8 and t["jobs"] == 2
    assert t["ran"] + t["reused"] == 8 and t["wall_s"] == pytest.approx(sum(o["wall_s"] for o in own))
    page = (out / "report.html").read_text()
    runs = next(line for line in page.splitlines() if "<li>Runs:" in line)
    assert "?" not in runs and "Runs: 8 in 2 job(s)" in runs and "worker" in runs
    assert "one-replicate" not in page and "show chance only" in page  # parameters=fixed in every job
    # a sweep of one replicate per configuration says so (its jobs' own reports too)
    single = tmp_path / "single"
    job = _job(single, "a", "contact_first", 1)
    assert "id='one-replicate'" in (job / "report.html").read_text()
    page = (gather(single) / "report.html").read_text()
    assert "id='one-replicate'" in page and "probability 100%" not in page


def test_a_gathered_sweep_names_every_length_it_ran_and_the_jobs_it_left_out(tmp_path, capsys):
    from experiments.compare import run_study
    from experiments.gather import gather

    sweep = tmp_path / "sweep"
    for weeks in (3, 4):
        study = {**SMALL, "name": f"w{weeks}", "scenarios": ["baseline", "balanced"], "replicates": 2,
                 "weeks": weeks, "seed": 1}
        run_study(study, sweep / f"weeks={weeks}", progress=False,
                  extra_files={".hydra/overrides.yaml": f"- weeks={weeks}\n"})
    (sweep / "weeks=4" / ".hydra" / "overrides.yaml").write_text("- weeks=[")  # changed since it was written
    page = (gather(sweep) / "report.html").read_text()
    assert "1 job folder(s) not gathered" in capsys.readouterr().err
    assert "1 job folder(s) not gathered, unfinished or changed since written (weeks=4)" in page
    (sweep / "weeks=4" / ".hydra" / "overrides.yaml").write_text("- weeks=4\n")
    manifest = json.loads((sweep / "weeks=4" / ".sim-output.json").read_text())
    manifest["sha256"][".hydra/overrides.yaml"] = sha256_file(sweep / "weeks=4" / ".hydra" / "overrides.yaml")
    (sweep / "weeks=4" / ".sim-output.json").write_text(json.dumps(manifest))
    page = (gather(sweep) / "report.html").read_text()
    assert "3 and 4 weeks" in page


def test_gathering_a_folder_that_is_no_sweep_is_refused_in_one_line_before_any_search(tmp_path, monkeypatch):
    r = subprocess.run([sys.executable, "-m", "sim.gather", "/"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("error: ")
    assert "root" in r.stderr and "Traceback" not in r.stderr
    from experiments import gather as G
    from sim.params import ConfigError

    home = tmp_path / "home"
    (home / "deep" / "er" / "still" / "job").mkdir(parents=True)
    (home / "deep" / "er" / "still" / "job" / ".sim-output.json").write_text('{"files": [], "complete": true}')
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(ConfigError, match="home folder"):
        G.gather(home)
    # a job deeper than a sweep puts one is not searched for
    with pytest.raises(FileNotFoundError, match="within 3 levels"):
        G.gather(home / "deep")
    monkeypatch.setattr(G, "MAX_FOLDERS", 2)
    (home / "deep" / "a").mkdir()
    (home / "deep" / "b").mkdir()
    with pytest.raises(ConfigError, match="more than 2 folders"):
        G.gather(home / "deep")


def test_ties_are_named_as_ties_and_one_replicate_draws_no_chance_of_being_best(tmp_path):
    tidy = _gain_tidy({"a": [0, 0, 0, 0], "b": [0, 0, 0, 0]})
    dec = tables.decision_table(tables.gains(tidy, 1.0))
    text = " ".join(report.findings_html(dec, tables.cost_table(tidy, 1.0), None))
    assert "no scenario gained over no funding" in text and "<b>a</b> does the most" not in text
    tidy = _gain_tidy({"a": [2, 1, 2, 1], "b": [1, 2, 1, 2]})
    dec = tables.decision_table(tables.gains(tidy, 1.0))
    text = " ".join(report.findings_html(dec, tables.cost_table(tidy, 1.0), None))
    assert "no single scenario does the most: a, b are equally often best (each with probability 50%)" in text
    one = tables.decision_table(tables.gains(_gain_tidy({"a": [1], "b": [1]}), 1.0))
    assert figures.decision_figures(one, None, tmp_path, {}) == [] and not list(tmp_path.iterdir())
