"""The command line as a user meets it: files written, reproducibility, and bad input refused before any work."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from sim.indicators import INDICATORS

RUN = [sys.executable, "-m", "sim"]


def run(args, cwd):
    return subprocess.run(RUN + args, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    outs = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        d = base / name
        r = run(["area=walsall", f"seed={seed}", "scale=0.01", "weeks=6", "progress=false", f"hydra.run.dir={d}"],
                cwd=base)
        assert r.returncode == 0, r.stderr
        outs.append(d)
    return outs


def test_run_writes_its_files(two_runs):
    d = two_runs[0]
    for f in ("timeseries.csv", "summary.json", "indicators.png", "demography.csv", ".hydra/config.yaml"):
        assert (d / f).exists(), f
    ts = pd.read_csv(d / "timeseries.csv")
    assert list(ts["week"]) == list(range(7))
    assert set(INDICATORS) <= set(ts.columns)
    s = json.loads((d / "summary.json").read_text())
    for k in ("area", "scenario", "seed", "scale", "weeks", "n_residents", "initial", "final", "versions",
              "git_commit", "config"):
        assert k in s
    assert s["area"] == "walsall" and s["seed"] == 5 and s["weeks"] == 6
    assert s["final"]["employment_rate"] == pytest.approx(ts["employment_rate"].iloc[-1])
    assert s["versions"]["mesa"] == "3.3.1"
    assert not list(d.glob(".partial-*"))


def test_same_seed_same_files_different_seed_different(two_runs):
    a, b, c = two_runs
    assert (a / "timeseries.csv").read_bytes() == (b / "timeseries.csv").read_bytes()
    assert (a / "demography.csv").read_bytes() == (b / "demography.csv").read_bytes()
    assert (a / "timeseries.csv").read_bytes() != (c / "timeseries.csv").read_bytes()


def test_unknown_area_lists_the_allowed_ones(tmp_path):
    r = run(["area=atlantis"], cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("error: unknown area 'atlantis'")
    assert "bradford" in r.stderr and "waltham_forest" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_failing_run_leaves_no_folder(tmp_path):
    # weeks is valid, but a growth-free capacity is forced to fail inside the run: simulate with an interrupt
    d = tmp_path / "out"
    code = ("import sys, sim.model as m\n"
            "def boom(self): raise KeyboardInterrupt\n"
            "m.IntegrationModel.step = boom\n"
            "from cli.main import main\n"
            f"sys.argv = ['sim', 'area=walsall', 'scale=0.005', 'weeks=3', 'hydra.run.dir={d}']\n"
            "main()\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    # stopped inside the run (not an import error, which would also exit non-zero and leave nothing)
    assert r.returncode == 130 and "Traceback" not in r.stderr and "stopped" in r.stderr, r.stderr[-2000:]
    assert not d.exists()


def test_a_funded_scenario_reports_spend_participants_and_cost_per_outcome(tmp_path):
    d = tmp_path / "sc"
    r = run(["area=walsall", "seed=2", "scale=0.01", "weeks=26", "progress=false", "scenario=balanced",
             "scenario.budget_gbp=5e6", "scenario.allocation.esol=0.4", f"hydra.run.dir={d}"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    s = json.loads((d / "summary.json").read_text())
    assert s["scenario"] == "balanced" and s["budget_gbp"] == 5e6
    assert 0 < s["spend_gbp"] <= s["allocated_gbp"] <= 5e6
    iv = pd.read_csv(d / "interventions.csv")
    assert set(iv["intervention"]) >= {"esol", "ncs", "employment_support"}
    assert (iv["spend_gbp"] <= iv["budget_gbp"] + 1e-6).all()
    assert iv.loc[iv["intervention"] == "esol", "budget_gbp"].item() == pytest.approx(2e6)
    c = s["cost_per_outcome"]
    for k in ("gbp_per_resident_lifted_out_of_poor_english", "gbp_per_extra_person_in_work",
              "gbp_per_extra_bridging_tie", "residents_lifted_out_of_poor_english", "extra_people_in_work"):
        assert k in c
    assert c["extra_bridging_ties"] > 0 and c["gbp_per_extra_bridging_tie"] > 0
    base = pd.read_csv(d / "baseline_timeseries.csv")
    ts = pd.read_csv(d / "timeseries.csv")
    assert base["spend_gbp"].eq(0).all() and ts["spend_gbp"].iloc[-1] == pytest.approx(s["spend_gbp"])
    # the paired baseline is the plain baseline run on the same seed
    d2 = tmp_path / "b"
    r = run(["area=walsall", "seed=2", "scale=0.01", "weeks=26", "progress=false", f"hydra.run.dir={d2}"],
            cwd=tmp_path)
    assert (d2 / "timeseries.csv").read_bytes() == (d / "baseline_timeseries.csv").read_bytes()


def test_any_registered_programme_can_be_funded_from_the_command_line(tmp_path):
    # baseline.yaml lists no programmes; the scenario schema gives every registered one a share of 0 to override
    d = tmp_path / "b"
    args = ["scenario=baseline", "scenario.budget_gbp=2e6", "scenario.allocation.ncs=1", "area=walsall",
            "scale=0.01", "weeks=30", "progress=false", f"hydra.run.dir={d}"]
    r = run(args, cwd=tmp_path)  # funded, but still called 'baseline' (the name of no funding): refused, no folder
    assert r.returncode == 2 and "scenario.name" in r.stderr and not d.exists(), r.stderr
    r = run(args + ["scenario.name=ncs_only"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    s = json.loads((d / "summary.json").read_text())
    assert [i["intervention"] for i in s["interventions"]] == ["ncs"] and s["spend_gbp"] > 0


def test_area_means_the_area_studied_in_every_experiment():
    from omegaconf import OmegaConf

    from cli import compose
    from cli import configuration as cli

    def composed(*overrides):
        with compose.context({}):
            cfg = compose.compose_checked(list(overrides), False, list(overrides))
        return OmegaConf.to_container(cfg, resolve=True), list(overrides)

    plain, ov = composed("experiment=sensitivity")
    assert cli.area_study(plain)["area"] == "walsall"  # the experiment's own default
    plain, ov = composed("experiment=sensitivity", "area=bradford")
    assert cli.area_study(plain)["area"] == "bradford"
    plain, ov = composed("experiment=optimise_budget", "area=peterborough")
    assert cli.area_study(plain)["area"] == "peterborough"
    plain, ov = composed("experiment=compare_scenarios")
    assert len(cli.study_config(plain, ov)["areas"]) == 5
    plain, ov = composed("experiment=compare_scenarios", "area=walsall")
    assert cli.study_config(plain, ov)["areas"] == ["walsall"]


def test_trial_takes_model_and_programme_overrides_and_writes_its_table(tmp_path):
    def trial(name, *extra):
        r = subprocess.run([sys.executable, "-m", "sim.trial", "esol", "area=walsall", "scale=0.02", "recruit=300",
                            f"out={tmp_path / name}", *extra], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert "moved_up_a_level" in r.stdout
        table = pd.read_csv(tmp_path / name / "trial.csv")
        meta = json.loads((tmp_path / name / "trial.json").read_text())
        return table.set_index("outcome")["difference"], meta

    base, meta = trial("base")
    assert meta["config"]["recruit"] == 300 and meta["result"]["n_offer"] > 100
    faster, meta = trial("faster", "model.language.class_hour=0.03", "interventions.esol.uptake=1.0")
    assert meta["config"]["params"] == {"language": {"class_hour": 0.03}}
    assert faster["moved_up_a_level"] > base["moved_up_a_level"] + 0.1


def _tables(weeks=12):
    from sim.indicators import EXTRA, LABELS

    rng = __import__("numpy").random.default_rng(3)
    ts = pd.DataFrame({"week": range(weeks + 1), **{k: rng.random(weeks + 1) for k in (*LABELS, *EXTRA)}})
    demo = pd.DataFrame({"week": range(1, weeks + 1), **{k: rng.integers(0, 9, weeks) for k in
                                                          ("deaths", "births", "moved_out", "moved_in",
                                                           "international_arrivals")}})
    return ts, demo


def test_the_figure_drawn_by_the_helper_process_is_the_one_drawn_here(tmp_path):
    """python -m sim draws a run's figure in a helper process (sim.runplot.Drawer): the same bytes as drawing it
    in this process from the same tables; and if the helper is gone, the figure is drawn here instead."""
    from sim.runplot import Drawer, plot_run

    ts, demo = _tables()
    plot_run(ts, tmp_path / "here.png", "a title", demo, baseline=ts * 0.9)
    d = Drawer()
    d.draw(ts, tmp_path / "helper.png", "a title", demo, baseline=ts * 0.9)
    d.wait()
    assert (tmp_path / "helper.png").read_bytes() == (tmp_path / "here.png").read_bytes()
    gone = Drawer()
    gone._proc.kill()
    gone._proc.wait()
    gone.draw(ts, tmp_path / "fallback.png", "a title", demo, baseline=ts * 0.9)
    gone.wait()
    assert (tmp_path / "fallback.png").read_bytes() == (tmp_path / "here.png").read_bytes()


def test_a_run_that_ends_without_a_figure_stops_its_helper_process():
    import os

    from sim.runplot import Drawer

    d = Drawer()
    pid = d._proc.pid
    d.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_the_progress_bar_is_not_part_of_what_a_run_is(tmp_path):
    """A rerun with or without progress=false reuses the finished run (it recomputed, as 'another configuration'),
    and a sweep's job folders do not carry it in their names."""
    d = tmp_path / "r"
    base = ["area=walsall", "scale=0.004", "weeks=3", f"hydra.run.dir={d}"]
    assert run(base + ["progress=false"], cwd=tmp_path).returncode == 0
    r = run(base + ["progress=true"], cwd=tmp_path)
    assert r.returncode == 0 and "skipped" in r.stdout, r.stdout + r.stderr
    sweep = tmp_path / "sw"
    r = run(["-m", "area=walsall", "seed=1,2", "scale=0.004", "weeks=3", "progress=false",
             f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    jobs = [p.name for p in sweep.iterdir() if p.name != "gathered" and p.is_dir()]
    assert len(jobs) == 2 and all("seed=" in j and "progress" not in j for j in jobs), jobs


def test_a_study_always_runs_the_baseline():
    """Without it a study wrote its levels alone: no difference, cost, decision or head-to-head table, no word why."""
    from experiments.compare import check_study

    study = {"areas": ["walsall"], "scenarios": ["balanced"], "replicates": 2, "seed": 1, "scale": 0.004,
             "weeks": 4, "parameters": "fixed"}
    assert list(check_study(study)["scenarios"]) == ["baseline", "balanced"]
