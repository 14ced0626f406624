"""Gather every run of a sweep into one tidy table, its summary, figures and report.

    python -m sim.gather results/multirun/20261124-101500        # writes <sweep>/gathered/report.html

A sweep's jobs are labelled by their overrides (``area`` and ``seed`` aside): e.g. ``balanced
scenario.budget_gbp=1000000.0``. Each funded job carries its paired baseline run; replicates are the seeds of a
job (``replicates=``) or, for single-seed jobs, the seeds swept. Runs a multirun ends with automatically (a Hydra
callback in ``cli.main``). ``sim/gather.py`` is only the launcher of the ``python -m sim.gather`` command; the
gathering is this module.
"""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import pandas as pd
import yaml

from sim.files import OutputFolder
from sim.manifest import MANIFEST, finished, read_manifest
from sim.params import ConfigError

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


def _values(job: pathlib.Path, swept: list[str], baseline: bool) -> dict:
    """The job's value of each swept key (for its baseline, only the keys that change the baseline itself)."""
    out = {}
    for o in _overrides(job):
        k, _, v = o.partition("=")
        k = k.lstrip("+~")
        if k in swept and not (baseline and k.startswith(("scenario.", "interventions."))):
            value = yaml.safe_load(v) if v.strip() else v
            # (a list or mapping, e.g. scenarios written out in study.scenarios, as written: a table cannot hold it)
            out[k] = v if isinstance(value, (list, dict)) else value
    return out


DEPTH = 3  # how deep under a sweep a job's folder may be (a job's folder is named by its overrides, one level;
# an override whose value holds a '/' nests it deeper)
MAX_FOLDERS = 20_000  # folders looked at before the search gives up: a sweep holds one per job, a few levels deep


def _job_folders(sweep: pathlib.Path) -> list[pathlib.Path]:
    """Folders holding a manifest within DEPTH levels of ``sweep``, not looking inside one (a job's own run cache),
    nor in hidden folders, the gathered output or study caches. Searching every level (rglob) of a folder that was
    no sweep (/, a home) walked the whole filesystem before failing."""
    found, seen, level = [], 0, [sweep]
    for _ in range(DEPTH):
        below = []
        for folder in level:
            try:
                subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
            except OSError:
                continue
            for sub in subs:
                if sub.name.startswith(".") or sub.name in ("gathered", "runs"):
                    continue
                seen += 1
                if seen > MAX_FOLDERS:
                    raise ConfigError(f"'{sweep}' holds more than {MAX_FOLDERS:,} folders within {DEPTH} levels: not a "
                                      "sweep folder (give the folder a sweep wrote, its hydra.sweep.dir)")
                (found if (sub / MANIFEST).is_file() else below).append(sub)
        level = below
    return sorted(found)


def check_sweep_folder(sweep: pathlib.Path) -> None:
    """Refuse, before any search, a folder no sweep could be: the filesystem's root, a home folder or one that holds
    them."""
    where = sweep.resolve()
    homes = {pathlib.Path.home().resolve(), pathlib.Path("/root")}
    above = {p for h in homes for p in h.parents} | {pathlib.Path("/home")}
    if where == pathlib.Path(where.anchor) or where in homes | above:
        what = ("is the filesystem root" if where == pathlib.Path(where.anchor) else "is a home folder"
                if where in homes else "holds home folders")
        raise ConfigError(f"'{sweep}' {what}, not a sweep; give the folder a sweep wrote (its hydra.sweep.dir)")


def finished_jobs(sweep: pathlib.Path, skipped: list | None = None) -> list[tuple[pathlib.Path, dict]]:
    """(folder, manifest) of every finished job under ``sweep``: a folder whose manifest says complete and whose
    files are as written. Staging folders of killed runs (``.partial-*``), the gathered output and study caches are
    never jobs; a job's folder that is not finished, or was changed since, is added to ``skipped``."""
    out = []
    for job in _job_folders(sweep):
        manifest = finished(job)
        if manifest and manifest.get("kind") in ("run", "study"):
            out.append((job, manifest))
        elif skipped is not None and (read_manifest(job) or {}).get("kind", "run") in ("run", "study"):
            skipped.append(job)
    return out


def collect(sweep: pathlib.Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Tidy table and programme table of every finished job under ``sweep``."""
    tables, programmes, meta, skipped = [], [], {}, []
    jobs = finished_jobs(sweep, skipped)
    if not jobs:
        raise FileNotFoundError(f"no finished runs under sweep folder '{sweep}' (no job folder with a complete "
                                f"{MANIFEST} within {DEPTH} levels)")
    counts: dict = {}
    for j, _ in jobs:
        for o in _overrides(j):
            counts[o] = counts.get(o, 0) + 1
    varying = {o for o, n in counts.items() if n < len(jobs)}
    swept = sorted({_key(o) for o in varying} - set(_NOT_LABELS))
    values: dict = {}  # label -> {swept key: value}
    codes: dict = {}
    runs: list[dict] = []  # per job, what it says it did (see timing)
    for job, manifest in jobs:
        if manifest["kind"] == "run":
            s = json.loads((job / "summary.json").read_text())
            n = 1 + (job / "baseline_timeseries.csv").exists()
            runs.append({"runs": n, "ran": n, "reused": 0, "workers": 1, "uncertainty": {"parameters": "fixed"}})
            codes.setdefault(s.get("code_fingerprint"), []).append(job)
            label, base = _label(job, s, varying)
            values[label], values[base] = _values(job, swept, False), _values(job, swept, True)
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
            meta.setdefault("scales", set()).add(s["scale"])
            meta.setdefault("weeks", set()).add(s["weeks"])
        else:  # a job that ran several replicates: a small study of its own
            t = pd.read_parquet(job / "tidy.parquet")
            info = json.loads((job / "study.json").read_text())
            codes.setdefault(info.get("code_fingerprint"), []).append(job)
            study = info["study"]
            runs.append({**(info.get("timing") or {}), "uncertainty": study.get("uncertainty") or {
                "parameters": study.get("parameters", "fixed")}})
            t["replicate"] = int(study["seed"]) * 10000 + t["replicate"]  # seed-specific, as for single runs
            label, base = _label(job, {"scenario": next((k for k in study["scenarios"] if k != "baseline"),
                                                        "baseline")}, varying)
            values[label], values[base] = _values(job, swept, False), _values(job, swept, True)
            t["scenario"] = np.where(t["scenario"] == "baseline", base, label)
            t["pair_with"], t["scale"] = base, float(study["scale"])
            tables.append(t)
            if (job / "programmes.csv").exists():
                p = pd.read_csv(job / "programmes.csv")
                p["scenario"] = label
                p["replicate"] = int(study["seed"]) * 10000
                programmes.append(p)
            meta.setdefault("scales", set()).add(study["scale"])
            meta.setdefault("weeks", set()).add(study["weeks"])
    if len(codes) > 1:
        sizes = ", ".join(f"{len(v)} by {k}" for k, v in codes.items())
        raise ConfigError(f"the jobs under {sweep} were made by different versions of the model's code ({sizes}); "
                          "rerun the sweep to bring every job up to date")
    meta["code_fingerprint"] = next(iter(codes))
    tidy = pd.concat(tables, ignore_index=True)
    # a baseline run appears once per funded job on the same seed: keep one
    tidy = tidy.drop_duplicates(subset=["area", "scenario", "replicate", "week"]).reset_index(drop=True)
    for key in swept:  # a column per swept key, as a number where every value is one (numeric ordering)
        col = tidy["scenario"].map(lambda lab, k=key: values.get(lab, {}).get(k))
        num = pd.to_numeric(col, errors="coerce")
        tidy[key] = num if num.notna().sum() == col.notna().sum() else col
    order = [k for k in swept if pd.api.types.is_numeric_dtype(tidy[k])]
    if order:
        tidy = tidy.sort_values(order + ["area", "scenario", "replicate", "week"], kind="stable",
                                na_position="first").reset_index(drop=True)
    meta["swept"] = swept
    meta["timing"], meta["uncertainty"] = timing(runs), uncertainty(runs)
    meta["timing"]["skipped"] = [str(j.relative_to(sweep)) for j in skipped]
    # one value, or every value the jobs ran with (a sweep over weeks= or scale= is not 'the first job's')
    for k in ("scales", "weeks"):
        v = sorted(meta[k])
        meta[k] = v[0] if len(v) == 1 else " and ".join(f"{x:g}" for x in v)
    meta["scale"] = meta.pop("scales")
    return tidy, (pd.concat(programmes, ignore_index=True) if programmes else pd.DataFrame()), meta


def timing(jobs: list[dict]) -> dict:
    """The sweep's counts and time from its jobs' own records: runs, how many each job ran or reused when it was
    written, wall time summed over the jobs that record it (a single run's summary.json does not), workers per
    job. (The gathering itself runs nothing; the report said '?' for all of it.)"""
    timed = [j for j in jobs if "wall_s" in j]
    workers = sorted({int(j["workers"]) for j in jobs if j.get("workers") is not None})
    return {"jobs": len(jobs), "runs": sum(int(j.get("runs", 0)) for j in jobs),
            "ran": sum(int(j.get("ran", 0)) for j in jobs), "reused": sum(int(j.get("reused", 0)) for j in jobs),
            "wall_s": sum(float(j["wall_s"]) for j in timed) if timed else None, "timed_jobs": len(timed),
            "workers": workers}


def uncertainty(jobs: list[dict]) -> dict:
    """What the gathered intervals hold: the jobs' parameter draws if they all agree on the kind, else 'mixed'."""
    kinds = {j["uncertainty"].get("parameters", "fixed") for j in jobs}
    if kinds == {"ensemble"}:
        us = [j["uncertainty"] for j in jobs]
        return {"parameters": "ensemble", "ensemble": us[0].get("ensemble"),
                "ensemble_members": us[0].get("ensemble_members"),
                "sets_used": min(int(u.get("sets_used") or 0) for u in us),
                "seeds_per_set": max(int(u.get("seeds_per_set") or 1) for u in us), "per_job": True}
    count = {k: sum(j["uncertainty"].get("parameters", "fixed") == k for j in jobs) for k in sorted(kinds)}
    return {"parameters": next(iter(kinds)) if len(kinds) == 1 else "mixed", "per_job": True, "jobs": count}


def gather(sweep) -> pathlib.Path:
    """Write ``<sweep>/gathered/``: one tidy table, summary, figures and report of every finished job."""
    from experiments.compare import write_study

    sweep = pathlib.Path(sweep)
    if not sweep.is_dir():
        raise ConfigError(f"sweep folder '{sweep}' does not exist or is not a folder")
    check_sweep_folder(sweep)
    if (sweep / MANIFEST).exists() and (read_manifest(sweep) or {}).get("kind") not in ("sweep", None):
        raise ConfigError(f"sweep folder '{sweep}' holds a {read_manifest(sweep)['kind']}, not a sweep")
    folder = OutputFolder(sweep / "gathered", "gathered", option="the sweep folder")
    folder.check()
    tidy, programmes, meta = collect(sweep)
    skipped = meta["timing"]["skipped"]
    if skipped:
        print(f"warning: {len(skipped)} job folder(s) not gathered (unfinished, or changed since written): "
              f"{', '.join(skipped[:3])}{', ...' if len(skipped) > 3 else ''}", file=sys.stderr)
    study = {"name": f"sweep {sweep.name}", "areas": sorted(tidy["area"].unique()),
             "scenarios": list(dict.fromkeys(tidy["scenario"])),
             "replicates": int(tidy.groupby(["area", "scenario"])["replicate"].nunique().max()),
             # several scales or lengths (a sweep over them): each row keeps its own scale; the report names all
             "scale": meta["scale"] if not isinstance(meta["scale"], str) else None,
             "scales": meta["scale"], "weeks": meta.get("weeks"), "seed": "per job (see each job's config)",
             "swept": meta.get("swept", []), "uncertainty": meta["uncertainty"]}
    with folder.session():
        write_study(folder, tidy, programmes, study, meta["timing"])
    return folder.path


USAGE = """usage: python -m sim.gather <sweep folder>

Gathers every finished job of a Hydra sweep (python -m sim -m ...) into <sweep folder>/gathered/: one tidy
table, the summary, cost per outcome, figures and report. Only jobs whose folder says it is complete are read;
jobs made by different versions of the code are refused (rerun the sweep)."""


def main(argv=None) -> None:
    import logging

    from experiments.stops import install_handlers, stopped
    from sim.checks import fail

    logging.getLogger("MESA").setLevel(logging.WARNING)
    install_handlers(main=True)
    args = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in args):
        print(USAGE)
        return
    if len(args) != 1 or args[0].startswith("-") or not args[0].strip():  # ('' was this folder, searched whole)
        fail(f"'sweep folder' must be given once; {USAGE.splitlines()[0]}")
    try:
        out = gather(args[0])
    except (FileNotFoundError, ConfigError) as e:
        fail(str(e))
    except KeyboardInterrupt:
        stopped(": nothing was gathered (the sweep's jobs are as they were); rerun the same command to gather them")
    except OSError as e:
        from sim.checks import disk_full, is_disk_full

        if not is_disk_full(e):
            raise
        disk_full(e, "nothing was gathered; the sweep's jobs are as they were", None, 40e6)
    print(f"report: {out / 'report.html'}")


if __name__ == "__main__":
    main()
