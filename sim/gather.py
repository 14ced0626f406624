"""Gather every run of a sweep into one tidy table, its summary, figures and report.

    python -m sim.gather results/multirun/20261124-101500        # writes <sweep>/gathered/report.html

A sweep's jobs are labelled by their overrides (``area`` and ``seed`` aside): e.g. ``balanced
scenario.budget_gbp=1000000.0``. Each funded job carries its paired baseline run; replicates are the seeds of a
job (``replicates=``) or, for single-seed jobs, the seeds swept. Runs a multirun ends with automatically (a Hydra
callback in ``sim.cli``).
"""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import pandas as pd
import yaml

_NOT_LABELS = ("area", "seed", "scenario", "progress", "replicates")


def _overrides(job: pathlib.Path) -> list[str]:
    try:
        return yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text()) or []
    except OSError:
        return []


def _key(o: str) -> str:
    return o.split("=", 1)[0].lstrip("+~")


def _label(job: pathlib.Path, summary: dict, varying: set) -> tuple[str, str]:
    """(the job's label, its baseline's label). The label is the scenario's name plus the job's overrides that
    differ between jobs; the baseline's label keeps only the overrides that change the baseline itself (not the
    scenario's money or allocation), so each job pairs with the baseline of its own context."""
    rest = sorted(o for o in _overrides(job) if o in varying and _key(o) not in _NOT_LABELS)
    context = [o for o in rest if not _key(o).startswith(("scenario.", "interventions."))]
    return " ".join([summary.get("scenario", "scenario")] + rest), " ".join(["baseline"] + context)


def collect(sweep: pathlib.Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Tidy table and programme table of every finished job under ``sweep``."""
    tables, programmes, meta = [], [], {}
    jobs = [p.parent for p in sweep.rglob("overrides.yaml") if "gathered" not in p.parts]
    counts: dict = {}
    for j in jobs:
        for o in _overrides(j.parent):
            counts[o] = counts.get(o, 0) + 1
    varying = {o for o, n in counts.items() if n < len(jobs)}
    for summary_path in sorted(sweep.rglob("summary.json")):
        job = summary_path.parent
        if "gathered" in job.parts or "runs" in job.parts:
            continue
        s = json.loads(summary_path.read_text())
        label, base = _label(job, s, varying)
        area = s["area"]
        rep = int(s["seed"]) * 10000  # replicate id = the seed: jobs on the same seed pair up
        for file, scen in (("timeseries.csv", label), ("baseline_timeseries.csv", base)):
            if (job / file).exists():
                t = pd.read_csv(job / file)
                t.insert(0, "replicate", rep)
                t.insert(0, "scenario", base if s["scenario"] == "baseline" else scen)
                t.insert(0, "area", area)
                t["pair_with"], t["scale"] = base, float(s["scale"])
                tables.append(t)
        if (job / "interventions.csv").exists():
            p = pd.read_csv(job / "interventions.csv")
            p.insert(0, "replicate", rep)
            p.insert(0, "scenario", label)
            p.insert(0, "area", area)
            programmes.append(p)
        meta.setdefault("scale", s["scale"])
        meta.setdefault("weeks", s["weeks"])
    for tidy_path in sorted(sweep.rglob("tidy.parquet")):  # jobs that ran several replicates each
        job = tidy_path.parent
        if "gathered" in job.parts:
            continue
        t = pd.read_parquet(tidy_path)
        study = json.loads((job / "study.json").read_text())["study"]
        t["replicate"] = int(study["seed"]) * 10000 + t["replicate"]  # seed-specific, as for single runs
        label, base = _label(job, {"scenario": next((k for k in study["scenarios"] if k != "baseline"),
                                                    "baseline")}, varying)
        t["scenario"] = np.where(t["scenario"] == "baseline", base, label)
        t["pair_with"], t["scale"] = base, float(study["scale"])
        tables.append(t)
        if (job / "programmes.csv").exists():
            p = pd.read_csv(job / "programmes.csv")
            p["scenario"] = label
            p["replicate"] = int(study["seed"]) * 10000
            programmes.append(p)
        meta.setdefault("scale", study["scale"])
        meta.setdefault("weeks", study["weeks"])
    if not tables:
        raise FileNotFoundError(f"no finished runs under {sweep}")
    tidy = pd.concat(tables, ignore_index=True)
    # a baseline run appears once per funded job on the same seed: keep one
    tidy = tidy.drop_duplicates(subset=["area", "scenario", "replicate", "week"]).reset_index(drop=True)
    return tidy, (pd.concat(programmes, ignore_index=True) if programmes else pd.DataFrame()), meta


def gather(sweep) -> pathlib.Path:
    from sim.experiment import write_study

    sweep = pathlib.Path(sweep)
    tidy, programmes, meta = collect(sweep)
    out = sweep / "gathered"
    study = {"name": f"sweep {sweep.name}", "areas": sorted(tidy["area"].unique()),
             "scenarios": list(dict.fromkeys(tidy["scenario"])),
             "replicates": int(tidy.groupby(["area", "scenario"])["replicate"].nunique().max()),
             "scale": meta.get("scale"), "weeks": meta.get("weeks"), "seed": "per job (see each job's config)"}
    write_study(out, tidy, programmes, study)
    return out


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m sim.gather <sweep folder>")
    try:
        out = gather(sys.argv[1])
    except FileNotFoundError as e:
        sys.exit(f"error: {e}")
    print(f"report: {out / 'report.html'}")


if __name__ == "__main__":
    main()
