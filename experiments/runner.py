"""Running many models: one :class:`RunSpec` per run, each run cached as one self-describing file.

Replicate ``r`` of every scenario in an area uses the same seed (child ``r`` of the study's SeedSequence), so a
scenario and the baseline differ only where the funding changes something (common random numbers) and every
difference is paired. Each run's table is cached under ``runs/<key>/`` as it finishes (written to a temporary name,
then renamed, with its key and programme report inside), where the key covers the configuration, the model's code
and data and the package versions: an interrupted study resumes where it stopped and changed code or configuration
never reuses stale runs.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import pathlib
import time

import numpy as np
import pandas as pd

from experiments.executors import capped, run_jobs, workers_for
from experiments.stops import Interrupted
from sim.files import atomic_write
from sim.provenance import key_of


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


def setup_key(spec: RunSpec) -> tuple:
    """What a run's week-0 state depends on: every scenario of a replicate (same area, scale, seed and model
    parameters) shares it; programme parameters act only from the first week."""
    return (spec.area, spec.scale, spec.seed, spec.replicate, spec.replicates,
            json.dumps(spec.params, sort_keys=True, default=str))


# Week-0 states kept by this (worker) process, newest last, up to START_BUDGET residents in all (about 300 bytes
# each): a study hands a worker the scenarios of a replicate together, and the optimiser's candidates come back to
# the same replicates, so each is built once and every other run starts from a copy.
_STARTS: collections.OrderedDict = collections.OrderedDict()
START_BUDGET = 1_000_000


def _remember(key: tuple, start, residents: int) -> None:
    _STARTS[key] = (start, residents)
    while sum(n for _, n in _STARTS.values()) > START_BUDGET and len(_STARTS) > 1:
        _STARTS.popitem(last=False)


def run_one(spec: RunSpec, keep: bool = True) -> tuple[pd.DataFrame, list[dict], dict]:
    """Run a model; return its weekly table (with the run's keys), its programme report and its outcomes' counts per
    MSOA at week 0 and the last week (:func:`msoa_counts`). A week-0 state this process kept for the same replicate
    is reused (the run is exactly as if it were built afresh); ``keep``: keep this run's week-0 state for runs
    still to come."""
    import logging

    from sim.model import IntegrationModel

    logging.getLogger("MESA").setLevel(logging.WARNING)
    key = setup_key(spec)
    start = _STARTS.get(key, (None, 0))[0]
    m = IntegrationModel(area=spec.area, scale=spec.scale, seed=spec.seed_sequence(), weeks=spec.weeks,
                         params=spec.params, scenario=spec.scenario_config, intervention_params=spec.interventions,
                         start=start)
    if start is None:
        if keep and m.speed.fast and m.pop.n <= START_BUDGET:  # (the speed machinery off: nothing to keep)
            _remember(key, m.week_zero(), m.pop.n)
    else:
        _STARTS.move_to_end(key)
    m.run()
    ts = m.timeseries()
    ts.insert(0, "replicate", spec.replicate)
    ts.insert(0, "scenario", spec.scenario)
    ts.insert(0, "area", spec.area)
    report = [{"area": spec.area, "scenario": spec.scenario, "replicate": spec.replicate, **r}
              for r in m.intervention_report()]
    msoa = msoa_counts(m)
    m.release(recycle=True)  # (its agents are the next run's: nothing returned refers to them)
    return ts, report, msoa


def msoa_counts(model) -> dict:
    """A run's counts per MSOA (sim.places.outcomes) as plain lists, to be stored in its cached file: the area's
    ONS code, the MSOAs' codes (in the order of the counts) and, by week (0 and the last), each count."""
    from sim.places import places

    return {"ons_code": model.pop.ons_code, "codes": list(places(model.pop.ons_code).codes),
            "weeks": {str(w): {k: np.asarray(v, dtype=float).tolist() for k, v in c.items()}
                      for w, c in model.msoa_counts.items()}}


def config_hash(payload: dict) -> str:
    """The key of a cache folder: the configuration together with the model's code, data and versions."""
    return key_of(payload)


def file_safe(text: str) -> str:
    """``text`` as a file name keeps it (a scenario's label in its runs' file names)."""
    return "".join(c if c.isalnum() or c in "._=-" else "_" for c in text)


def _cache_path(cache: pathlib.Path, spec: RunSpec) -> pathlib.Path:
    return cache / f"{file_safe(f'{spec.area}__{spec.scenario}__rep{spec.replicate:03d}')}.parquet"


def spec_key(spec: RunSpec) -> str:
    return key_of(dataclasses.asdict(spec))


def _run_and_cache(specs: list[RunSpec], cache: pathlib.Path | None) -> list[tuple]:
    """Run models (the scenarios of one replicate: the first builds the week-0 state, the others start from it)
    and store each table with its key, programme report and counts per MSOA in the file's own metadata as it
    finishes: one file per run, renamed into place whole, so it is either complete and self-describing or absent.
    With ``cache`` None (a Ray worker, which may share no folder with the study) each file's bytes are returned for
    the study to store."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = []
    for i, spec in enumerate(specs):
        t = time.perf_counter()
        ts, report, msoa = run_one(spec, keep=i < len(specs) - 1)
        table = pa.Table.from_pandas(ts, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[b"sim_key"] = spec_key(spec).encode()
        meta[b"sim_report"] = json.dumps(report, default=float).encode()
        meta[b"sim_msoa"] = json.dumps(msoa).encode()  # (covered by the content hash, as every entry is)
        table = table.replace_schema_metadata(meta)
        table = table.replace_schema_metadata({**meta, b"sim_sha256": content_hash(table).encode()})
        if cache is None:
            sink = pa.BufferOutputStream()
            pq.write_table(table, sink)
            out.append((spec, time.perf_counter() - t, sink.getvalue().to_pybytes()))
        else:
            atomic_write(_cache_path(cache, spec), lambda p, table=table: pq.write_table(table, p))
            out.append((spec, time.perf_counter() - t))
    for spec in specs:
        _STARTS.pop(setup_key(spec), None)
    return out


def tasks(specs: list[RunSpec], workers: int) -> list[list[RunSpec]]:
    """The runs grouped by replicate (same week-0 state), largest first; groups are split when there are too few
    to keep every worker busy to the end."""
    groups: dict = {}
    for s in specs:
        groups.setdefault(setup_key(s), []).append(s)
    out = sorted(groups.values(), key=lambda g: -sum(s.weeks for s in g) * g[0].scale * _AREA_SIZE.get(g[0].area, 1))
    while len(out) < 3 * workers and any(len(g) > 1 for g in out):
        i = max(range(len(out)), key=lambda k: len(out[k]))
        g = out.pop(i)
        out[i:i] = [g[: len(g) // 2], g[len(g) // 2:]]
    return out


def content_hash(table) -> str:
    """A hash of what a cached run's file holds, as it is read back: every column's name, type and values, and all
    the schema's metadata (the run's key, its programme report, its counts per MSOA, and pandas' description of the
    columns). Stored in
    the file's metadata and checked before the file is used, so a damaged byte anywhere in what is read (a data
    page, the report, a column's name) is caught, not believed."""
    import hashlib

    h = hashlib.sha256()
    md = table.schema.metadata or {}
    for k in sorted(k for k in md if k != b"sim_sha256"):  # the key, the report, the MSOAs, pandas' own (columns)
        h.update(k + b"\0" + md[k] + b"\0")
    for name, col in zip(table.column_names, table.columns):
        h.update(f"{name}\0{col.type}\0".encode())
        values = col.to_numpy(zero_copy_only=False)
        if values.dtype == object:
            h.update("\0".join(map(repr, values.tolist())).encode())
        else:
            h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest()


def read_checked(spec: RunSpec, path: pathlib.Path):
    """The cached run's table and None, or None and why it cannot be used: missing, unreadable, damaged (its
    content no longer has the hash it was written with), made for another run, or not whole (its weeks, or its
    counts per MSOA)."""
    import pyarrow.parquet as pq

    if not path.exists():
        return None, "missing"
    try:
        table = pq.read_table(path)
        md = table.schema.metadata or {}
        key, stored = md.get(b"sim_key", b"").decode(), md.get(b"sim_sha256", b"").decode()
        json.loads(md.get(b"sim_report", b"[]"))
        msoa = json.loads(md.get(b"sim_msoa", b"null"))
    except Exception as e:  # a truncated, damaged or foreign file: pyarrow raises several kinds
        return None, f"unreadable ({type(e).__name__})"
    if key != spec_key(spec):
        return None, "made for another run"
    if stored != content_hash(table):
        return None, "damaged (its content does not match the hash it was written with)"
    if table.num_rows != spec.weeks + 1:
        return None, f"has {table.num_rows} weeks, expected {spec.weeks + 1}"
    why = _msoa_problem(msoa, spec)
    return (None, why) if why else (table, None)


def _msoa_problem(msoa, spec: RunSpec) -> str | None:
    """Why a cached run's counts per MSOA are not whole (None if they are): every count, at week 0 and the last
    week, one value per MSOA."""
    from sim.places.outcomes import COUNTS

    if not isinstance(msoa, dict) or not isinstance(msoa.get("codes"), list) or not isinstance(msoa.get("weeks"), dict):
        return "without its counts per MSOA"
    if set(msoa["weeks"]) != {"0", str(spec.weeks)}:
        return f"without its counts per MSOA at weeks 0 and {spec.weeks}"
    n = len(msoa["codes"])
    if not all(isinstance(c, dict) and set(c) == set(COUNTS) and all(isinstance(v, list) and len(v) == n
                                                                      for v in c.values())
               for c in msoa["weeks"].values()):
        return "holding counts per MSOA that are not whole"
    return None


def check_cached(spec: RunSpec, path: pathlib.Path) -> str | None:
    """Why a cached run cannot be used (None if it can): see :func:`read_checked`."""
    return read_checked(spec, path)[1]


def run_all(specs: list[RunSpec], cache: pathlib.Path, workers: int = 0, progress=True, should_stop=None,
            launcher: str = "local", ray: dict | None = None, slurm: dict | None = None) -> dict:
    """Run every spec without a valid cached result (in parallel processes); returns timing figures.

    ``progress``: a bar on the terminal (True), nothing (False), or a callable given (runs done, runs in all)
    after each finishes (a page's progress bar). Each cached item is checked before it is reused (its key and
    rows); a bad one is recomputed with a warning. A stop signal, or ``should_stop()`` turning true, keeps every
    finished run and raises :class:`sim.workers.Interrupted` saying so. ``launcher``: local worker processes,
    a Ray cluster (``ray={"address": "host:port"}``), or SLURM through submitit (``slurm``: partition, account,
    qos, timeout_min, mem_gb, jobs; ``submitit_local`` runs that path on this machine): the same runs, byte for
    byte, whichever ran them."""
    import sys

    _clear_temporaries(cache)
    todo = []
    for s in specs:
        why = check_cached(s, _cache_path(cache, s))
        if why and why != "missing":
            print(f"warning: cached run {_cache_path(cache, s).name} is {why}: recomputing it", file=sys.stderr)
        if why:
            todo.append(s)
    done_before = len(specs) - len(todo)
    n_workers = workers_for(workers, len(todo))
    note = capped(workers) if launcher in ("local", "submitit_local") and todo else None
    if note:
        print(note, file=sys.stderr)
    bar = None
    if progress is True and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(specs), initial=done_before, desc="runs", unit="run")
    report = progress if callable(progress) else None
    report and report(done_before, len(specs))
    t0 = time.perf_counter()
    seconds = []

    remote = launcher == "ray"  # Ray workers may share no folder with this process: they send each run's file back

    def done(results):
        for r in results:
            if remote:  # the run's file, made elsewhere, is stored here
                atomic_write(_cache_path(cache, r[0]), lambda p, data=r[2]: p.write_bytes(data))
            seconds.append(r[1])
        bar and bar.update(len(results))
        report and report(done_before + len(seconds), len(specs))

    try:
        fn = functools.partial(_run_and_cache, cache=None if remote else cache)
        # (with every run cached, no executor is started and no cluster need answer)
        if todo and launcher in ("submitit_local", "slurm"):  # array tasks store runs in the shared folder as they end
            done([r for batch in run_jobs(fn, tasks(todo, n_workers), n_workers, launcher, cache.parent, slurm)
                  for r in batch])
        elif todo:  # (a replicate's runs stay together where the workers allow: they share its week 0 and draws)
            items = functools.partial(tasks, todo) if launcher == "ray" else tasks(todo, n_workers)
            run_jobs(fn, items, n_workers, launcher, ray_address=(ray or {}).get("address"), on_done=done,
                     should_stop=should_stop)
    except KeyboardInterrupt:
        _clear_temporaries(cache)  # a worker stopped mid-write (the workers are gone; we hold the folder's lock)
        kept = sum(check_cached(s, _cache_path(cache, s)) is None for s in specs)
        if not kept:
            raise Interrupted(f"no run of {len(specs)} had finished, so nothing was kept") from None
        raise Interrupted(f"{kept} of {len(specs)} runs are finished and kept in {cache}; rerun the same "
                          "command to resume") from None
    finally:
        if bar:
            bar.close()
        _clear_temporaries(cache)  # (a worker that ended mid-write: every worker is done or gone by now)
    return {"runs": len(specs), "ran": len(todo), "reused": done_before, "wall_s": time.perf_counter() - t0,
            "run_s": float(np.sum(seconds)) if seconds else 0.0, "workers": n_workers}


_AREA_SIZE = {"bradford": 546, "waltham_forest": 278, "walsall": 284, "peterborough": 216,
              "blackburn_with_darwen": 155}


def _clear_temporaries(cache: pathlib.Path) -> None:
    """Remove temporary names left by a worker that was stopped or killed while writing (only the process that
    holds the study folder's lock runs this, so no live writer owns them)."""
    for tmp in cache.glob(".*.tmp") if cache.is_dir() else ():
        tmp.unlink(missing_ok=True)


def load_cache(specs: list[RunSpec], cache: pathlib.Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every spec's cached table (checked by :func:`run_all`), programme report and counts per MSOA (one row per
    run, week and MSOA: :func:`msoa_rows`). The files' tables are joined before they become one DataFrame (one
    conversion, not one a run: the same frame as joining each run's DataFrame, which is what happens when the
    files' columns differ)."""
    import pyarrow as pa

    tables, reports, msoas = [], [], []
    for s in specs:
        t, why = read_checked(s, _cache_path(cache, s))
        if why:  # (checked before the runs, and again here: a file can change between)
            raise RuntimeError(f"cached run {_cache_path(cache, s)} is {why}; rerun the same command to recompute it")
        tables.append(t)
        reports += json.loads(t.schema.metadata[b"sim_report"])
        msoas.append(msoa_rows(s, json.loads(t.schema.metadata[b"sim_msoa"])))
    if len(tables) > 1 and all(t.schema.equals(tables[0].schema) for t in tables[1:]):
        tidy = pa.concat_tables(tables).to_pandas()
    else:
        tidy = pd.concat([t.to_pandas() for t in tables], ignore_index=True)
    rows = np.cumsum([0] + [t.num_rows for t in tables])
    ok = np.ones(len(tidy), dtype=bool)
    for col in ("area", "scenario", "replicate"):  # each file holds its own run's rows
        want = np.repeat(np.array([getattr(s, col) for s in specs], dtype=object), np.diff(rows))
        ok &= np.asarray(tidy[col].to_numpy(dtype=object) == want, dtype=bool)
    if not ok.all():
        bad = int(np.searchsorted(rows, np.flatnonzero(~ok)[0], side="right")) - 1
        raise RuntimeError(f"cached run {_cache_path(cache, specs[bad])} holds another run's rows")
    return tidy, pd.DataFrame(reports), pd.concat(msoas, ignore_index=True)


def msoa_rows(spec: RunSpec, msoa: dict) -> pd.DataFrame:
    """One run's counts per MSOA as rows: its keys, the week, the area's ONS code, each MSOA's code and name, and
    the counts of sim.places.outcomes.COUNTS (simulated people, not yet scaled to the area)."""
    from sim.places import places

    pl = places(msoa["ons_code"])
    name = dict(zip(pl.codes, pl.names))
    codes = msoa["codes"]
    return pd.concat([pd.DataFrame({"area": spec.area, "scenario": spec.scenario, "replicate": spec.replicate,
                                    "week": int(w), "ons_code": msoa["ons_code"], "msoa": codes,
                                    "name": [name.get(c, "") for c in codes], **c})
                      for w, c in sorted(msoa["weeks"].items(), key=lambda wc: int(wc[0]))], ignore_index=True)


def build_specs(areas, scenarios: dict, replicates: int, seed: int, scale: float, weeks: int, params: dict,
                interventions: dict, sets: list[dict] | None = None) -> list[RunSpec]:
    """``scenarios`` maps a label to a scenario name or mapping; replicate r shares its seed across labels, and
    with ``sets`` (one per replicate, from :func:`experiments.uncertainty.parameter_sets`) its parameter set."""
    def pars(r):
        return (sets[r]["model"], sets[r]["interventions"]) if sets else (params or {}, interventions or {})

    return [RunSpec(area, label, cfg, r, seed, scale, weeks, *pars(r), replicates)
            for area in areas for label, cfg in scenarios.items() for r in range(replicates)]
