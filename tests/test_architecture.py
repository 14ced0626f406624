"""The layering (docs/architecture.md) is a checked contract, not a picture: the model in `sim/` imports nothing
above it, only the command line imports Hydra, figures and the report import nothing that runs a model, the
studies are layered, and no package has import circles."""

import pathlib
import shutil
import subprocess
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    exe = shutil.which("lint-imports", path=str(pathlib.Path(sys.executable).parent))
    assert exe, "import-linter is a dev dependency (pip install -e .[dev])"
    r = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert "BROKEN" not in r.stdout and r.stdout.count("KEPT") == len(contracts) >= 8  # each declared one checked


def test_the_model_floor_runs_without_the_studies(tmp_path):
    """Importing the model and running it loads nothing from experiments/ or cli/ (and no Hydra)."""
    code = ("import sys\n"
            "from sim.model import IntegrationModel\n"
            "m = IntegrationModel(area='walsall', scale=0.003, seed=1, weeks=2)\n"
            "m.run()\n"
            "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('experiments', 'cli', 'hydra', 'omegaconf'))\n"
            "print(bad)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", r.stdout
