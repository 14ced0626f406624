"""Studies and sweeps: the main job at a tiny scale, tables that agree with the tidy data, resuming, launchers."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from experiments.compare import run_study
from experiments.runner import build_specs
from experiments.tables import final_rows, paired_differences, summarise
from sim.indicators import INDICATORS

TINY = {"name": "tiny", "areas": ["blackburn_with_darwen", "walsall"], "scenarios": {
    "baseline": "baseline", "english_first": "english_first", "work_first": "work_first"},
    "replicates": 3, "seed": 4, "scale": 0.005, "weeks": 12, "model": {}, "interventions": {}, "workers": 2}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    run_study(TINY, out, progress=False)
    return out


def test_study_writes_tables_figures_and_report(study):
    for f in ("tidy.parquet", "summary.csv", "cost_per_outcome.csv", "programmes.csv", "report.html",
              "difference_vs_baseline.png", "difference_vs_baseline.svg", "cost_per_outcome.png",
              "areas_compared.png", "timeseries_walsall.png", "timeseries_blackburn_with_darwen.svg", "study.json",
              "msoa.csv", "msoa_runs.parquet", "msoa_walsall.png", "msoa_blackburn_with_darwen.svg"):
        assert (study / f).exists(), f
    tidy = pd.read_parquet(study / "tidy.parquet")
    assert len(tidy) == 2 * 3 * 3 * 13  # areas x scenarios x replicates x weeks 0..12
    assert set(INDICATORS) <= set(tidy.columns)
    html = (study / "report.html").read_text()
    assert "data:image/png;base64," in html and "<img" in html
    for s in ("english_first", "work_first", "Main caveats", "What was run", "git commit",
              "Walsall: where the gains land", "Blackburn with Darwen: where the gains land"):
        assert s in html
    assert "src='http" not in html and 'src="http' not in html  # self-contained


def test_summary_table_matches_the_tidy_data(study):
    tidy = pd.read_parquet(study / "tidy.parquet")
    summary = pd.read_csv(study / "summary.csv")
    fin = final_rows(tidy)
    diff = final_rows(paired_differences(tidy))
    for _, row in summary.sample(12, random_state=1).iterrows():
        vals = fin[(fin["area"] == row["area"]) & (fin["scenario"] == row["scenario"])][row["indicator"]]
        assert row["median"] == pytest.approx(np.median(vals), rel=1e-5, abs=1e-9)
        assert row["p10"] == pytest.approx(np.quantile(vals, 0.1), rel=1e-5, abs=1e-9)
        d = diff[(diff["area"] == row["area"]) & (diff["scenario"] == row["scenario"])][row["indicator"]]
        assert row["diff_median"] == pytest.approx(np.median(d), rel=1e-5, abs=1e-9)
    funded = summary[summary["scenario"] != "baseline"]
    assert (funded["diff_median"].abs() > 0).any()  # the funded scenarios differ from the baseline somewhere
    # the report's table is the same table
    html = (study / "report.html").read_text()
    table = html[html.index('id="summary"'):]
    table = table[: table.index("</table>")]
    assert table.count("<tr") - 1 == len(summary)


def test_replicates_share_seeds_across_scenarios():
    specs = build_specs(["walsall"], {"baseline": "baseline", "balanced": "balanced"}, 3, 9, 0.01, 5, {}, {})
    by = {(s.scenario, s.replicate): s.seed_sequence().generate_state(2).tolist() for s in specs}
    for r in range(3):
        assert by[("baseline", r)] == by[("balanced", r)]
    assert by[("baseline", 0)] != by[("baseline", 1)]


def test_a_worker_gets_the_scenarios_of_a_replicate_together():
    """The scenarios of one replicate share a week-0 state, so they go to one worker (built once); groups are split
    only when there are too few to keep every worker busy."""
    from experiments.runner import setup_key, tasks

    specs = build_specs(["walsall", "bradford"], {"baseline": "baseline", "a": "balanced", "b": "english_first"}, 2,
                        9, 0.01, 5, {}, {})
    one = tasks(specs, 1)
    assert len(one) == 4 and all(len({setup_key(s) for s in g}) == 1 and len(g) == 3 for g in one)
    assert one[0][0].area == "bradford"  # the largest first
    assert sorted(len(g) for g in tasks(specs, 2)) == [1, 1, 2, 2, 3, 3]
    assert sum(map(len, tasks(specs, 8))) == len(specs)


@pytest.mark.slow
def test_an_interrupted_study_resumes_without_redoing_finished_runs(tmp_path):
    cfg = dict(TINY, areas=["walsall"], replicates=2, workers=1)
    run_study(cfg, tmp_path, progress=False)
    cache = next((tmp_path / "runs").iterdir())
    files = sorted(cache.glob("*.parquet"))
    assert len(files) == 6
    stamps = {f: f.stat().st_mtime_ns for f in files}
    files[0].unlink()  # as if interrupted before this run finished
    (cache / f".{files[1].name}.tmp-123").write_text("half written")  # a crash mid-write leaves only a temp
    run_study(cfg, tmp_path, progress=False)
    assert files[0].exists()
    for f in files[1:]:
        assert f.stat().st_mtime_ns == stamps[f]  # reused, not rerun
    t1 = pd.read_parquet(tmp_path / "tidy.parquet")
    run_study(cfg, tmp_path / "again", progress=False)
    t2 = pd.read_parquet(tmp_path / "again" / "tidy.parquet")
    pd.testing.assert_frame_equal(t1, t2)  # a resumed study equals one run straight through


def test_more_replicates_do_not_change_the_first_ones(tmp_path):
    a = summarise(_tidy(tmp_path / "a", 2))
    t4 = _tidy(tmp_path / "b", 4)
    assert set(t4["replicate"]) == {0, 1, 2, 3}
    t2 = _tidy(tmp_path / "a", 2)
    pd.testing.assert_frame_equal(t4[t4["replicate"] < 2].reset_index(drop=True), t2)
    assert set(a["replicates"]) == {2} and len(a) == len(INDICATORS)


def _tidy(out, reps):
    cfg = dict(TINY, areas=["walsall"], scenarios={"baseline": "baseline"}, replicates=reps, workers=1)
    run_study(cfg, out, progress=False)
    return pd.read_parquet(out / "tidy.parquet")


def _sim(args, cwd, timeout=600):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_main_job_command_at_a_tiny_scale(tmp_path):
    r = _sim(["experiment=compare_scenarios", "scale=0.003", "weeks=8", "replicates=2", "progress=false",
              "study.areas=[walsall,peterborough]", f"hydra.run.dir={tmp_path / 'main'}"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == f"report: {tmp_path / 'main' / 'report.html'}"
    s = pd.read_csv(tmp_path / "main" / "summary.csv")
    assert set(s["scenario"]) == {"baseline", "pilot_year_one", "equal_split", "english_first", "contact_first",
                                  "work_first", "balanced", "refugees_first", "schools_first"}
    meta = json.loads((tmp_path / "main" / "study.json").read_text())
    assert meta["versions"]["mesa"] == "3.3.1" and meta["study"]["replicates"] == 2


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_sweep_through_a_launcher_gathers_and_resumes(tmp_path, launcher):
    sweep = tmp_path / "sweep"
    args = ["-m", f"hydra/launcher={launcher}", "area=walsall", "scenario=balanced",
            "scenario.budget_gbp=1e6,4e6", "scale=0.004", "weeks=8", "progress=false", f"hydra.sweep.dir={sweep}"]
    r = _sim(args, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    jobs = [p for p in sweep.iterdir() if p.is_dir() and p.name != "gathered" and (p / "summary.json").exists()]
    assert len(jobs) == 2
    tidy = pd.read_parquet(sweep / "gathered" / "tidy.parquet")
    assert {"baseline", "balanced scenario.budget_gbp=1000000.0",
            "balanced scenario.budget_gbp=4000000.0"} == set(tidy["scenario"])
    assert (sweep / "gathered" / "report.html").exists()
    # the swept value is a number column, and a budget sweep draws its response curve
    funded = tidy[tidy["scenario"] != "baseline"]
    assert sorted(funded["scenario.budget_gbp"].unique()) == [1e6, 4e6]
    curve = pd.read_csv(sweep / "gathered" / "response_scenario_budget_gbp.csv")
    assert list(curve["scenario.budget_gbp"]) == [1e6, 4e6]
    assert (sweep / "gathered" / "response_scenario_budget_gbp.png").exists()
    stamps = {j: (j / "summary.json").stat().st_mtime_ns for j in jobs}
    r = _sim(args, tmp_path)  # resume: both jobs are complete, so both are skipped
    assert r.returncode == 0, r.stderr[-2000:]
    if launcher == "joblib":
        assert r.stdout.count("skipped") == 2, r.stdout
    assert all((j / "summary.json").stat().st_mtime_ns == t for j, t in stamps.items())


@pytest.mark.slow
def test_a_sweep_over_written_out_scenarios_is_gathered(tmp_path):
    """Swept values that are lists or mappings (scenarios written out in study.scenarios) are kept as written: a
    table column cannot hold them (the gathering failed with an ArrowTypeError, and sim.gather with a traceback)."""
    sweep = tmp_path / "sw"
    mine = "{name: mine, budget_gbp: 2000000, allocation: {esol: 0.5}}"
    r = _sim(["-m", "experiment=compare_scenarios", f"study.scenarios=[baseline,balanced],[baseline,{mine}]",
              "replicates=2", "study.areas=[walsall]", "scale=0.004", "weeks=6", "progress=false",
              f"hydra.sweep.dir={sweep}"], tmp_path)
    assert r.returncode == 0 and "Error" not in r.stderr and "Warning" not in r.stderr, r.stderr[-2000:]
    tidy = pd.read_parquet(sweep / "gathered" / "tidy.parquet")
    assert set(tidy["study.scenarios"]) == {"[baseline,balanced]", "[baseline,{name:mine,budget_gbp:2000000,"
                                            "allocation:{esol:0.5}}]"}
    assert {"balanced", "mine"} == {x.split()[0] for x in tidy["scenario"] if not x.startswith("baseline")}


@pytest.mark.slow
def test_gathered_sweep_pairs_each_job_with_its_own_baseline(tmp_path):
    # a sweep over a mechanism parameter changes the baseline too: each job must be compared with its own
    sweep = tmp_path / "sw"
    r = _sim(["-m", "area=walsall", "scale=0.005", "weeks=10", "scenario=english_first",
              "model.demography.move_out=0.05,0.5", "progress=false", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    tidy = pd.read_parquet(sweep / "gathered" / "tidy.parquet")
    diff = final_rows(paired_differences(tidy)).set_index("scenario")
    for job in sweep.iterdir():
        if not (job / "summary.json").exists():
            continue
        s = json.loads((job / "summary.json").read_text())
        mo = next(o for o in (job / ".hydra" / "overrides.yaml").read_text().split() if "move_out" in o)
        own = s["difference_vs_baseline"]["poor_english_share"]
        assert diff.loc[f"english_first {mo}", "poor_english_share"] == pytest.approx(own, abs=1e-8)


def test_sensitivity_ranges_can_be_given_as_one_mapping_or_a_list():
    """README: study.parameters takes a list of keys or {key: [low, high]}; the mapping was refused with a message
    quoting the very form it rejected."""
    from experiments.sensitivity import check

    study = {"kind": "sensitivity", "area": "walsall", "scale": 0.004, "weeks": 4, "seed": 1, "replicates": 2}
    one = check({**study, "parameters": {"model.language.class_hour": [0.001, 0.01]}})
    listed = check({**study, "parameters": [{"model.language.class_hour": [0.001, 0.01]}]})
    assert one["problem"] == listed["problem"]
    assert "model.language.class_hour" in one["problem"]["names"]


def test_a_study_whose_runs_are_all_cached_starts_no_executor(tmp_path, monkeypatch):
    """Rewriting a finished study's tables started a Ray for nothing (3-4 s, and a cluster that must answer)."""
    from experiments import executors

    study = {"name": "tiny", "areas": ["walsall"], "scenarios": ["baseline", "balanced"], "replicates": 2,
             "seed": 3, "scale": 0.004, "weeks": 4, "model": {}, "interventions": {}, "workers": 1,
             "parameters": "fixed"}
    run_study(study, tmp_path, progress=False)
    monkeypatch.setattr(executors, "run_ray", lambda *a, **k: pytest.fail("an executor was started"))
    run_study({**study, "launcher": "ray"}, tmp_path, progress=False)
    assert json.loads((tmp_path / "study.json").read_text())["timing"]["reused"] == 4


def test_a_study_says_where_its_outcomes_are_per_msoa(tmp_path):
    """msoa_runs.parquet, msoa.csv and a map per area: every run's counts per MSOA add up to its area's counts at
    week 0 and the last week; msoa.csv's levels are the runs' medians scaled to the area, and its gains the paired
    gains of the headline (with two replicates a median is a mean, so an area's MSOAs add up to its own figures);
    the report shows the map."""
    scale = 0.005
    study = {"name": "tiny", "areas": ["walsall"], "scenarios": ["baseline", "balanced"], "replicates": 2, "seed": 3,
             "scale": scale, "weeks": 4, "model": {}, "interventions": {}, "workers": 1, "parameters": "fixed"}
    out = run_study(study, tmp_path, progress=False)
    tidy = pd.read_parquet(out / "tidy.parquet")
    runs = pd.read_parquet(out / "msoa_runs.parquet")
    assert sorted(runs["week"].unique()) == [0, 4] and runs["msoa"].nunique() == 39
    assert len(runs) == 2 * 2 * 2 * 39 and runs["name"].str.startswith("Walsall ").all()
    keys = ["area", "scenario", "replicate", "week"]
    sums = runs.groupby(keys).sum(numeric_only=True)
    ts = tidy.set_index(keys).loc[sums.index]
    for count, col in (("residents", "n_residents"), ("poor_english", "n_poor_english"),
                       ("employed_16_64", "n_employed_16_64")):
        np.testing.assert_array_equal(sums[count].to_numpy(), ts[col].to_numpy())
    np.testing.assert_allclose(sums["bridging_tie_ends"].to_numpy(), ts["n_bridging_ties"].to_numpy())

    table = pd.read_csv(out / "msoa.csv")
    assert len(table) == 2 * 2 * 39 and set(table["replicates"]) == {2}
    for (scen, week), t in table.groupby(["scenario", "week"]):
        area = tidy[(tidy["scenario"] == scen) & (tidy["week"] == week)]
        for count, col in (("residents", "n_residents"), ("poor_english", "n_poor_english"),
                           ("employed_16_64", "n_employed_16_64"), ("bridging_tie_ends", "n_bridging_ties")):
            assert t[count].sum() == pytest.approx(area[col].median() / scale, rel=1e-6, abs=1e-6)
    costs = pd.read_csv(out / "cost_per_outcome.csv").iloc[0]
    gained = table[(table["scenario"] == "balanced") & (table["week"] == 4)]
    for gain in ("residents_lifted_out_of_poor_english", "extra_people_in_work", "extra_bridging_ties"):
        assert gained[gain].sum() == pytest.approx(costs[gain], rel=1e-6, abs=1e-6)
        assert (gained[f"{gain}_p10"] <= gained[gain]).all() and (gained[gain] <= gained[f"{gain}_p90"]).all()
        assert table[(table["scenario"] == "baseline") | (table["week"] == 0)][gain].isna().all()
    assert gained["extra_bridging_ties"].abs().sum() > 0  # (balanced funds contact: its ties land somewhere)

    assert (out / "msoa_walsall.png").exists() and (out / "msoa_walsall.svg").exists()
    html = (out / "report.html").read_text()
    where = html[html.index("<h2>Walsall: where the gains land</h2>") + 4:]
    assert "src='data:image/png;base64," in where[: where.index("<h2>")]  # the map, in its own section
    assert html.index("<h2>Headline") < html.index("where the gains land") < html.index("<h2>Main caveats")
    assert "one simulated person stands for 200 residents" in where
