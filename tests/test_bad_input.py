"""Bad input to ``python -m sim``, as a hostile user types it: each case is refused before any work with one line
that starts with 'error:' and names the key, no traceback, and nothing left behind (the working folder is
byte-for-byte as it was: no run folder, no log, no journal, no empty parent folder).

Every case is checked in this process, through what the command does before any work (``cli.preflight._preflight``:
every job composed and checked, and the output folder, before Hydra makes anything; its error printed by
``sim.checks.fail``, as ``cli.main`` prints it): see ``tests/bad_input.py``. ``test_bad_input_process.py`` runs one
case of each kind as the command itself; ``test_bad_input_trial.py`` and ``test_bad_input_gather.py`` hold the
other entry points' catalogues."""

import os
import shutil

import pytest

from tests.bad_input import CAL, CMP, OPT, ROOT, SENS, SMALL, VAL, at, in_tmp, make_folders, refused, sim_preflight

WHERE = ["area=walsall", "scenario=balanced"] + SMALL  # (E02002110 and E02002111: Walsall 001 and 002)

# (key the line must name, the command line after 'python -m sim')
CASES = [
    # --- a single run: top-level keys ---
    ("area", ["area=atlantis"] + SMALL),
    ("scale", ["scale=0"]),
    ("scale", ["scale=1.5"]),
    ("scale", ["scale=nan"]),
    ("scale", ["scale=inf"]),
    ("scale", ["scale=big"]),
    ("scale", ["scale=1e-9", "weeks=2"]),
    ("scale", ["experiment=quick", "scale=0.0001", "weeks=2"]),
    ("weeks", ["weeks=-3", "scale=0.005"]),
    ("weeks", ["weeks=2.5", "scale=0.005"]),
    ("weeks", ["weeks=abc", "scale=0.005"]),
    ("seed", ["seed=abc"] + SMALL),
    ("seed", ["seed=-1"] + SMALL),
    ("seed", ["seed=1.5"] + SMALL),
    ("engine", ["engine=turbo"] + SMALL),
    ("replicates", ["replicates=0"] + SMALL),
    ("replicates", ["replicates=abc"] + SMALL),
    ("progress", ["progress=maybe", "scale=0.005", "weeks=2"]),
    ("scale", ["scale=true", "weeks=2"]),  # (float(True) was 1.0: every resident)
    ("weeks", ["weeks=1e6", "scale=0.005"]),
    ("weeks", ["weeks=99999999999999999999", "scale=0.005"]),
    # --- keys Hydra adds without a word, and groups that cannot be edited or removed ---
    ("weks", ["+weks=20"] + SMALL),  # (ran the default 104 weeks)
    ("area", ["--help", "area=atlantis"]),  # (Hydra's traceback)
    ("area", ["--cfg", "job", "area=atlantis"]),
    ("--shell-completion", ["--shell-completion"]),
    ("hydra.sweep.subdir", ["-m", "seed=1,2", "hydra.sweep.subdir=x"] + SMALL),  # (after a job had run)
    ("study.scenarios': 'scenario.budget_gbp", CMP + ["study.scenarios=[baseline,{name: mine, budget_gbp: -5, "
                                                      "allocation: {esol: 0.5}}]"]),
    ("foo", ["++foo=1"] + SMALL),
    ("area.name", ["area.name=walsall"] + SMALL),  # (ran Bradford's residents labelled Walsall)
    ("area.neighbourhoods", ["area=walsall", "area.neighbourhoods=0"] + SMALL),  # (a segfault)
    ("area.census", ["~area.census"] + SMALL),
    ("area.extra", ["+area.extra=1"] + SMALL),
    ("scenario", ["~scenario"] + SMALL),
    ("interventions", ["~interventions"] + SMALL),
    ("model.language", ["model.language=1"] + SMALL),
    ("interventions.esol", ["interventions.esol=1"] + SMALL),
    ("scenario.allocation", ["scenario.allocation=1"] + SMALL),
    ("scenario.name", ["scenario=balanced", "scenario.name=baseline"] + SMALL),  # (dropped from a study)
    ("scenario.name", ["scenario.name=null"] + SMALL),
    ("scenario.budget_gbp", ["scenario=balanced", "scenario.budget_gbp=true"] + SMALL),
    ("study.scenarios", CMP + ["study.areas=[walsall]", "replicates=2", "study.scenarios=[baseline,"
                               "{name: 'a b', budget_gbp: 1000000, allocation: {esol: 0.5}},"
                               "{name: a_b, budget_gbp: 1000000, allocation: {esol: 0.4}}]"]),  # (after the runs)
    # --- parameter uncertainty (every study) ---
    ("parameters", CMP + ["parameters=maybe"]),
    ("parameters", ["parameters=sometimes", "replicates=2"] + SMALL),
    ("parameters", ["parameters=random"] + SMALL),  # (a single run ignored it)
    ("parameters", ["-m", "seed=1,2", "replicates=2", "parameters=Fixed"] + SMALL),  # (before any job)
    ("seeds_per_set", CMP + ["seeds_per_set=0"]),
    ("seeds_per_set", ["seeds_per_set=two"] + SMALL),
    ("ensemble", CMP + ["ensemble=/nowhere/at/all"]),
    ("ensemble", ["replicates=3", "ensemble=no/such/folder"] + SMALL),
    ("study.margins", CMP + ["study.margins={happiness: 1}"]),
    ("study.margins", CMP + ["study.margins={extra_people_in_work: -5}"]),
    ("study.end_week", CMP + ["study.end_week=50"]),
    ("study.end_week", CMP + ["study.end_week=0"]),
    ("nosuchkey", ["nosuchkey=1"] + SMALL),
    ("experiment", ["experiment=nosuch"] + SMALL),
    ("--bogus", ["--bogus"] + SMALL),
    ("area", ["area=bradford,walsall"] + SMALL),  # a sweep without -m
    # --- mechanism and programme parameters ---
    ("model.language.base", ["model.language.base=fast"] + SMALL),
    ("model.language.base", ["model.language.base=-1"] + SMALL),
    ("model.language.speed", ["model.language.speed=1"] + SMALL),
    ("model.ties.homophily.work", ["model.ties.homophily.work=2"] + SMALL),
    ("model.language.class_hour", ["model.language.class_hour=nan"] + SMALL),
    ("model.nosuch", ["+model.nosuch.x=1"] + SMALL),
    ("interventions.esol.unit_cost_gbp", ["interventions.esol.unit_cost_gbp=free"] + SMALL),
    ("interventions.esol.uptake", ["interventions.esol.uptake=inf"] + SMALL),
    ("interventions.yoga", ["interventions.yoga.x=1"] + SMALL),
    # --- scenarios ---
    ("scenario", ["scenario=lavish"] + SMALL),
    ("scenario.budget_gbp", ["scenario=balanced", "scenario.budget_gbp=-1"] + SMALL),
    ("scenario.budget_gbp", ["scenario=balanced", "scenario.budget_gbp=inf"] + SMALL),
    ("scenario.budget_gbp", ["scenario=balanced", "scenario.budget_gbp=nan"] + SMALL),
    ("scenario.allocation.esol", ["scenario=balanced", "scenario.allocation.esol=1.5"] + SMALL),
    ("scenario.allocation.yoga", ["scenario=balanced", "scenario.allocation.yoga=0.1"] + SMALL),
    ("scenario.allocation", ["scenario=balanced", "scenario.allocation.esol=0.7",
                             "scenario.allocation.ncs=0.7"] + SMALL),
    ("scenario.start_week", ["scenario=balanced", "scenario.start_week=500"] + SMALL),
    ("scenario.end_week", ["scenario=balanced", "scenario.end_week=abc"] + SMALL),
    # --- a scenario's places: scenario.where.<programme>=[MSOA codes of the area run] ---
    ("scenario.where.esol", WHERE + ["scenario.where.esol=[E02999999]"]),  # no such MSOA
    ("scenario.where.esol", WHERE + ["scenario.where.esol=[E02002110,E02002615]"]),  # Blackburn with Darwen's
    ("scenario.where.esol", ["scenario=balanced", "scenario.where.esol=[E02002110]"] + SMALL),  # Walsall's, in Bradford
    ("scenario.where.esol", WHERE + ["scenario.where.esol=[]"]),
    ("scenario.where.esol", WHERE + ["scenario.where.esol=E02002110"]),  # not a list
    ("scenario.where.esol", WHERE + ["scenario.where.esol={a: 1}"]),
    ("scenario.where.esol", WHERE + ["scenario.where.esol=[E02002110,E02002110]"]),
    ("scenario.where.refugee_mental_health", WHERE + ["scenario.where.refugee_mental_health=[E02002110]"]),  # share 0
    ("scenario.where.mixed_intakes", WHERE + ["scenario.where.mixed_intakes=[E02002110]"]),  # a policy not on
    ("scenario.where.yoga", WHERE + ["scenario.where.yoga=[E02002110]"]),
    ("scenario.where.yoga", WHERE + ["+scenario.where.yoga=[E02002110]"]),
    ("scenario.where", WHERE + ["scenario.where=5"]),
    ("scenario.where.esol", CMP + ["study.areas=[walsall,bradford]", "study.scenarios=[baseline,{name: mine, "
                                   "budget_gbp: 1e6, allocation: {esol: 0.5}, where: {esol: [E02002110]}}]"]),
    ("scenario.where.ncs", CMP + ["study.areas=[walsall]", "study.scenarios=[baseline,{name: mine, budget_gbp: 1e6, "
                                  "allocation: {esol: 0.5}, where: {ncs: [E02002110]}}]"]),
    # --- the main job ---
    ("study.areas", CMP + ["study.areas=[]"]),
    ("study.areas", CMP + ["study.areas=walsall"]),
    ("study.areas", CMP + ["study.areas=[walsall,walsall]"]),
    ("study.areas", CMP + ["study.areas=[mars]"]),
    ("study.scenarios", CMP + ["study.scenarios=[]"]),
    ("study.scenarios", CMP + ["study.scenarios=[lavish]"]),
    ("study.scenarios", CMP + ["study.scenarios=[baseline,baseline]"]),
    ("study.scenarios", CMP + ["study.scenarios=[baseline,{budget_gbp: 5}]"]),
    ("study.scenarios", CMP + ["study.scenarios=[baseline,{name: english_first, budget_gbp: 5}]"]),
    ("study.scenarios", CMP + ["study.scenarios=[baseline,{name: 'alone:esol', budget_gbp: 5}]"]),
    ("study.scenarios", CMP + ["study.scenarios=[baseline,{name: a, b: 1},{name: a, b: 2}]"]),
    ("scenario.allocation.esol", CMP + ["study.scenarios=[baseline,{name: mine, allocation: {esol: 2}}]"]),
    ("study.launcher", CMP + ["study.launcher=kubernetes"]),
    ("study.ray", CMP + ["study.ray=5"]),
    ("study.ray.address", CMP + ["study.ray={address: ''}"]),
    ("study.ray.address", CMP + ["study.ray={address: '127.0.0.1:99999'}"]),
    ("study.ray.address", CMP + ["study.ray={address: headnode}"]),
    ("study.slurm.account", CMP + ["study.slurm={account: 7}"]),
    ("study.workers", CMP + ["study.workers=-1"]),
    ("study.workers", CMP + ["study.workers=abc"]),
    ("study.workers", CMP + ["study.workers=1.5"]),
    ("replicates", CMP + ["replicates=0"]),
    ("area", CMP + ["area=walsall", "study.areas=[bradford]"]),
    ("study.bogus", CMP + ["+study.bogus=1"]),
    ("weeks", ["experiment=compare_scenarios", "weeks=nan", "scale=0.005"]),
    ("study.name", CMP + ["study.name=a/b"]),
    ("scenario.budget_gbp", ["experiment=quick", "scenario=balanced", "scenario.budget_gbp=inf"] + SMALL),
    # --- sensitivity ---
    ("study.method", SENS + ["study.method=magic"]),
    ("study.trajectories", SENS + ["study.trajectories=0"]),
    ("study.trajectories", SENS + ["study.trajectories=abc"]),
    ("study.samples", SENS + ["study.method=sobol", "study.samples=-4"]),
    ("study.range_factor", SENS + ["study.range_factor=1.5"]),
    ("study.range_factor", SENS + ["study.range_factor=nan"]),
    ("study.scenario", SENS + ["study.scenario=baseline"]),
    ("study.scenario", SENS + ["study.scenario=lavish"]),
    ("model.language.nope", SENS + ["study.parameters=[model.language.nope]"]),
    ("study.parameters", SENS + ["study.parameters=[]"]),
    ("study.parameters", SENS + ["study.parameters=model.language.base"]),
    ("study.parameters", SENS + ["study.parameters=[model.language.base,model.language.base]"]),
    ("study.area", SENS + ["+study.area=bradford"]),
    ("study.workers", SENS + ["study.workers=-2"]),
    # --- calibration and validation ---
    ("study.waves", CAL + ["study.waves=0"]),
    ("study.points", CAL + ["study.points=2"]),
    ("study.cutoff", CAL + ["study.cutoff=-1"]),
    ("study.discrepancy", CAL + ["study.discrepancy=nan"]),
    ("study.ensemble_size", CAL + ["study.ensemble_size=500", "study.max_ensemble_runs=100"]),
    ("observation.mood", CAL + ["study.parameters=[observation.mood]"]),
    ("model.language.nope", CAL + ["study.parameters=[model.language.nope]"]),
    ("study.trial_scale", CAL + ["study.trial_scale=0.0001"]),
    ("scale", ["experiment=calibrate", "scale=0.0002", "weeks=2"]),
    ("study.ensemble", VAL + ["study.ensemble=nowhere/at/all"]),
    ("study.members", VAL + ["study.members=0"]),
    ("study.launcher", CAL + ["study.launcher=magic"]),
    ("study.slurm.queue", CAL + ["study.launcher=slurm", "study.slurm={queue: fast}"]),
    ("study.slurm.jobs", VAL + ["study.launcher=slurm", "study.slurm={jobs: 0}"]),
    ("study.publish", VAL + ["study.publish=perhaps"]),
    # --- budget optimisation ---
    ("study.weights", OPT + ["study.objectives=[weighted]"]),
    ("study.objectives", OPT + ["study.objectives=[nope]"]),
    ("study.objectives", OPT + ["study.objectives=[]"]),
    ("study.objectives", OPT + ["study.objectives=[residents_lifted_out_of_poor_english,extra_people_in_work,"
                                "extra_bridging_ties]"]),
    ("study.trials", OPT + ["study.trials=0"]),
    ("study.budget_gbp", OPT + ["study.budget_gbp=0"]),
    ("study.budget_gbp", OPT + ["study.budget_gbp=inf"]),
    ("study.allocated_share", OPT + ["study.allocated_share=1.5"]),
    ("study.replicates", OPT + ["study.replicates=0"]),
    ("study.check_replicates", OPT + ["study.check_replicates=1"]),
    ("study.compare_with", OPT + ["study.compare_with=[lavish]"]),
    ("ensemble", OPT + ["ensemble=/nowhere/at/all"]),
    ("study.parameters", SENS + ["study.parameters=[interventions.esol.duration_weeks]"]),
    ("study.parameters", SENS + ["study.parameters=some"]),
    ("study.parameters", CAL + ["study.parameters=all"]),
    ("study.others", CAL + ["study.others=sometimes"]),
    ("study.weights", OPT + ["study.objectives=[weighted]", "study.weights={nope: 1}"]),
    # --- sweeps (multirun): every job is checked before any job starts ---
    ("replicates", ["-m", "experiment=budget_sweep", "replicates=0"] + SMALL),
    ("area", ["-m", "experiment=budget_sweep", "area=walsall,mars"] + SMALL),
    ("scenario.budget_gbp", ["-m", "experiment=budget_sweep", "scenario.budget_gbp=1e6,-5"] + SMALL),
    ("seed", ["-m", "seed=1,abc"] + SMALL),
    ("experiment", ["-m", "experiment=nosuch,quick"] + SMALL),
    ("scale", ["-m", "scale=0.01,2", "weeks=2"]),
    ("model.language.base", ["-m", "model.language.base=0.1,-1"] + SMALL),
    # --- sim.trial ---
    # --- sim.gather ---
    # --- names that become folders and files: one rule (sim.checks.check_name) ---
    ("scenario.name", ["scenario.name=" + "a" * 300] + SMALL),  # (OSError: File name too long)
    ("scenario.name", ["scenario.name=../../../escaped"] + SMALL),  # (wrote outside results/)
    ("scenario.name", ["scenario.name=.hidden"] + SMALL),
    ("study.scenarios[1].name", CMP + ["study.areas=[walsall]", "replicates=1", "study.scenarios=[baseline,"
                                       "{name: ../../x, budget_gbp: 1000000, allocation: {esol: 0.5}}]"]),
    ("study.name", CMP + ["study.name=.."]),
    ("hydra.run.dir", SMALL + ["hydra.run.dir=" + "d" * 300]),  # (OSError: File name too long)
    # --- sweeps: every job a folder of its own, inside the sweep; Hydra's own settings are not swept ---
    ("seed", ["-m", "seed=1,1"] + SMALL),  # (failed when the second job started, leaving files)
    ("hydra.sweep.subdir", ["-m", "seed=1,2", "hydra.sweep.subdir=${area.name}"] + SMALL),
    ("hydra.sweep.subdir", ["-m", "seed=1,2", "hydra.sweep.dir=a/b",
                            "hydra.sweep.subdir=../../escape_${seed}"] + SMALL),  # (outside the sweep, exit 0)
    ("hydra.sweep.subdir", ["-m", "seed=1,2", "hydra.sweep.subdir=gathered/${seed}"] + SMALL),
    ("hydra.sweep.dir", ["-m", "seed=1", "hydra.sweep.dir=A,B"] + SMALL),  # (ignored, exit 0)
    # --- every count and amount has an upper bound, checked before any work ---
    ("replicates", ["replicates=1e8"] + SMALL),  # (minutes of silent preparation)
    ("seeds_per_set", ["seeds_per_set=3", "replicates=2", "area=walsall"] + SMALL),
    ("seed", ["seed=99999999999"] + SMALL),
    ("scenario.budget_gbp", ["scenario=balanced", "scenario.budget_gbp=1e300"] + SMALL),  # (3.3e293 places)
    ("scenario.budget_gbp", ["scenario=balanced", "scenario.budget_gbp='5e6'"] + SMALL),  # (text read as one)
    ("study.scenarios", CMP + ["study.areas=[walsall]", "study.scenarios=[baseline," + ",".join(
        f"{{name: s{i}, budget_gbp: 1000}}" for i in range(1000)) + "]"]),
    ("study.programmes_alone", CMP + ["study.programmes_alone=1e300"]),
    ("study.workers", CMP + ["study.workers=100000"]),
    ("study.margins.extra_people_in_work", CMP + ["study.margins={extra_people_in_work: 1e12}"]),
    ("study.budget_gbp", OPT + ["study.budget_gbp=1e300"]),
    ("study.slurm.jobs", CMP + ["study.launcher=submitit_local", "study.slurm={jobs: 100000000}"]),
    # --- a study's kind comes with its experiment ---
    ("study.kind", ["+study.kind=sensitivity"] + SMALL),  # (ran a full sensitivity analysis)
]


@pytest.mark.parametrize("key, argv", CASES, ids=[f"{i:03d}-{k}" for i, (k, _) in enumerate(CASES)])
def test_bad_input_is_refused_before_any_work(monkeypatch, tmp_path, capsys, key, argv):
    in_tmp(monkeypatch, tmp_path)
    refused(lambda: sim_preflight(argv), key, tmp_path, capsys)


# output folders that cannot be used, and config folders that cannot be read (tests.bad_input.make_folders)
FOLDER_CASES = [
    ("hydra.run.dir", SMALL + ["hydra.run.dir={tmp}/a_file"]),
    ("hydra.run.dir", SMALL + ["hydra.run.dir={tmp}/a_file/below"]),
    ("hydra.run.dir", SMALL + ["hydra.run.dir={tmp}/theirs"]),
    ("hydra.run.dir", SMALL + ["hydra.run.dir=/proc/sim-cannot-write-here"]),
    ("hydra.run.dir", CMP + ["hydra.run.dir={tmp}/theirs"]),
    ("hydra.run.dir", SMALL + ["hydra.run.dir={tmp}/a_study"]),
    ("hydra.sweep.dir", ["-m", "seed=1,2"] + SMALL + ["hydra.sweep.dir={tmp}/a_study"]),
    ("hydra.sweep.dir", ["-m", "seed=1,2"] + SMALL + ["hydra.sweep.dir={tmp}/sweep_of_theirs"]),
    ("hydra.sweep.dir", ["-m", "seed=1,2"] + SMALL + ["hydra.sweep.dir={tmp}/a_file"]),
    ("bad.yaml", ["--config-dir", "{tmp}/cfg", "scenario=bad"] + SMALL),
    ("--config-dir", ["--config-dir", "{tmp}/nowhere"] + SMALL),
]


@pytest.mark.parametrize("key, argv", FOLDER_CASES, ids=[f"{i:02d}-{k}" for i, (k, _) in enumerate(FOLDER_CASES)])
def test_unusable_output_folders_and_config_folders_are_refused(monkeypatch, tmp_path, capsys, key, argv):
    make_folders(in_tmp(monkeypatch, tmp_path))
    refused(lambda: sim_preflight(at(argv, tmp_path)), key, tmp_path, capsys)


def _bomb():
    """A 'billion laughs': nine nested aliases of nine (387 million values from 12 lines)."""
    lines = ["name: bomb", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


# cases that need files first: (key, {relative path: text}, argv with {tmp} for the folder)
FILE_CASES = [
    ("scenario.budget_gbp", {"cfg/scenario/cyc.yaml": "name: cyc\nbudget_gbp: ${scenario.description}\n"
                                                       "description: ${scenario.budget_gbp}\n"},
     ["--config-dir", "{tmp}/cfg", "scenario=cyc"] + SMALL),  # (InterpolationResolutionError)
    ("hydra.launcher._target_", {"cfg/hydra/launcher/bad.yaml": "# @package _global_\nhydra:\n  launcher:\n"
                                                                "    _target_: builtins.dict\n"},
     ["-m", "--config-dir", "{tmp}/cfg", "hydra/launcher=bad", "seed=1,2"] + SMALL),  # (Invalid plugin)
    ("bomb.yaml", {"cfg/scenario/bomb.yaml": _bomb()},
     ["--config-dir", "{tmp}/cfg", "scenario=bomb"] + SMALL),  # (hung)
    ("bomb.yaml", {"cfg/scenario/bomb.yaml": _bomb()},
     ["--cfg", "job", "--config-dir", "{tmp}/cfg", "scenario=bomb"]),  # (hung)
    ("big.yaml", {"cfg/scenario/big.yaml": "name: big\ndescription: " + "x" * 2_000_000 + "\n"},
     ["--config-dir", "{tmp}/cfg", "scenario=big"] + SMALL),  # (2 MB read, and run)
    ("scenario.where.esol", {"cfg/scenario/mine.yaml": "defaults:\n  - _schema\n  - _self_\nname: mine\n"
                                                        "budget_gbp: 1000000\nallocation: {esol: 0.5}\n"
                                                        "where: {esol: [E09999999]}\n"},
     ["--config-dir", "{tmp}/cfg", "area=walsall", "scenario=mine"] + SMALL),
]


@pytest.mark.parametrize("key, files, argv", FILE_CASES, ids=[f"{i:02d}-{k}" for i, (k, _, _) in
                                                               enumerate(FILE_CASES)])
def test_bad_config_files_are_refused_before_any_work(monkeypatch, tmp_path, capsys, key, files, argv):
    in_tmp(monkeypatch, tmp_path)
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    refused(lambda: sim_preflight(at(argv, tmp_path)), key, tmp_path, capsys)


@pytest.mark.parametrize("where, key, argv", [
    ("configs", "hydra.run.dir", SMALL + ["hydra.run.dir={out}"]),
    (".venv", "hydra.sweep.dir", ["-m", "seed=1,2"] + SMALL + ["hydra.sweep.dir={out}"]),
], ids=["run-in-configs", "sweep-in-venv"])
def test_output_inside_the_projects_code_or_data_is_refused(monkeypatch, tmp_path, capsys, where, key, argv):
    """(It changed the code fingerprint, so every cache was recomputed.) Cleaned up if the refusal fails."""
    in_tmp(monkeypatch, tmp_path)
    out = ROOT / where / f".sim-test-bad-input-{os.getpid()}"
    try:
        refused(lambda: sim_preflight([a.replace("{out}", str(out)) for a in argv]), key, tmp_path, capsys)
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
