"""Every experiment file in configs/experiment/ is composed and run end to end at a tiny size (as
lightning-hydra-template's tests/test_sweeps.py does): a new experiment file is tested by being there, and a new
study kind by its declaration (:class:`experiments.kind.StudyKind`: ``tiny`` makes it small, ``outputs`` names what
it writes), with no list here to extend."""

import pathlib
import subprocess
import sys

import pytest
import yaml

from experiments.studies import DEFAULT, KINDS
from sim.manifest import finished

EXPERIMENTS = sorted((pathlib.Path(__file__).resolve().parent.parent / "configs" / "experiment").glob("*.yaml"))
COMMON = ["scale=0.003", "weeks=4", "progress=false"]
SWEEP = ["area=walsall", "scenario.budget_gbp=1000000", "replicates=2"]  # a sweep: each job a replicated run


def kind_of(path: pathlib.Path) -> str | None:
    """The study kind an experiment file declares; None for a sweep (a multirun over hydra.sweeper.params)."""
    cfg = yaml.safe_load(path.read_text()) or {}
    if ((cfg.get("hydra") or {}).get("sweeper") or {}).get("params"):
        return None
    return (cfg.get("study") or {}).get("kind", DEFAULT)


def test_every_experiment_file_declares_a_registered_kind():
    for path in EXPERIMENTS:
        kind = kind_of(path)
        assert kind is None or kind in KINDS, f"{path.name}: study.kind '{kind}' is not in experiments.studies"
    for kind in KINDS.values():
        assert kind.outputs and kind.tiny, f"the '{kind.name}' study kind declares no outputs or no tiny settings"


@pytest.mark.slow
@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_every_experiment_runs_at_a_tiny_size(tmp_path, path):
    name = kind_of(path)
    kind = KINDS[name] if name is not None else None
    out = tmp_path / "out"
    where = f"hydra.sweep.dir={out}" if kind is None else f"hydra.run.dir={out}"
    argv = [sys.executable, "-m", "sim"] + (["-m"] if kind is None else []) + [f"experiment={path.stem}"]
    tiny = SWEEP if kind is None else list(kind.tiny)
    r = subprocess.run(argv + COMMON + tiny + [where], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    if kind is None:
        assert (out / "gathered" / KINDS[DEFAULT].outputs[0]).exists()
        return
    for output in kind.outputs:
        assert (out / output).exists(), output
    assert finished(out) is not None
    assert kind.announcement(out) in r.stdout  # (the line the command ends with names what it wrote)
