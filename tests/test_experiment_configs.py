"""Every experiment file in configs/experiment/ is composed and run end to end at a tiny size (as
lightning-hydra-template's tests/test_sweeps.py does): a new experiment file is tested by being there."""

import pathlib
import subprocess
import sys

import pytest
import yaml

from sim.files import finished

EXPERIMENTS = sorted((pathlib.Path(__file__).resolve().parent.parent / "configs" / "experiment").glob("*.yaml"))
COMMON = ["scale=0.003", "weeks=4", "progress=false"]
TINY = {  # what makes each kind of study tiny
    "compare": ["replicates=2", "study.areas=[walsall]", "study.scenarios=[baseline,balanced]"],
    "sensitivity": ["study.trajectories=2", "study.parameters=[model.language.class_hour,interventions.esol.uptake]"],
    "optimise": ["area=walsall", "study.trials=2", "study.replicates=1", "study.check_replicates=2",
                 "study.compare_with=[balanced]"],
    "sweep": ["area=walsall", "scenario.budget_gbp=1000000", "replicates=2"],
    "calibrate": ["study.parameters=[model.language.class_hour,observation.esol_level_width]", "study.waves=1",
                  "study.points=6", "study.ensemble_size=2", "study.max_ensemble_runs=4", "study.candidates=500",
                  "study.max_candidates=1000",
                  "study.trial_scale=0.02"],
    "validate": ["study.members=1", "study.publish=false"],  # the project's published ensemble
}
OUTPUT = {"compare": "report.html", "sensitivity": "sensitivity.csv", "optimise": "optimisation.html",
          "sweep": "gathered/report.html", "calibrate": "ensemble.csv", "validate": "validation.csv"}


def kind_of(path: pathlib.Path) -> str:
    cfg = yaml.safe_load(path.read_text()) or {}
    if ((cfg.get("hydra") or {}).get("sweeper") or {}).get("params"):
        return "sweep"
    return (cfg.get("study") or {}).get("kind", "compare")


@pytest.mark.slow
@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_every_experiment_runs_at_a_tiny_size(tmp_path, path):
    kind = kind_of(path)
    out = tmp_path / "out"
    where = f"hydra.sweep.dir={out}" if kind == "sweep" else f"hydra.run.dir={out}"
    argv = [sys.executable, "-m", "sim"] + (["-m"] if kind == "sweep" else []) + [f"experiment={path.stem}"]
    r = subprocess.run(argv + COMMON + TINY[kind] + [where], cwd=tmp_path, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out / OUTPUT[kind]).exists()
    if kind != "sweep":
        assert finished(out) is not None
