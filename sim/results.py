"""One run's files, written atomically with their provenance.

Files are first written under a hidden temporary folder beside their destination and then renamed into place;
``summary.json`` is renamed last, so its presence means the run is complete. An interrupted run leaves nothing
that looks finished.
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import shutil
import subprocess
import tempfile
from importlib import metadata

import pandas as pd

from sim import costs
from sim.indicators import INDICATORS
from sim.plots import plot_run

PACKAGES = ("mesa", "numpy", "scipy", "pandas", "matplotlib", "hydra-core", "omegaconf", "pyarrow")
REPO = pathlib.Path(__file__).resolve().parent.parent


def versions() -> dict:
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def git_commit() -> str | None:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def summary(model, config: dict, baseline=None) -> dict:
    ts = model.timeseries()
    out = {
        "area": model.area["name"],
        "scenario": model.scenario.name,
        "seed": config.get("seed"),
        "scale": model.scale,
        "weeks": model.weeks,
        "engine": model.engine,
        "n_residents": int(ts["n_residents"].iloc[0]),
        "n_residents_final": int(ts["n_residents"].iloc[-1]),
        "initial": {k: float(ts[k].iloc[0]) for k in INDICATORS},
        "final": {k: float(ts[k].iloc[-1]) for k in INDICATORS},
        "budget_gbp": model.scenario.budget_gbp,
        "allocated_gbp": model.scenario.allocated_gbp,
        "unallocated_gbp": model.scenario.unallocated_gbp,
        "spend_gbp": model.spend_gbp,
        "interventions": model.intervention_report(),
        "versions": versions(),
        "git_commit": git_commit(),
        "config": config,
    }
    if baseline is not None:
        b = baseline.current
        out["baseline_final"] = {k: float(b[k]) for k in INDICATORS}
        out["difference_vs_baseline"] = costs.differences(model.current, b)
        out["cost_per_outcome"] = costs.compare(model.current, b, model.spend_gbp, model.scale)
    return out


def write_run(out_dir, model, config: dict, baseline=None) -> pathlib.Path:
    """timeseries.csv, demography.csv, indicators.png and summary.json into ``out_dir``; with a funded scenario
    also interventions.csv and the paired baseline's baseline_timeseries.csv."""
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
    try:
        ts = model.timeseries()
        ts.to_csv(tmp / "timeseries.csv", index=False, float_format="%.10g")
        demo = pd.DataFrame(model.demography_log, columns=["week", "deaths", "births", "moved_out", "moved_in",
                                                           "international_arrivals"])
        demo.to_csv(tmp / "demography.csv", index=False)
        names = ["timeseries.csv", "demography.csv", "indicators.png"]
        base_ts = None
        if baseline is not None:
            base_ts = baseline.timeseries()
            base_ts.to_csv(tmp / "baseline_timeseries.csv", index=False, float_format="%.10g")
            names.append("baseline_timeseries.csv")
        if model.interventions:
            pd.DataFrame(model.intervention_report()).to_csv(tmp / "interventions.csv", index=False)
            names.append("interventions.csv")
        title = (f"{model.area['label']}: {model.scenario.name}, seed {config.get('seed')}, scale {model.scale}, "
                 f"{model.weeks} weeks")
        plot_run(ts, tmp / "indicators.png", title, demo, baseline=base_ts)
        (tmp / "summary.json").write_text(json.dumps(summary(model, config, baseline), indent=2, default=str))
        for name in names + ["summary.json"]:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
