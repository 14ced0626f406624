"""Studies: replicates x scenarios x areas -> one tidy table -> medians, 10-90% bands, paired differences.

Replicate ``r`` of every scenario in an area uses the same seed (child ``r`` of the study's SeedSequence), so a
scenario and the baseline differ only where the funding changes something (common random numbers) and every
difference is paired. Each run's table is cached under ``runs/<config hash>/`` as it finishes (written to a
temporary name, then renamed), so an interrupted study resumes where it stopped and a changed config never reuses
stale runs. Nothing here imports Hydra; ``sim.cli`` calls :func:`run_study` with a plain config.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import json
import multiprocessing
import os
import pathlib
import time

import numpy as np
import pandas as pd

from sim.costs import OUTCOMES, RATIO_NAMES
from sim.indicators import EXTRA, INDICATORS

KEY = ["area", "scenario", "replicate"]
LOW, HIGH = 0.1, 0.9  # the band shown everywhere: 10th to 90th percentile across replicates


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One model run: everything needed to repeat it in another process."""

    area: str
    scenario: str  # a label (the provided scenario's name, or the job's label in a sweep)
    scenario_config: dict | str
    replicate: int
    seed: int
    scale: float
    weeks: int
    params: dict
    interventions: dict
    replicates: int

    def seed_sequence(self) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed).spawn(self.replicates)[self.replicate]


def run_one(spec: RunSpec) -> tuple[pd.DataFrame, list[dict]]:
    """Run a model; return its weekly table (with the run's keys) and its programme report."""
    import logging

    from sim.model import IntegrationModel

    logging.getLogger("MESA").setLevel(logging.WARNING)
    m = IntegrationModel(area=spec.area, scale=spec.scale, seed=spec.seed_sequence(), weeks=spec.weeks,
                         params=spec.params, scenario=spec.scenario_config, intervention_params=spec.interventions)
    m.run()
    ts = m.timeseries()
    ts.insert(0, "replicate", spec.replicate)
    ts.insert(0, "scenario", spec.scenario)
    ts.insert(0, "area", spec.area)
    report = [{"area": spec.area, "scenario": spec.scenario, "replicate": spec.replicate, **r}
              for r in m.intervention_report()]
    m.release()
    return ts, report


def config_hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _atomic_write(path: pathlib.Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)


def _cache_paths(cache: pathlib.Path, spec: RunSpec) -> tuple[pathlib.Path, pathlib.Path]:
    stem = f"{spec.area}__{spec.scenario}__rep{spec.replicate:03d}"
    safe = "".join(c if c.isalnum() or c in "._=-" else "_" for c in stem)
    return cache / f"{safe}.parquet", cache / f"{safe}.interventions.json"


def _run_and_cache(spec: RunSpec, cache: pathlib.Path) -> tuple[RunSpec, float]:
    t = time.perf_counter()
    ts, report = run_one(spec)
    table, rep = _cache_paths(cache, spec)
    _atomic_write(rep, lambda p: p.write_text(json.dumps(report, default=float)))
    _atomic_write(table, lambda p: ts.to_parquet(p, index=False))  # the table last: it marks the run complete
    return spec, time.perf_counter() - t


def run_all(specs: list[RunSpec], cache: pathlib.Path, workers: int = 0, progress: bool = True) -> dict:
    """Run every spec not already cached (in parallel processes); returns timing figures."""
    todo = [s for s in specs if not _cache_paths(cache, s)[0].exists()]
    done_before = len(specs) - len(todo)
    todo.sort(key=lambda s: (-s.weeks * s.scale * _AREA_SIZE.get(s.area, 1.0), s.replicate))
    workers = workers or os.cpu_count() or 1
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(specs), initial=done_before, desc="runs", unit="run")
    t0 = time.perf_counter()
    seconds = []
    if workers == 1 or len(todo) <= 1:
        for s in todo:
            seconds.append(_run_and_cache(s, cache)[1])
            bar and bar.update(1)
    else:
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx) as pool:
            futures = [pool.submit(_run_and_cache, s, cache) for s in todo]
            for f in cf.as_completed(futures):
                seconds.append(f.result()[1])
                bar and bar.update(1)
    if bar:
        bar.close()
    return {"runs": len(specs), "ran": len(todo), "reused": done_before, "wall_s": time.perf_counter() - t0,
            "run_s": float(np.sum(seconds)) if seconds else 0.0, "workers": workers}


_AREA_SIZE = {"bradford": 546, "waltham_forest": 278, "walsall": 284, "peterborough": 216,
              "blackburn_with_darwen": 155}


def load_cache(specs: list[RunSpec], cache: pathlib.Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    tables, reports = [], []
    for s in specs:
        table, rep = _cache_paths(cache, s)
        tables.append(pd.read_parquet(table))
        reports += json.loads(rep.read_text())
    return pd.concat(tables, ignore_index=True), pd.DataFrame(reports)


# --- reductions ----------------------------------------------------------------------------------------------


def _q(x, q):
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    return float(np.quantile(x, q)) if len(x) else float("nan")


def final_rows(tidy: pd.DataFrame) -> pd.DataFrame:
    last = tidy.groupby(KEY)["week"].transform("max")
    return tidy[tidy["week"] == last].reset_index(drop=True)


def baseline_labels(tidy: pd.DataFrame) -> set:
    """Labels of the baseline runs: 'baseline', or in a gathered sweep one per context (see sim.gather)."""
    return set(tidy["pair_with"]) if "pair_with" in tidy else {"baseline"} & set(tidy["scenario"])


def paired_differences(tidy: pd.DataFrame) -> pd.DataFrame:
    """Each run minus its baseline (same area and replicate; in a sweep, the baseline of the same context),
    for every week and column. A table without a ``pair_with`` column pairs every run with 'baseline'."""
    cols = [c for c in tidy.columns if c not in KEY + ["week", "pair_with", "scale"]]
    left = tidy if "pair_with" in tidy else tidy.assign(pair_with="baseline")
    base = left[left["scenario"].isin(baseline_labels(tidy))].drop(columns=["pair_with"])
    base = base.rename(columns={"scenario": "pair_with"})
    merged = left.merge(base, on=["area", "replicate", "week", "pair_with"], suffixes=("", "_base"))
    out = merged[KEY + ["week"]].copy()
    for c in cols:
        out[c] = merged[c] - merged[f"{c}_base"]
    return out


def summarise(tidy: pd.DataFrame) -> pd.DataFrame:
    """Per area, scenario and indicator: the final value's median and 10-90% interval across replicates, and the
    paired difference against the baseline with its interval."""
    fin = final_rows(tidy)
    diff = final_rows(paired_differences(tidy)) if baseline_labels(tidy) else None
    rows = []
    for (area, scen), g in fin.groupby(["area", "scenario"], sort=False):
        d = diff[(diff["area"] == area) & (diff["scenario"] == scen)] if diff is not None else None
        for ind in INDICATORS:
            row = {"area": area, "scenario": scen, "indicator": ind, "replicates": len(g),
                   "median": _q(g[ind], 0.5), "p10": _q(g[ind], LOW), "p90": _q(g[ind], HIGH)}
            if d is not None and len(d):
                row.update({"diff_median": _q(d[ind], 0.5), "diff_p10": _q(d[ind], LOW),
                            "diff_p90": _q(d[ind], HIGH)})
            rows.append(row)
    return pd.DataFrame(rows)


def cost_table(tidy: pd.DataFrame, scale: float) -> pd.DataFrame:
    """Cost per outcome per area and scenario: spend over the paired gain (area-equivalent counts: simulated
    counts / scale, or a row's own ``scale`` in a gathered sweep), with the interval from the gain's 10-90%
    range. None where the scenario did not beat the baseline."""
    bases = baseline_labels(tidy)
    if not bases:
        return pd.DataFrame()
    diff = final_rows(paired_differences(tidy))
    fin = final_rows(tidy)
    rows = []
    for (area, scen), d in diff.groupby(["area", "scenario"], sort=False):
        if scen in bases:
            continue
        f = fin[(fin["area"] == area) & (fin["scenario"] == scen)]
        spend = _q(f["spend_gbp"], 0.5)
        sc = float(f["scale"].iloc[0]) if "scale" in f else scale
        row = {"area": area, "scenario": scen, "spend_gbp": spend}
        for gain, col, sign in OUTCOMES:
            g = sign * d[col].to_numpy(dtype=float) / sc
            med, lo, hi = _q(g, 0.5), _q(g, LOW), _q(g, HIGH)
            ratio = RATIO_NAMES[gain]
            row[gain] = med
            row[f"{gain}_p10"], row[f"{gain}_p90"] = lo, hi
            row[ratio] = spend / med if med > 0 and spend > 0 else None
            row[f"{ratio}_low"] = spend / hi if hi > 0 and spend > 0 else None
            row[f"{ratio}_high"] = spend / lo if lo > 0 and spend > 0 else None
        rows.append(row)
    return pd.DataFrame(rows)


# --- a whole study -------------------------------------------------------------------------------------------


def build_specs(areas, scenarios: dict, replicates: int, seed: int, scale: float, weeks: int, params: dict,
                interventions: dict) -> list[RunSpec]:
    """``scenarios`` maps a label to a scenario name or mapping; replicate r shares its seed across labels."""
    return [RunSpec(area, label, cfg, r, seed, scale, weeks, params or {}, interventions or {}, replicates)
            for area in areas for label, cfg in scenarios.items() for r in range(replicates)]


def run_study(study: dict, out_dir, progress: bool = True) -> pathlib.Path:
    """Run (or resume) a study and write its tidy table, summary, cost table, figures and report."""
    from sim.config import check_run, load_area, model_params
    from sim.scenario import check as check_scenario
    from sim.scenario import intervention_params

    out = pathlib.Path(out_dir)
    areas = list(study["areas"])
    scenarios = dict(study["scenarios"])
    replicates = int(study["replicates"])
    scale, weeks, seed, _ = check_run(study["scale"], study["weeks"], study["seed"], "vectorised")
    if replicates < 1:
        from sim.params import ConfigError

        raise ConfigError(f"'replicates' must be a whole number >= 1, got {replicates}")
    model_params(study.get("model"))
    intervention_params(study.get("interventions"))
    for a in areas:
        load_area(a)
        for cfg in scenarios.values():
            check_scenario(cfg, a, weeks)
    payload = {k: study.get(k) for k in ("scale", "weeks", "seed", "model", "interventions", "replicates")}
    payload["scenarios"] = {k: (v if isinstance(v, dict) else _scenario_file(v)) for k, v in scenarios.items()}
    cache = out / "runs" / config_hash(payload)
    specs = build_specs(areas, scenarios, replicates, seed, scale, weeks, study.get("model"),
                        study.get("interventions"))
    timing = run_all(specs, cache, workers=int(study.get("workers") or 0), progress=progress)
    tidy, programmes = load_cache(specs, cache)
    write_study(out, tidy, programmes, study, timing)
    return out


def _scenario_file(name: str) -> dict:
    from sim.scenario import load_scenario

    return load_scenario(name)


def write_study(out: pathlib.Path, tidy: pd.DataFrame, programmes: pd.DataFrame, study: dict,
                timing: dict | None = None) -> None:
    """Tables, figures and the report from the tidy table alone (atomically, report last)."""
    from sim import plots, report

    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(tidy)
    costs = cost_table(tidy, float(study["scale"]) if study.get("scale") else 1.0)
    _atomic_write(out / "tidy.parquet", lambda p: tidy.to_parquet(p, index=False))
    _atomic_write(out / "summary.csv", lambda p: summary.to_csv(p, index=False, float_format="%.6g"))
    if len(costs):
        _atomic_write(out / "cost_per_outcome.csv", lambda p: costs.to_csv(p, index=False, float_format="%.6g"))
    if len(programmes):
        prog = (programmes.groupby(["area", "scenario", "intervention"], sort=False)
                .median(numeric_only=True).drop(columns="replicate", errors="ignore").reset_index())
        _atomic_write(out / "programmes.csv", lambda p: prog.to_csv(p, index=False, float_format="%.6g"))
    else:
        prog = pd.DataFrame()
    figures = plots.study_figures(tidy, summary, costs, out, study)
    meta = {"study": study, "timing": timing or {}, "generated": time.strftime("%Y-%m-%d %H:%M:%S")}
    from sim.results import git_commit, versions

    meta["versions"], meta["git_commit"] = versions(), git_commit()
    _atomic_write(out / "study.json", lambda p: p.write_text(json.dumps(meta, indent=2, default=str)))
    html = report.render(summary, costs, prog, figures, meta, out_dir=out)
    _atomic_write(out / "report.html", lambda p: p.write_text(html))


__all__ = ["RunSpec", "run_one", "run_study", "summarise", "cost_table", "paired_differences", "final_rows",
           "write_study", "build_specs", "run_all", "load_cache", "EXTRA"]
