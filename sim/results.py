"""One run's files, staged and committed together with their provenance (see :mod:`sim.files`).

Files are written into a hidden staging folder and moved into the run's :class:`sim.files.OutputFolder` together;
its manifest says which files the run wrote and with which configuration key, so an interrupted run leaves nothing
that looks finished and a rerun in the same folder replaces exactly the earlier run's files.
"""

from __future__ import annotations

import json
import pathlib

import pandas as pd

from sim import costs
from sim.files import OutputFolder, write_texts
from sim.indicators import INDICATORS
from sim.places.outcomes import COUNTS, shares
from sim.places.outcomes import table as msoa_table
from sim.provenance import provenance
from sim.runplot import Drawer, plot_msoa_map, plot_run


def summary(model, config: dict, baseline=None, ts=None) -> dict:
    ts = model.timeseries() if ts is None else ts
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
        **provenance(),
        "config": config,
    }
    if baseline is not None:
        b = baseline.current
        out["baseline_final"] = {k: float(b[k]) for k in INDICATORS}
        out["difference_vs_baseline"] = costs.differences(model.current, b)
        out["cost_per_outcome"] = costs.compare(model.current, b, model.spend_gbp, model.scale)
    return out


def write_run(out, model, config: dict, baseline=None, extra_files: dict | None = None,
              drawer: Drawer | None = None) -> pathlib.Path:
    """timeseries.csv, demography.csv, msoa.csv (the outcomes' counts per MSOA at week 0 and at the end, and
    their shares; a funded run's baseline's beside), indicators.png, msoa_map.png and summary.json into ``out`` (an open
    :class:`OutputFolder`, or a path: then one of kind 'run' is opened); with a funded scenario also
    interventions.csv and the paired baseline's baseline_timeseries.csv. ``drawer``: a helper process started
    with the run that draws the figure while the other files are written (:class:`sim.runplot.Drawer`)."""
    if not isinstance(out, OutputFolder):
        with OutputFolder(out, "run").session() as folder:
            return write_run(folder, model, config, baseline, extra_files, drawer)
    with out.stage() as tmp:
        ts = model.timeseries()
        demo = pd.DataFrame(model.demography_log, columns=["week", "deaths", "births", "moved_out", "moved_in",
                                                           "international_arrivals"])
        base_ts = baseline.timeseries() if baseline is not None else None
        title = (f"{model.area['label']}: {model.scenario.name}, seed {config.get('seed')}, scale {model.scale}, "
                 f"{model.weeks} weeks")
        msoas = shares(msoa_table(model.pop, model.msoa_counts))
        if baseline is not None:  # the paired baseline's, beside
            base = msoa_table(baseline.pop, baseline.msoa_counts)
            msoas = msoas.merge(base[["week", "msoa", *COUNTS]], on=["week", "msoa"], suffixes=("", "_baseline"))
        msoa_map = (msoas, tmp / "msoa_map.png", model.pop.ons_code)
        if drawer is not None:  # the figures first: they are drawn meanwhile
            drawer.draw(ts, tmp / "indicators.png", title, demo, baseline=base_ts, msoa_map=msoa_map)
        ts.to_csv(tmp / "timeseries.csv", index=False, float_format="%.10g")
        msoas.to_csv(tmp / "msoa.csv", index=False, float_format="%.10g")
        demo.to_csv(tmp / "demography.csv", index=False)
        if base_ts is not None:
            base_ts.to_csv(tmp / "baseline_timeseries.csv", index=False, float_format="%.10g")
        if model.interventions:
            pd.DataFrame(model.intervention_report()).to_csv(tmp / "interventions.csv", index=False)
        write_texts(tmp, extra_files)
        (tmp / "summary.json").write_text(json.dumps(summary(model, config, baseline, ts), indent=2, default=str))
        if drawer is not None:
            drawer.wait()
        else:
            plot_run(ts, tmp / "indicators.png", title, demo, baseline=base_ts)
            plot_msoa_map(*msoa_map[:2], title, msoa_map[2])
    return out.path
