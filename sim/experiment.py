"""Studies: replicates x scenarios x areas -> one tidy table -> medians, 10-90% bands, paired differences.

Replicate ``r`` of every scenario in an area uses the same seed (child ``r`` of the study's SeedSequence), so a
scenario and the baseline differ only where the funding changes something (common random numbers) and every
difference is paired. Each run's table is cached under ``runs/<config hash>/`` as it finishes (written to a
temporary name, then renamed), so an interrupted study resumes where it stopped and a changed config never reuses
stale runs. Nothing here imports Hydra; ``sim.cli`` calls :func:`run_study` with a plain config.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import pathlib
import time

import numpy as np
import pandas as pd

from sim.costs import OUTCOMES, RATIO_NAMES
from sim.files import OutputFolder, atomic_write, key_of, provenance, write_texts
from sim.indicators import EXTRA, INDICATORS
from sim.params import ConfigError
from sim.workers import Interrupted, is_stop, run_each, workers_for

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
    """The key of a cache folder: the configuration together with the model's code, data and versions."""
    return key_of(payload)


def _cache_path(cache: pathlib.Path, spec: RunSpec) -> pathlib.Path:
    stem = f"{spec.area}__{spec.scenario}__rep{spec.replicate:03d}"
    safe = "".join(c if c.isalnum() or c in "._=-" else "_" for c in stem)
    return cache / f"{safe}.parquet"


def spec_key(spec: RunSpec) -> str:
    return key_of(dataclasses.asdict(spec))


def _run_and_cache(spec: RunSpec, cache: pathlib.Path) -> tuple[RunSpec, float]:
    """Run one model and store its table with its key and programme report in the file's own metadata: one
    file per run, renamed into place whole, so it is either complete and self-describing or absent."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = time.perf_counter()
    ts, report = run_one(spec)
    table = pa.Table.from_pandas(ts, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"sim_key"] = spec_key(spec).encode()
    meta[b"sim_report"] = json.dumps(report, default=float).encode()
    atomic_write(_cache_path(cache, spec), lambda p: pq.write_table(table.replace_schema_metadata(meta), p))
    return spec, time.perf_counter() - t


def check_cached(spec: RunSpec, path: pathlib.Path) -> str | None:
    """Why a cached run cannot be used (None if it can): unreadable, made for another run, or not whole."""
    import pyarrow.parquet as pq

    if not path.exists():
        return "missing"
    try:
        md = pq.read_metadata(path)
        key = (md.metadata or {}).get(b"sim_key", b"").decode()
        rows = md.num_rows
    except Exception as e:  # a truncated or foreign file: pyarrow raises several kinds
        return f"unreadable ({type(e).__name__})"
    if key != spec_key(spec):
        return "made for another run"
    if rows != spec.weeks + 1:
        return f"has {rows} weeks, expected {spec.weeks + 1}"
    return None


def run_all(specs: list[RunSpec], cache: pathlib.Path, workers: int = 0, progress: bool = True) -> dict:
    """Run every spec without a valid cached result (in parallel processes); returns timing figures.

    Each cached item is checked before it is reused (its key and rows); a bad one is recomputed with a warning.
    A stop signal keeps every finished run and raises :class:`sim.workers.Interrupted` saying so."""
    import sys

    todo = []
    for s in specs:
        why = check_cached(s, _cache_path(cache, s))
        if why and why != "missing":
            print(f"warning: cached run {_cache_path(cache, s).name} is {why}: recomputing it", file=sys.stderr)
        if why:
            todo.append(s)
    done_before = len(specs) - len(todo)
    todo.sort(key=lambda s: (-s.weeks * s.scale * _AREA_SIZE.get(s.area, 1.0), s.replicate))
    n_workers = workers_for(workers, len(todo))
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(specs), initial=done_before, desc="runs", unit="run")
    t0 = time.perf_counter()
    seconds = []

    def done(result):
        seconds.append(result[1])
        bar and bar.update(1)

    try:
        run_each(functools.partial(_run_and_cache, cache=cache), todo, n_workers, on_done=done)
    except KeyboardInterrupt:
        kept = done_before + len(seconds)
        if not kept:
            raise Interrupted(f"no run of {len(specs)} had finished, so nothing was kept") from None
        raise Interrupted(f"{kept} of {len(specs)} runs are finished and kept in {cache}; rerun the same "
                          "command to resume") from None
    finally:
        if bar:
            bar.close()
    return {"runs": len(specs), "ran": len(todo), "reused": done_before, "wall_s": time.perf_counter() - t0,
            "run_s": float(np.sum(seconds)) if seconds else 0.0, "workers": n_workers}


_AREA_SIZE = {"bradford": 546, "waltham_forest": 278, "walsall": 284, "peterborough": 216,
              "blackburn_with_darwen": 155}


def load_cache(specs: list[RunSpec], cache: pathlib.Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every spec's cached table (checked by :func:`run_all`) and programme report."""
    import pyarrow.parquet as pq

    tables, reports = [], []
    for s in specs:
        t = pq.read_table(_cache_path(cache, s))
        df = t.to_pandas()
        if not ((df["area"] == s.area).all() and (df["scenario"] == s.scenario).all()
                and (df["replicate"] == s.replicate).all()):
            raise RuntimeError(f"cached run {_cache_path(cache, s)} holds another run's rows")
        tables.append(df)
        reports += json.loads(t.schema.metadata[b"sim_report"])
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


def check_study(study: dict) -> dict:
    """Validate a compare study (what :func:`run_study` takes) before any work; returns it typed."""
    from sim.config import check_run, check_scale, load_area, model_params
    from sim.scenario import check as check_scenario
    from sim.scenario import intervention_params
    from sim.validate import check_finite, check_int, check_list

    check_finite(study, "study")
    areas = check_list(study.get("areas"), "study.areas")
    scenarios = study.get("scenarios")
    if isinstance(scenarios, (list, tuple)):
        scenarios = {n: n for n in check_list(scenarios, "study.scenarios")}
    if not isinstance(scenarios, dict) or not scenarios:
        raise ConfigError(f"'study.scenarios' must be a non-empty list of scenario names, got {scenarios!r}")
    scale, weeks, seed, _ = check_run(study.get("scale"), study.get("weeks"), study.get("seed"), "vectorised")
    replicates = check_int(study.get("replicates"), "replicates", low=1)
    workers = check_int(study.get("workers") or 0, "study.workers", low=0)
    model_params(study.get("model"))
    intervention_params(study.get("interventions"))
    for a in areas:
        check_scale(scale, load_area(a))
        for cfg in scenarios.values():
            check_scenario(cfg, a, weeks)
    return {**study, "areas": areas, "scenarios": scenarios, "scale": scale, "weeks": weeks, "seed": seed,
            "replicates": replicates, "workers": workers}


def run_study(study: dict, out_dir, progress: bool = True, option: str = "out_dir",
              extra_files: dict | None = None) -> pathlib.Path:
    """Run (or resume) a study and write its tidy table, summary, cost table, figures and report.

    ``out_dir`` is an :class:`sim.files.OutputFolder`: new, empty, or one this project wrote before (never a
    folder of someone else's files); finished runs are cached in ``runs/<key>/`` where the key covers the
    configuration, the model's code and data and the package versions."""
    study = check_study(study)
    payload = {k: study.get(k) for k in ("scale", "weeks", "seed", "model", "interventions", "replicates")}
    payload["scenarios"] = {k: (v if isinstance(v, dict) else _scenario_file(v))
                            for k, v in study["scenarios"].items()}
    key = config_hash(payload)
    with OutputFolder(out_dir, "study", key, option=option).session() as folder:
        cache = folder.path / "runs" / key
        specs = build_specs(study["areas"], study["scenarios"], study["replicates"], study["seed"], study["scale"],
                            study["weeks"], study.get("model"), study.get("interventions"))
        timing = run_all(specs, cache, workers=study["workers"], progress=progress)
        try:
            tidy, programmes = load_cache(specs, cache)
            write_study(folder, tidy, programmes, study, timing, extra_files)
        except BaseException as e:
            if not is_stop(e):
                raise
            raise Interrupted(f"all {len(specs)} runs are finished and kept in {cache}, but the tables and report "
                              "were not written; rerun the same command to write them") from None
    return folder.path


def _scenario_file(name: str) -> dict:
    from sim.scenario import load_scenario

    return load_scenario(name)


def write_study(out, tidy: pd.DataFrame, programmes: pd.DataFrame, study: dict,
                timing: dict | None = None, extra_files: dict | None = None) -> None:
    """Tables, figures and the report from the tidy table alone, staged and committed together into ``out`` (an
    open :class:`OutputFolder`, or a path to open one of kind 'study')."""
    if not isinstance(out, OutputFolder):
        with OutputFolder(out, "study").session() as folder:
            return write_study(folder, tidy, programmes, study, timing, extra_files)
    from sim import plots, report

    summary = summarise(tidy)
    costs = cost_table(tidy, float(study["scale"]) if study.get("scale") else 1.0)
    with out.stage() as tmp:
        tidy.to_parquet(tmp / "tidy.parquet", index=False)
        summary.to_csv(tmp / "summary.csv", index=False, float_format="%.6g")
        if len(costs):
            costs.to_csv(tmp / "cost_per_outcome.csv", index=False, float_format="%.6g")
        if len(programmes):
            prog = (programmes.groupby(["area", "scenario", "intervention"], sort=False)
                    .median(numeric_only=True).drop(columns="replicate", errors="ignore").reset_index())
            prog.to_csv(tmp / "programmes.csv", index=False, float_format="%.6g")
        else:
            prog = pd.DataFrame()
        figures = plots.study_figures(tidy, summary, costs, tmp, study)
        meta = {"study": study, "timing": timing or {}, "generated": time.strftime("%Y-%m-%d %H:%M:%S"),
                **provenance()}
        (tmp / "study.json").write_text(json.dumps(meta, indent=2, default=str))
        write_texts(tmp, extra_files)
        (tmp / "report.html").write_text(report.render(summary, costs, prog, figures, meta, out_dir=tmp))


__all__ = ["RunSpec", "run_one", "run_study", "summarise", "cost_table", "paired_differences", "final_rows",
           "write_study", "build_specs", "run_all", "load_cache", "EXTRA"]
