"""The main study: replicates x scenarios x areas -> one tidy table -> summary, cost per outcome, figures, report.

``cli`` calls :func:`run_study` with a plain config; nothing here imports Hydra.
"""

from __future__ import annotations

import json
import pathlib
import sys
import time

import pandas as pd

from experiments import checks as C
from experiments.checks import scenario_list
from experiments.kind import StudyKind
from experiments.runner import build_specs, config_hash, file_safe, load_cache, run_all
from experiments.stops import Interrupted, is_stop
from experiments.tables import (
    acceptability,
    cost_table,
    decision_table,
    gains,
    head_to_head,
    msoa_table,
    persistence,
    programme_table,
    response,
    summarise,
    variance_table,
)
from sim.checks import check_int, check_number
from sim.config import evidence_counts
from sim.files import OutputFolder, write_texts
from sim.params import ConfigError
from sim.provenance import provenance
from sim.scenario import MAX_BUDGET_GBP

ALONE = "alone:"  # the label prefix of a programme run alone (study.programmes_alone)


def check_study(study: dict) -> dict:
    """Validate a compare study (what :func:`run_study` takes) before any work; returns it typed."""
    from experiments.uncertainty import check_uncertainty
    from sim.checks import check_finite, check_list
    from sim.config import check_run, check_scale, load_area, model_params
    from sim.scenario import check as check_scenario
    from sim.scenario import intervention_params

    check_finite(study, "study")
    areas = check_list(study.get("areas"), "study.areas")
    scenarios = study.get("scenarios")
    if isinstance(scenarios, (list, tuple)):
        scenarios = scenario_list(scenarios)
    if not isinstance(scenarios, dict) or not scenarios:
        raise ConfigError(f"'study.scenarios' must be a non-empty list of scenario names, got {scenarios!r}")
    written = {label for label, cfg in scenarios.items() if isinstance(cfg, dict)}  # (not a provided scenario)
    if "baseline" not in scenarios:  # every difference, cost and decision is against it (without it a study wrote
        scenarios = {"baseline": "baseline", **scenarios}  # its levels alone, and no word why)
    scale, weeks, seed, _ = check_run(study.get("scale"), study.get("weeks"), study.get("seed"), "vectorised")
    replicates = check_int(study.get("replicates"), "replicates", low=1)
    workers = check_int(study.get("workers") or 0, "study.workers", low=0)
    model_params(study.get("model"))
    intervention_params(study.get("interventions"))
    uncertainty = check_uncertainty(study)
    alone = study.get("programmes_alone")
    if alone is not None:  # each programme alone at this budget: its own cost per outcome against the baseline
        from sim.interventions import NAMES

        alone = check_number(alone, "study.programmes_alone", 0, None, low_open=True)
        scenarios = {**scenarios, **{f"{ALONE}{p}": {"name": f"{ALONE}{p}", "budget_gbp": alone,
                                                     "allocation": {p: 1.0}} for p in NAMES}}
    end = study.get("end_week")
    if end is not None:  # spending stops at end_week in every scenario; the run goes on to show what persists
        end = check_int(end, "study.end_week", low=1)
        if end > weeks:
            raise ConfigError(f"'study.end_week' ({end}) must not be after the end of the run (weeks={weeks})")
        scenarios = {label: _ending(cfg, end) for label, cfg in scenarios.items()}
    stored = {}
    for label in scenarios:  # (two labels stored under one file name: the second run's file replaced the first's)
        other = stored.setdefault(file_safe(label).casefold(), label)  # (a file system may ignore case)
        if other != label:
            raise ConfigError(f"'study.scenarios' names '{other}' and '{label}', which differ only in characters a "
                              f"file name cannot keep, or in case (both would be stored as '{file_safe(label)}' on a "
                              "file system that ignores case); rename one")
    for a in areas:
        check_scale(scale, load_area(a))
        for label, cfg in scenarios.items():
            try:
                check_scenario(cfg, a, weeks)
            except ConfigError as e:
                if label not in written:
                    raise
                raise ConfigError(f"in the scenario '{label}' written out in 'study.scenarios': {e}") from None
    return {**study, "areas": areas, "scenarios": scenarios, "scale": scale, "weeks": weeks, "seed": seed,
            "replicates": replicates, "workers": workers, "end_week": end, "programmes_alone": alone,
            **uncertainty}


def _ending(cfg, end: int) -> dict:
    """A scenario whose programmes stop taking money at ``end`` (or earlier, if the scenario says so)."""
    from sim.scenario import load_scenario

    values = dict(load_scenario(cfg) if isinstance(cfg, str) else cfg)
    own = values.get("end_week")
    values["end_week"] = end if own is None else min(int(own), end)
    return values


def run_study(study: dict, out_dir, progress=True, option: str = "out_dir",
              extra_files: dict | None = None, should_stop=None, checked: bool = False) -> pathlib.Path:
    """Run (or resume) a study and write its tidy table, summary, cost table, figures and report.

    ``out_dir`` is an :class:`sim.files.OutputFolder`: new, empty, or one this project wrote before (never a
    folder of someone else's files); finished runs are cached in ``runs/<key>/`` where the key covers the
    configuration, the model's code and data and the package versions. ``progress`` and ``should_stop``: see
    :func:`experiments.runner.run_all`. ``checked``: ``study`` is what :func:`check_study` returned (it is not
    checked again)."""
    from experiments.uncertainty import parameter_sets

    study = study if checked else check_study(study)
    sets, drawn = parameter_sets(study["parameters"], study["replicates"], study["seed"], study.get("model"),
                                 study.get("interventions"), study["ensemble"], study["seeds_per_set"])
    study = {**study, "uncertainty": drawn}
    payload = {k: study.get(k) for k in ("scale", "weeks", "seed", "model", "interventions", "replicates")}
    payload["scenarios"] = {k: (v if isinstance(v, dict) else _scenario_file(v))
                            for k, v in study["scenarios"].items()}
    payload["sets"] = [(s["member"], s["model"], s["interventions"]) for s in sets]
    key = config_hash(payload)
    with OutputFolder(out_dir, "study", key, option=option).session() as folder:
        before = folder.previous() or {}
        if before.get("complete") and before.get("key") != key:
            print(f"note: {folder.path} held a finished study of another configuration or code; its tables, figures "
                  "and report are replaced (the runs of each are kept under runs/)", file=sys.stderr)
        cache = folder.path / "runs" / key
        specs = build_specs(study["areas"], study["scenarios"], study["replicates"], study["seed"], study["scale"],
                            study["weeks"], study.get("model"), study.get("interventions"), sets)
        timing = run_all(specs, cache, workers=study["workers"], progress=progress, should_stop=should_stop,
                         launcher=study.get("launcher") or "local", ray=study.get("ray"), slurm=study.get("slurm"))
        try:
            tidy, programmes, msoa = load_cache(specs, cache)
            tidy.insert(3, "parameter_set", tidy["replicate"].map({r: s["member"] for r, s in enumerate(sets)}))
            write_study(folder, tidy, programmes, study, timing, extra_files, msoa)
        except BaseException as e:
            if not is_stop(e):
                raise
            raise Interrupted(f"all {len(specs)} runs are finished and kept in {cache}, but the tables and report "
                              "were not written; rerun the same command to write them") from None
    return folder.path


def _scenario_file(name: str) -> dict:
    from sim.scenario import load_scenario

    return load_scenario(name)


def _draw(figures, tidy, summary, costs, decisions, ceac, out, study, maps=None) -> tuple[list, list]:
    """The study's figures and its maps (``maps()`` draws them); with a core to spare, the time series (one figure
    per area) are drawn in a second process meanwhile (drawing is most of the time a study takes once its runs are
    done)."""
    from experiments.executors import pool, stop_pool, usable_cpus

    maps = maps or list
    if usable_cpus() < 2 or int(study.get("workers") or 0) == 1 or tidy["area"].nunique() < 2:
        return figures.study_figures(tidy, summary, costs, out, study) + figures.decision_figures(
            decisions, ceac, out, study), maps()
    ex = pool(1)
    try:
        series = ex.submit(figures.timeseries_figures, tidy, out, study)
        rest = figures.summary_figures(tidy, summary, costs, out, study) + figures.decision_figures(
            decisions, ceac, out, study)
        drawn = maps()
        figs = series.result() + rest
    except BaseException:
        stop_pool(ex)
        raise
    ex.shutdown()
    return figs, drawn


def write_study(out, tidy: pd.DataFrame, programmes: pd.DataFrame, study: dict,
                timing: dict | None = None, extra_files: dict | None = None, msoa: pd.DataFrame | None = None) -> None:
    """Tables, figures and the report from the tidy table alone, staged and committed together into ``out`` (an
    open :class:`OutputFolder`, or a path to open one of kind 'study'). ``msoa``: every run's counts per MSOA
    (:func:`experiments.runner.msoa_rows`), for msoa.csv and the maps (a gathered sweep has none)."""
    if not isinstance(out, OutputFolder):
        with OutputFolder(out, "study").session() as folder:
            return write_study(folder, tidy, programmes, study, timing, extra_files, msoa)
    from experiments import figures, map_figures, report

    scale = float(study["scale"]) if study.get("scale") else 1.0
    summary = summarise(tidy)
    alone = tidy["scenario"].astype(str).str.startswith(ALONE)
    programme_costs = cost_table(tidy[alone | (tidy["scenario"] == "baseline")], scale) if alone.any() else None
    tidy_all, tidy = tidy, tidy[~alone]  # the figures and decisions compare the scenarios themselves
    costs = cost_table(tidy, scale)
    g = gains(tidy, scale)
    decisions = decision_table(g, study.get("margins")) if len(g) else pd.DataFrame()
    pairs = head_to_head(g) if len(g) else pd.DataFrame()
    variance = variance_table(g) if len(g) else pd.DataFrame()
    ceac = acceptability(g) if len(g) else pd.DataFrame()
    end = study.get("end_week")
    lasting = persistence(tidy, int(end), scale) if end and end < int(tidy["week"].max()) else pd.DataFrame()
    where = msoa_table(msoa, scale) if msoa is not None and len(msoa) else pd.DataFrame()
    with out.stage() as tmp:
        tidy_all.to_parquet(tmp / "tidy.parquet", index=False)
        if programme_costs is not None and len(programme_costs):
            programme_costs.to_csv(tmp / "programme_costs.csv", index=False, float_format="%.6g")
        summary.to_csv(tmp / "summary.csv", index=False, float_format="%.6g")
        if len(costs):
            costs.to_csv(tmp / "cost_per_outcome.csv", index=False, float_format="%.6g")
        prog = programme_table(programmes)
        if len(prog):
            prog.to_csv(tmp / "programmes.csv", index=False, float_format="%.6g")
        for name, table in (("decisions", decisions), ("head_to_head", pairs), ("variance_split", variance),
                            ("acceptability", ceac), ("persistence", lasting)):
            if len(table):
                table.to_csv(tmp / f"{name}.csv", index=False, float_format="%.6g")
        if len(where):
            msoa.to_parquet(tmp / "msoa_runs.parquet", index=False)
            where.to_csv(tmp / "msoa.csv", index=False, float_format="%.7g")
        shown = where[~where["scenario"].astype(str).str.startswith(ALONE)] if len(where) else where  # (as figures)
        figs, maps = _draw(figures, tidy, summary, costs, decisions, ceac, tmp, study,
                           lambda: map_figures.msoa_figures(shown, tmp, study) if len(shown) else [])
        for key in study.get("swept") or []:  # a gathered sweep: the response to each swept numeric key
            if key in tidy and pd.api.types.is_numeric_dtype(tidy[key]):
                curve = response(tidy, key, scale)
                if len(curve) and curve[key].nunique() > 1:
                    safe = "".join(c if c.isalnum() else "_" for c in key)
                    curve.to_csv(tmp / f"response_{safe}.csv", index=False, float_format="%.6g")
                    figs.append(figures.response_figure(curve, key, tmp))
        meta = {"study": study, "timing": timing or {}, "generated": time.strftime("%Y-%m-%d %H:%M:%S"),
                "evidence": evidence_counts(), **provenance()}
        (tmp / "study.json").write_text(json.dumps(meta, indent=2, default=str))
        write_texts(tmp, extra_files)
        (tmp / "report.html").write_text(report.render(summary, costs, prog, figs, meta, out_dir=tmp,
                                                       decisions=decisions, variance=variance,
                                                       persistence=lasting, programme_costs=programme_costs,
                                                       maps=maps))


def _run_checked(study: dict, out_dir, progress=True, extra_files: dict | None = None) -> pathlib.Path:
    return run_study(study, out_dir, progress=progress, option="hydra.run.dir", extra_files=extra_files, checked=True)


def planned_runs(study: dict) -> int:
    """The runs a checked study makes: every area x scenario (the baseline and programmes alone included) x
    replicate."""
    return len(study["areas"]) * len(study["scenarios"]) * int(study["replicates"])


KEYS = {
    "name": C.name_key, "kind": C.kind_key,
    "areas": C.areas_key,
    "scenarios": C.scenarios_key,
    "margins": C.margins_key,
    "end_week": lambda v, k: v if v is None else check_int(v, k, low=1, high=100_000),
    "programmes_alone": lambda v, k: v if v is None else check_number(v, k, 0, MAX_BUDGET_GBP, low_open=True),
    **C.LAUNCH_KEYS,
}
KIND = StudyKind(
    "compare", __doc__.splitlines()[0], KEYS, check_study, _run_checked, ("report.html",), "report: {0}",
    folder="study", single_area=False, uses_ensemble=True, replicates_share_sets=True,
    planned_runs=planned_runs,
    tiny=("replicates=2", "study.areas=[walsall]", "study.scenarios=[baseline,balanced]"),
)
