"""Global sensitivity analysis with SALib: which parameters move the difference a scenario makes?

Each sample sets the chosen mechanism and programme parameters, runs the scenario and the baseline on the same
seed, and records the paired differences in the main indicators (area-equivalent counts). Morris elementary-effects
screening by default (mu*, its confidence interval, sigma), Sobol indices on request (S1, ST with intervals).
Ranges come from the parameter table: the default +/- ``range_factor`` of itself, kept inside the parameter's
allowed range (or an explicit [low, high] per parameter). Runs are cached like a study's, so it resumes.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd

from experiments.space import _merge, _nest, problem

OUTCOME_COLUMNS = {
    "residents_lifted_out_of_poor_english": ("n_poor_english", -1),
    "extra_people_in_work": ("n_employed_16_64", +1),
    "extra_bridging_ties": ("n_bridging_ties", +1),
    "attitude_difference": ("intergroup_attitude", +1),
}
RUN_KEYS = ("area", "seed", "scale", "weeks", "model", "interventions", "replicates")  # beside the study's own
DEFAULT_PARAMETERS = [
    "model.language.class_hour", "model.language.contact", "model.language.base", "model.language.age_scale",
    "model.ties.homophily.neighbourhood", "model.ties.homophily_language", "model.attitude.contact_correlation",
    "model.employment.separation", "interventions.esol.uptake", "interventions.esol.weekly_dropout",
    "interventions.employment_support.job_boost", "interventions.ncs.ties_per_participant",
    "interventions.community_spaces.user_share", "interventions.conversation_clubs.practice_efficiency",
]


def check(study: dict) -> dict:
    """Validate a sensitivity study before any work (its keys, area, scenario, parameters and ranges)."""
    from experiments.checks import check_area_study
    from sim.scenario import check as check_scenario

    s, weeks = check_area_study("sensitivity", study, RUN_KEYS)
    check_scenario(s.get("scenario", "balanced"), s["area"], weeks)
    s["problem"] = problem(s.get("parameters") or DEFAULT_PARAMETERS, float(s.get("range_factor", 0.5)))
    return s


def run(study: dict, out_dir, progress: bool = True, extra_files: dict | None = None) -> pathlib.Path:
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    from experiments.runner import RunSpec, config_hash, load_cache, run_all
    from sim.files import OutputFolder

    study = check(study)
    prob = study.pop("problem")
    method = study.get("method", "morris")
    seed = int(study["seed"])
    if method == "morris":
        X = morris_sample.sample(prob, int(study.get("trajectories", 10)), num_levels=4, seed=seed)
    else:
        X = sobol_sample.sample(prob, int(study.get("samples", 64)), calc_second_order=False, seed=seed)
    area, scenario = study["area"], study.get("scenario", "balanced")
    specs = []
    for i, x in enumerate(X):
        model, inter = {}, {}
        for key, v in zip(prob["names"], x):
            _nest(key, v, model, inter)
        model, inter = _merge(study.get("model"), model), _merge(study.get("interventions"), inter)
        for label, scen in (("baseline", "baseline"), ("scenario", scenario)):
            # every sample runs on the same seed: differences between samples are the parameters' doing
            specs.append(RunSpec(area, f"s{i:05d}-{label}", scen, 0, seed, float(study["scale"]), int(study["weeks"]),
                                 model, inter, 1))
    key = config_hash({"X": X.round(12).tolist(), "study": {k: study[k] for k in (
        "area", "scale", "weeks", "seed") if k in study}, "scenario": scenario, "model": study.get("model"),
        "interventions": study.get("interventions")})
    with OutputFolder(out_dir, "sensitivity", key).session() as folder:
        cache = folder.path / "runs" / key
        timing = run_all(specs, cache, workers=int(study.get("workers") or 0), progress=progress)
        tidy, _ = load_cache(specs, cache)
        _analyse_and_write(folder, tidy, X, prob, study, method, seed, timing, extra_files)
    return folder.path


def _analyse_and_write(folder, tidy, X, prob, study, method, seed, timing, extra_files) -> None:
    import json

    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    from experiments import figures
    from experiments.tables import final_rows
    from sim.files import provenance, write_texts

    fin = final_rows(tidy).set_index("scenario")
    scale = float(study["scale"])
    Y = {}
    for name, (col, sign) in OUTCOME_COLUMNS.items():
        vals = []
        for i in range(len(X)):
            d = fin.loc[f"s{i:05d}-scenario", col] - fin.loc[f"s{i:05d}-baseline", col]
            vals.append(sign * d / (1.0 if col == "intergroup_attitude" else scale))
        Y[name] = np.array(vals, dtype=float)
    rows = []
    for name, y in Y.items():
        if method == "morris":
            res = morris_analyze.analyze(prob, X, y, num_levels=4, seed=seed, print_to_console=False)
            for j, p in enumerate(prob["names"]):
                rows.append({"outcome": name, "parameter": p, "mu_star": res["mu_star"][j],
                             "mu_star_conf": res["mu_star_conf"][j], "mu": res["mu"][j], "sigma": res["sigma"][j],
                             "low": prob["bounds"][j][0], "high": prob["bounds"][j][1]})
        else:
            res = sobol_analyze.analyze(prob, y, calc_second_order=False, seed=seed, print_to_console=False)
            for j, p in enumerate(prob["names"]):
                rows.append({"outcome": name, "parameter": p, "S1": res["S1"][j], "S1_conf": res["S1_conf"][j],
                             "ST": res["ST"][j], "ST_conf": res["ST_conf"][j],
                             "low": prob["bounds"][j][0], "high": prob["bounds"][j][1]})
    indices = pd.DataFrame(rows)
    samples = pd.DataFrame(X, columns=prob["names"]).assign(**Y)
    with folder.stage() as tmp:
        indices.to_csv(tmp / "sensitivity.csv", index=False, float_format="%.6g")
        samples.to_csv(tmp / "samples.csv", index=False, float_format="%.6g")
        figures.sensitivity_figure(indices, method, tmp, study)
        (tmp / "study.json").write_text(json.dumps({"study": study, "timing": timing, "problem": prob,
                                                    "evaluations": len(X), **provenance()}, indent=2, default=str))
        write_texts(tmp, extra_files)
