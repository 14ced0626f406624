"""Bad input at every entry point, as a hostile user types it: each case must exit with status 2, print one line
that starts with 'error:' and names the key, print no traceback, and leave nothing behind (the working folder is
byte-for-byte as it was: no run folder, no log, no journal, no empty parent folder)."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

SIM = [sys.executable, "-m", "sim"]
TRIAL = [sys.executable, "-m", "sim.trial"]
GATHER = [sys.executable, "-m", "sim.gather"]
SMALL = ["scale=0.005", "weeks=2", "progress=false"]
CMP = ["experiment=compare_scenarios"] + SMALL
SENS = ["experiment=sensitivity"] + SMALL
OPT = ["experiment=optimise_budget", "area=walsall"] + SMALL
CAL = ["experiment=calibrate"] + SMALL
VAL = ["experiment=validate"] + SMALL

CASES = [
    # --- a single run: top-level keys ---
    ("area", SIM + ["area=atlantis"] + SMALL),
    ("scale", SIM + ["scale=0"]),
    ("scale", SIM + ["scale=1.5"]),
    ("scale", SIM + ["scale=nan"]),
    ("scale", SIM + ["scale=inf"]),
    ("scale", SIM + ["scale=big"]),
    ("scale", SIM + ["scale=1e-9", "weeks=2"]),
    ("scale", SIM + ["experiment=quick", "scale=0.0001", "weeks=2"]),
    ("weeks", SIM + ["weeks=-3", "scale=0.005"]),
    ("weeks", SIM + ["weeks=2.5", "scale=0.005"]),
    ("weeks", SIM + ["weeks=abc", "scale=0.005"]),
    ("seed", SIM + ["seed=abc"] + SMALL),
    ("seed", SIM + ["seed=-1"] + SMALL),
    ("seed", SIM + ["seed=1.5"] + SMALL),
    ("engine", SIM + ["engine=turbo"] + SMALL),
    ("replicates", SIM + ["replicates=0"] + SMALL),
    ("replicates", SIM + ["replicates=abc"] + SMALL),
    ("progress", SIM + ["progress=maybe", "scale=0.005", "weeks=2"]),
    ("scale", SIM + ["scale=true", "weeks=2"]),  # (float(True) was 1.0: every resident)
    ("weeks", SIM + ["weeks=1e6", "scale=0.005"]),
    ("weeks", SIM + ["weeks=99999999999999999999", "scale=0.005"]),
    # --- keys Hydra adds without a word, and groups that cannot be edited or removed ---
    ("weks", SIM + ["+weks=20"] + SMALL),  # (ran the default 104 weeks)
    ("area", SIM + ["--help", "area=atlantis"]),  # (Hydra's traceback)
    ("area", SIM + ["--cfg", "job", "area=atlantis"]),
    ("--shell-completion", SIM + ["--shell-completion"]),
    ("hydra.sweep.subdir", SIM + ["-m", "seed=1,2", "hydra.sweep.subdir=x"] + SMALL),  # (after a job had run)
    ("study.scenarios': 'scenario.budget_gbp", SIM + CMP + ["study.scenarios=[baseline,{name: mine, budget_gbp: -5, "
                                                              "allocation: {esol: 0.5}}]"]),
    ("foo", SIM + ["++foo=1"] + SMALL),
    ("area.name", SIM + ["area.name=walsall"] + SMALL),  # (ran Bradford's residents labelled Walsall)
    ("area.neighbourhoods", SIM + ["area=walsall", "area.neighbourhoods=0"] + SMALL),  # (a segfault)
    ("area.census", SIM + ["~area.census"] + SMALL),
    ("area.extra", SIM + ["+area.extra=1"] + SMALL),
    ("scenario", SIM + ["~scenario"] + SMALL),
    ("interventions", SIM + ["~interventions"] + SMALL),
    ("model.language", SIM + ["model.language=1"] + SMALL),
    ("interventions.esol", SIM + ["interventions.esol=1"] + SMALL),
    ("scenario.allocation", SIM + ["scenario.allocation=1"] + SMALL),
    ("scenario.name", SIM + ["scenario=balanced", "scenario.name=baseline"] + SMALL),  # (dropped from a study)
    ("scenario.name", SIM + ["scenario.name=null"] + SMALL),
    ("scenario.budget_gbp", SIM + ["scenario=balanced", "scenario.budget_gbp=true"] + SMALL),
    ("study.scenarios", SIM + CMP + ["study.areas=[walsall]", "replicates=2", "study.scenarios=[baseline,"
                                     "{name: 'a b', budget_gbp: 1000000, allocation: {esol: 0.5}},"
                                     "{name: a_b, budget_gbp: 1000000, allocation: {esol: 0.4}}]"]),  # (after the runs)
    # --- parameter uncertainty (every study) ---
    ("parameters", SIM + CMP + ["parameters=maybe"]),
    ("parameters", SIM + ["parameters=sometimes", "replicates=2"] + SMALL),
    ("parameters", SIM + ["parameters=random"] + SMALL),  # (a single run ignored it)
    ("parameters", SIM + ["-m", "seed=1,2", "replicates=2", "parameters=Fixed"] + SMALL),  # (before any job)
    ("seeds_per_set", SIM + CMP + ["seeds_per_set=0"]),
    ("seeds_per_set", SIM + ["seeds_per_set=two"] + SMALL),
    ("ensemble", SIM + CMP + ["ensemble=/nowhere/at/all"]),
    ("ensemble", SIM + ["replicates=3", "ensemble=no/such/folder"] + SMALL),
    ("study.margins", SIM + CMP + ["study.margins={happiness: 1}"]),
    ("study.margins", SIM + CMP + ["study.margins={extra_people_in_work: -5}"]),
    ("study.end_week", SIM + CMP + ["study.end_week=50"]),
    ("study.end_week", SIM + CMP + ["study.end_week=0"]),
    ("community_spaces", TRIAL + ["community_spaces", "scale=0.005"]),  # (offered to neighbourhoods: a traceback)
    ("replicates", TRIAL + ["esol", "replicates=0"]),
    ("parameters", TRIAL + ["esol", "replicates=2", "parameters=maybe"]),
    ("ensemble", TRIAL + ["esol", "replicates=2", "ensemble=/nowhere"]),
    ("nosuchkey", SIM + ["nosuchkey=1"] + SMALL),
    ("experiment", SIM + ["experiment=nosuch"] + SMALL),
    ("--bogus", SIM + ["--bogus"] + SMALL),
    ("area", SIM + ["area=bradford,walsall"] + SMALL),  # a sweep without -m
    # --- mechanism and programme parameters ---
    ("model.language.base", SIM + ["model.language.base=fast"] + SMALL),
    ("model.language.base", SIM + ["model.language.base=-1"] + SMALL),
    ("model.language.speed", SIM + ["model.language.speed=1"] + SMALL),
    ("model.ties.homophily.work", SIM + ["model.ties.homophily.work=2"] + SMALL),
    ("model.language.class_hour", SIM + ["model.language.class_hour=nan"] + SMALL),
    ("model.nosuch", SIM + ["+model.nosuch.x=1"] + SMALL),
    ("interventions.esol.unit_cost_gbp", SIM + ["interventions.esol.unit_cost_gbp=free"] + SMALL),
    ("interventions.esol.uptake", SIM + ["interventions.esol.uptake=inf"] + SMALL),
    ("interventions.yoga", SIM + ["interventions.yoga.x=1"] + SMALL),
    # --- scenarios ---
    ("scenario", SIM + ["scenario=lavish"] + SMALL),
    ("scenario.budget_gbp", SIM + ["scenario=balanced", "scenario.budget_gbp=-1"] + SMALL),
    ("scenario.budget_gbp", SIM + ["scenario=balanced", "scenario.budget_gbp=inf"] + SMALL),
    ("scenario.budget_gbp", SIM + ["scenario=balanced", "scenario.budget_gbp=nan"] + SMALL),
    ("scenario.allocation.esol", SIM + ["scenario=balanced", "scenario.allocation.esol=1.5"] + SMALL),
    ("scenario.allocation.yoga", SIM + ["scenario=balanced", "scenario.allocation.yoga=0.1"] + SMALL),
    ("scenario.allocation", SIM + ["scenario=balanced", "scenario.allocation.esol=0.7",
                                   "scenario.allocation.ncs=0.7"] + SMALL),
    ("scenario.start_week", SIM + ["scenario=balanced", "scenario.start_week=500"] + SMALL),
    ("scenario.end_week", SIM + ["scenario=balanced", "scenario.end_week=abc"] + SMALL),
    # --- the main job ---
    ("study.areas", SIM + CMP + ["study.areas=[]"]),
    ("study.areas", SIM + CMP + ["study.areas=walsall"]),
    ("study.areas", SIM + CMP + ["study.areas=[walsall,walsall]"]),
    ("study.areas", SIM + CMP + ["study.areas=[mars]"]),
    ("study.scenarios", SIM + CMP + ["study.scenarios=[]"]),
    ("study.scenarios", SIM + CMP + ["study.scenarios=[lavish]"]),
    ("study.scenarios", SIM + CMP + ["study.scenarios=[baseline,baseline]"]),
    ("study.scenarios", SIM + CMP + ["study.scenarios=[baseline,{budget_gbp: 5}]"]),
    ("study.scenarios", SIM + CMP + ["study.scenarios=[baseline,{name: english_first, budget_gbp: 5}]"]),
    ("study.scenarios", SIM + CMP + ["study.scenarios=[baseline,{name: 'alone:esol', budget_gbp: 5}]"]),
    ("study.scenarios", SIM + CMP + ["study.scenarios=[baseline,{name: a, b: 1},{name: a, b: 2}]"]),
    ("scenario.allocation.esol", SIM + CMP + ["study.scenarios=[baseline,{name: mine, allocation: {esol: 2}}]"]),
    ("study.launcher", SIM + CMP + ["study.launcher=kubernetes"]),
    ("study.ray", SIM + CMP + ["study.ray=5"]),
    ("study.ray.address", SIM + CMP + ["study.ray={address: ''}"]),
    ("study.ray.address", SIM + CMP + ["study.ray={address: '127.0.0.1:99999'}"]),
    ("study.ray.address", SIM + CMP + ["study.ray={address: headnode}"]),
    ("study.slurm.account", SIM + CMP + ["study.slurm={account: 7}"]),
    ("study.workers", SIM + CMP + ["study.workers=-1"]),
    ("study.workers", SIM + CMP + ["study.workers=abc"]),
    ("study.workers", SIM + CMP + ["study.workers=1.5"]),
    ("replicates", SIM + CMP + ["replicates=0"]),
    ("area", SIM + CMP + ["area=walsall", "study.areas=[bradford]"]),
    ("study.bogus", SIM + CMP + ["+study.bogus=1"]),
    ("weeks", SIM + ["experiment=compare_scenarios", "weeks=nan", "scale=0.005"]),
    ("study.name", SIM + CMP + ["study.name=a/b"]),
    ("scenario.budget_gbp", SIM + ["experiment=quick", "scenario=balanced", "scenario.budget_gbp=inf"] + SMALL),
    # --- sensitivity ---
    ("study.method", SIM + SENS + ["study.method=magic"]),
    ("study.trajectories", SIM + SENS + ["study.trajectories=0"]),
    ("study.trajectories", SIM + SENS + ["study.trajectories=abc"]),
    ("study.samples", SIM + SENS + ["study.method=sobol", "study.samples=-4"]),
    ("study.range_factor", SIM + SENS + ["study.range_factor=1.5"]),
    ("study.range_factor", SIM + SENS + ["study.range_factor=nan"]),
    ("study.scenario", SIM + SENS + ["study.scenario=baseline"]),
    ("study.scenario", SIM + SENS + ["study.scenario=lavish"]),
    ("model.language.nope", SIM + SENS + ["study.parameters=[model.language.nope]"]),
    ("study.parameters", SIM + SENS + ["study.parameters=[]"]),
    ("study.parameters", SIM + SENS + ["study.parameters=model.language.base"]),
    ("study.parameters", SIM + SENS + ["study.parameters=[model.language.base,model.language.base]"]),
    ("study.area", SIM + SENS + ["+study.area=bradford"]),
    ("study.workers", SIM + SENS + ["study.workers=-2"]),
    # --- calibration and validation ---
    ("study.waves", SIM + CAL + ["study.waves=0"]),
    ("study.points", SIM + CAL + ["study.points=2"]),
    ("study.cutoff", SIM + CAL + ["study.cutoff=-1"]),
    ("study.discrepancy", SIM + CAL + ["study.discrepancy=nan"]),
    ("study.ensemble_size", SIM + CAL + ["study.ensemble_size=500", "study.max_ensemble_runs=100"]),
    ("observation.mood", SIM + CAL + ["study.parameters=[observation.mood]"]),
    ("model.language.nope", SIM + CAL + ["study.parameters=[model.language.nope]"]),
    ("study.trial_scale", SIM + CAL + ["study.trial_scale=0.0001"]),
    ("scale", SIM + ["experiment=calibrate", "scale=0.0002", "weeks=2"]),
    ("study.ensemble", SIM + VAL + ["study.ensemble=nowhere/at/all"]),
    ("study.members", SIM + VAL + ["study.members=0"]),
    ("study.launcher", SIM + CAL + ["study.launcher=magic"]),
    ("study.slurm.queue", SIM + CAL + ["study.launcher=slurm", "study.slurm={queue: fast}"]),
    ("study.slurm.jobs", SIM + VAL + ["study.launcher=slurm", "study.slurm={jobs: 0}"]),
    ("study.publish", SIM + VAL + ["study.publish=perhaps"]),
    # --- budget optimisation ---
    ("study.weights", SIM + OPT + ["study.objectives=[weighted]"]),
    ("study.objectives", SIM + OPT + ["study.objectives=[nope]"]),
    ("study.objectives", SIM + OPT + ["study.objectives=[]"]),
    ("study.objectives", SIM + OPT + ["study.objectives=[residents_lifted_out_of_poor_english,extra_people_in_work,"
                                      "extra_bridging_ties]"]),
    ("study.trials", SIM + OPT + ["study.trials=0"]),
    ("study.budget_gbp", SIM + OPT + ["study.budget_gbp=0"]),
    ("study.budget_gbp", SIM + OPT + ["study.budget_gbp=inf"]),
    ("study.allocated_share", SIM + OPT + ["study.allocated_share=1.5"]),
    ("study.replicates", SIM + OPT + ["study.replicates=0"]),
    ("study.check_replicates", SIM + OPT + ["study.check_replicates=1"]),
    ("study.compare_with", SIM + OPT + ["study.compare_with=[lavish]"]),
    ("ensemble", SIM + OPT + ["ensemble=/nowhere/at/all"]),
    ("study.parameters", SIM + SENS + ["study.parameters=[interventions.esol.duration_weeks]"]),
    ("study.parameters", SIM + SENS + ["study.parameters=some"]),
    ("study.parameters", SIM + CAL + ["study.parameters=all"]),
    ("study.others", SIM + CAL + ["study.others=sometimes"]),
    ("study.weights", SIM + OPT + ["study.objectives=[weighted]", "study.weights={nope: 1}"]),
    # --- sweeps (multirun): every job is checked before any job starts ---
    ("replicates", SIM + ["-m", "experiment=budget_sweep", "replicates=0"] + SMALL),
    ("area", SIM + ["-m", "experiment=budget_sweep", "area=walsall,mars"] + SMALL),
    ("scenario.budget_gbp", SIM + ["-m", "experiment=budget_sweep", "scenario.budget_gbp=1e6,-5"] + SMALL),
    ("seed", SIM + ["-m", "seed=1,abc"] + SMALL),
    ("experiment", SIM + ["-m", "experiment=nosuch,quick"] + SMALL),
    ("scale", SIM + ["-m", "scale=0.01,2", "weeks=2"]),
    ("model.language.base", SIM + ["-m", "model.language.base=0.1,-1"] + SMALL),
    # --- sim.trial ---
    ("programme", TRIAL),
    ("programme", TRIAL + ["yoga"]),
    ("recruit", TRIAL + ["esol", "recruit=0"]),
    ("recruit", TRIAL + ["esol", "recruit=abc"]),
    ("recruit", TRIAL + ["esol", "recruit=5.5"]),
    ("follow_up", TRIAL + ["esol", "follow_up=0"]),
    ("scale", TRIAL + ["esol", "scale=nan"]),
    ("seed", TRIAL + ["esol", "seed=-2"]),
    ("scale", TRIAL + ["esol", "scale=0.00001"]),
    ("area", TRIAL + ["esol", "area=mars"]),
    ("model.language.nope", TRIAL + ["esol", "model.language.nope=1"]),
    ("interventions.esol.uptake", TRIAL + ["esol", "interventions.esol.uptake=2"]),
    ("colour", TRIAL + ["esol", "colour=blue"]),
    ("recruit", TRIAL + ["esol", "recruit=100", "recruit=200"]),
    # --- sim.gather ---
    ("sweep folder", GATHER),
    ("sweep folder", GATHER + ["nowhere"]),
    ("sweep folder", GATHER + ["a", "b"]),
    ("sweep folder", GATHER + [""]),  # (was this folder, searched whole)
    ("sweep folder", GATHER + [" "]),
    # --- names that become folders and files: one rule (sim.checks.check_name) ---
    ("scenario.name", SIM + ["scenario.name=" + "a" * 300] + SMALL),  # (OSError: File name too long)
    ("scenario.name", SIM + ["scenario.name=../../../escaped"] + SMALL),  # (wrote outside results/)
    ("scenario.name", SIM + ["scenario.name=.hidden"] + SMALL),
    ("study.scenarios[1].name", SIM + CMP + ["study.areas=[walsall]", "replicates=1", "study.scenarios=[baseline,"
                                             "{name: ../../x, budget_gbp: 1000000, allocation: {esol: 0.5}}]"]),
    ("study.name", SIM + CMP + ["study.name=.."]),
    ("hydra.run.dir", SIM + SMALL + ["hydra.run.dir=" + "d" * 300]),  # (OSError: File name too long)
    ("out", TRIAL + ["esol", "out=", "scale=0.005"]),  # (the default folder, without a word)
    # --- sweeps: every job a folder of its own, inside the sweep; Hydra's own settings are not swept ---
    ("seed", SIM + ["-m", "seed=1,1"] + SMALL),  # (failed when the second job started, leaving files)
    ("hydra.sweep.subdir", SIM + ["-m", "seed=1,2", "hydra.sweep.subdir=${area.name}"] + SMALL),
    ("hydra.sweep.subdir", SIM + ["-m", "seed=1,2", "hydra.sweep.dir=a/b",
                                  "hydra.sweep.subdir=../../escape_${seed}"] + SMALL),  # (outside the sweep, exit 0)
    ("hydra.sweep.subdir", SIM + ["-m", "seed=1,2", "hydra.sweep.subdir=gathered/${seed}"] + SMALL),
    ("hydra.sweep.dir", SIM + ["-m", "seed=1", "hydra.sweep.dir=A,B"] + SMALL),  # (ignored, exit 0)
    # --- every count and amount has an upper bound, checked before any work ---
    ("replicates", SIM + ["replicates=1e8"] + SMALL),  # (minutes of silent preparation)
    ("seeds_per_set", SIM + ["seeds_per_set=3", "replicates=2", "area=walsall"] + SMALL),
    ("seed", SIM + ["seed=99999999999"] + SMALL),
    ("scenario.budget_gbp", SIM + ["scenario=balanced", "scenario.budget_gbp=1e300"] + SMALL),  # (3.3e293 places)
    ("scenario.budget_gbp", SIM + ["scenario=balanced", "scenario.budget_gbp='5e6'"] + SMALL),  # (text read as one)
    ("study.scenarios", SIM + CMP + ["study.areas=[walsall]", "study.scenarios=[baseline," + ",".join(
        f"{{name: s{i}, budget_gbp: 1000}}" for i in range(1000)) + "]"]),
    ("study.programmes_alone", SIM + CMP + ["study.programmes_alone=1e300"]),
    ("study.workers", SIM + CMP + ["study.workers=100000"]),
    ("study.margins.extra_people_in_work", SIM + CMP + ["study.margins={extra_people_in_work: 1e12}"]),
    ("study.budget_gbp", SIM + OPT + ["study.budget_gbp=1e300"]),
    ("study.slurm.jobs", SIM + CMP + ["study.launcher=submitit_local", "study.slurm={jobs: 100000000}"]),
    ("recruit", TRIAL + ["esol", "recruit=100000000", "scale=0.005"]),
    # --- a study's kind comes with its experiment ---
    ("study.kind", SIM + ["+study.kind=sensitivity"] + SMALL),  # (ran a full sensitivity analysis)
]


def _tree(root):
    out = {}
    for dirpath, _dirs, filenames in os.walk(root):
        out[os.path.relpath(dirpath, root)] = None
        for f in filenames:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


def _check(r, key, before, after):
    assert r.returncode == 2, (r.returncode, r.stderr[-1500:])
    assert "Traceback" not in r.stderr, r.stderr[-1500:]
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr[-1500:]
    assert key in lines[0], lines[0]
    assert before == after, set(after) ^ set(before)


@pytest.mark.parametrize("key, argv", CASES, ids=[f"{i:03d}-{k}" for i, (k, _) in enumerate(CASES)])
def test_bad_input_is_refused_before_any_work(tmp_path, key, argv):
    (tmp_path / "notes.txt").write_text("a user's file\n")
    before = _tree(tmp_path)
    r = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    _check(r, key, before, _tree(tmp_path))


def _folder_cases(tmp):
    """Cases that need a file system set up first: (key, argv)."""
    (tmp / "a_file").write_text("x")
    (tmp / "theirs").mkdir()
    (tmp / "theirs" / "notes.txt").write_text("keep me")
    (tmp / "cfg" / "scenario").mkdir(parents=True)
    (tmp / "cfg" / "scenario" / "bad.yaml").write_text("name: bad\nbudget_gbp: [1,\n")
    (tmp / "a_study").mkdir()
    (tmp / "a_study" / ".sim-output.json").write_text('{"kind": "study", "key": "k", "complete": true, "files": []}')
    (tmp / "sweep_of_theirs").mkdir()
    (tmp / "sweep_of_theirs" / "data.csv").write_text("1,2\n")
    return [
        ("hydra.run.dir", SIM + SMALL + [f"hydra.run.dir={tmp / 'a_file'}"]),
        ("hydra.run.dir", SIM + SMALL + [f"hydra.run.dir={tmp / 'a_file' / 'below'}"]),
        ("hydra.run.dir", SIM + SMALL + [f"hydra.run.dir={tmp / 'theirs'}"]),
        ("hydra.run.dir", SIM + SMALL + ["hydra.run.dir=/proc/sim-cannot-write-here"]),
        ("hydra.run.dir", SIM + CMP + [f"hydra.run.dir={tmp / 'theirs'}"]),
        ("hydra.run.dir", SIM + SMALL + [f"hydra.run.dir={tmp / 'a_study'}"]),
        ("hydra.sweep.dir", SIM + ["-m", "seed=1,2"] + SMALL + [f"hydra.sweep.dir={tmp / 'a_study'}"]),
        ("hydra.sweep.dir", SIM + ["-m", "seed=1,2"] + SMALL + [f"hydra.sweep.dir={tmp / 'sweep_of_theirs'}"]),
        ("hydra.sweep.dir", SIM + ["-m", "seed=1,2"] + SMALL + [f"hydra.sweep.dir={tmp / 'a_file'}"]),
        ("bad.yaml", SIM + ["--config-dir", str(tmp / "cfg"), "scenario=bad"] + SMALL),
        ("--config-dir", SIM + ["--config-dir", str(tmp / "nowhere")] + SMALL),
        ("out", TRIAL + ["esol", f"out={tmp / 'theirs'}"]),
        ("out", TRIAL + ["esol", f"out={tmp / 'a_file'}"]),
        ("sweep folder", GATHER + [str(tmp / "a_file")]),
        ("sweep folder", GATHER + [str(tmp / "theirs")]),
        ("sweep folder", GATHER + [str(tmp / "a_study")]),
    ]


@pytest.mark.slow
def test_unusable_output_folders_and_config_files_are_refused(tmp_path):
    for key, argv in _folder_cases(tmp_path):
        before = _tree(tmp_path)
        r = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        _check(r, key, before, _tree(tmp_path))


@pytest.mark.parametrize("argv", [SIM + ["--help"], TRIAL + ["--help"], GATHER + ["--help"]],
                         ids=["sim", "trial", "gather"])
def test_help_prints_and_exits_zero(tmp_path, argv):
    r = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "usage" in r.stdout.lower() or "powered by hydra" in r.stdout.lower()
    assert list(tmp_path.iterdir()) == []


ROOT = pathlib.Path(__file__).resolve().parent.parent


def _bomb():
    """A 'billion laughs': nine nested aliases of nine (387 million values from 12 lines)."""
    lines = ["name: bomb", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


# cases that need files first: (key, {relative path: text}, argv with {tmp} for the folder)
FILE_CASES = [
    ("scenario.budget_gbp", {"cfg/scenario/cyc.yaml": "name: cyc\nbudget_gbp: ${scenario.description}\n"
                                                       "description: ${scenario.budget_gbp}\n"},
     SIM + ["--config-dir", "{tmp}/cfg", "scenario=cyc"] + SMALL),  # (InterpolationResolutionError)
    ("hydra.launcher._target_", {"cfg/hydra/launcher/bad.yaml": "# @package _global_\nhydra:\n  launcher:\n"
                                                                "    _target_: builtins.dict\n"},
     SIM + ["-m", "--config-dir", "{tmp}/cfg", "hydra/launcher=bad", "seed=1,2"] + SMALL),  # (Invalid plugin)
    ("bomb.yaml", {"cfg/scenario/bomb.yaml": _bomb()},
     SIM + ["--config-dir", "{tmp}/cfg", "scenario=bomb"] + SMALL),  # (hung)
    ("bomb.yaml", {"cfg/scenario/bomb.yaml": _bomb()},
     SIM + ["--cfg", "job", "--config-dir", "{tmp}/cfg", "scenario=bomb"]),  # (hung)
    ("big.yaml", {"cfg/scenario/big.yaml": "name: big\ndescription: " + "x" * 2_000_000 + "\n"},
     SIM + ["--config-dir", "{tmp}/cfg", "scenario=big"] + SMALL),  # (2 MB read, and run)
]


@pytest.mark.parametrize("key, files, argv", FILE_CASES, ids=[f"{i:02d}-{k}" for i, (k, _, _) in
                                                               enumerate(FILE_CASES)])
def test_bad_config_files_are_refused_before_any_work(tmp_path, key, files, argv):
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    before = _tree(tmp_path)
    r = subprocess.run([a.replace("{tmp}", str(tmp_path)) for a in argv], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    _check(r, key, before, _tree(tmp_path))


@pytest.mark.parametrize("where, key, argv", [
    ("configs", "hydra.run.dir", SIM + SMALL + ["hydra.run.dir={out}"]),
    (".venv", "hydra.sweep.dir", SIM + ["-m", "seed=1,2"] + SMALL + ["hydra.sweep.dir={out}"]),
    ("data", "out", TRIAL + ["esol", "scale=0.005", "out={out}"]),
], ids=["run-in-configs", "sweep-in-venv", "trial-in-data"])
def test_output_inside_the_projects_code_or_data_is_refused(tmp_path, where, key, argv):
    """(It changed the code fingerprint, so every cache was recomputed.) Cleaned up if the refusal fails."""
    out = ROOT / where / f".sim-test-bad-input-{os.getpid()}"
    try:
        before = _tree(tmp_path)
        r = subprocess.run([a.replace("{out}", str(out)) for a in argv], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120)
        _check(r, key, before, _tree(tmp_path))
        assert not out.exists()
    finally:
        shutil.rmtree(out, ignore_errors=True)


@pytest.mark.parametrize("kwargs, key", [
    ({"scale": "0.01"}, "scale"),  # (read as 0.01, while weeks='2' was refused)
    ({"interventions": 5}, "interventions"),  # (a TypeError)
    ({"interventions": ["x"]}, "interventions"),  # (an AttributeError in the first week)
], ids=["scale-text", "interventions-number", "interventions-text"])
def test_the_python_api_checks_every_argument(kwargs, key):
    from sim.model import IntegrationModel
    from sim.params import ConfigError

    with pytest.raises(ConfigError, match=f"'{key}'"):
        m = IntegrationModel(**{"area": "walsall", "scale": 0.005, "weeks": 1, "seed": 1, **kwargs})
        m.run()


def test_an_override_of_ten_megabytes_is_refused_before_it_is_read():
    """Through the front ends' door (the command line cannot pass 10 MB in one argument)."""
    from cli.preflight import prepare_study
    from sim.params import ConfigError

    with pytest.raises(ConfigError, match="scenario.description.*characters long"):
        prepare_study(["experiment=quick", "scenario.description=" + "x" * 10_000_000])
