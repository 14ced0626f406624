"""Global sensitivity analysis with SALib: which parameters move the difference a scenario makes?

Each sample sets the chosen mechanism and programme parameters, runs the scenario and the baseline on the same
seed, and records the paired differences in the main indicators (area-equivalent counts). Morris elementary-effects
screening by default (mu*, its confidence interval, sigma), Sobol indices on request (S1, ST with intervals).
By default every uncertain parameter of the parameter table varies over its plausible range (``parameters: all``:
the model's mechanisms, the programmes' effects and unit costs, set-up shapes by a multiplier), with a dummy
parameter that nothing reads, so the noise floor of the indices is visible. Runs are cached like a study's, so it
resumes.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd

from experiments import checks as C
from experiments.kind import StudyKind
from experiments.space import DUMMY, _merge, _nest, problem
from sim.checks import check_choice, check_int

OUTCOME_COLUMNS = {
    "residents_lifted_out_of_poor_english": ("n_poor_english", -1),
    "extra_people_in_work": ("n_employed_16_64", +1),
    "extra_bridging_ties": ("n_bridging_ties", +1),
    "attitude_difference": ("intergroup_attitude", +1),
}
RUN_KEYS = ("area", "seed", "scale", "weeks", "model", "interventions", "replicates")  # beside the study's own
DEFAULT_PARAMETERS = "all"


def check(study: dict) -> dict:
    """Validate a sensitivity study before any work (its keys, area, scenario, parameters and ranges)."""
    from experiments.kind import check_area_study
    from sim.scenario import check as check_scenario

    s, weeks = check_area_study(KIND, study, RUN_KEYS)
    check_scenario(s.get("scenario", "balanced"), s["area"], weeks)
    rf = s.get("range_factor")
    s["problem"] = problem(s.get("parameters") or DEFAULT_PARAMETERS, None if rf is None else float(rf),
                           dummy=bool(s.get("dummy", True)))
    return s


def run(study: dict, out_dir, progress: bool = True, extra_files: dict | None = None) -> pathlib.Path:
    """Check ``study`` (:func:`check`) and run it (:func:`run_checked`)."""
    return run_checked(check(study), out_dir, progress, extra_files)


def run_checked(study: dict, out_dir, progress: bool = True, extra_files: dict | None = None) -> pathlib.Path:
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    from experiments.runner import RunSpec, config_hash, load_cache, run_all
    from sim.files import OutputFolder

    study = dict(study)  # (checked by check: not again)
    prob = study.pop("problem")
    method = study.get("method", "morris")
    seed = int(study["seed"])
    if method == "morris":
        X = morris_sample.sample(prob, int(study.get("trajectories", 10)), num_levels=4, seed=seed)
    else:
        X = sobol_sample.sample(prob, int(study.get("samples", 64)), calc_second_order=False, seed=seed)
    area, scenario = study["area"], study.get("scenario", "balanced")
    reps = int(study.get("replicates") or 1)
    specs = []
    dummy = prob["names"].index(DUMMY) if DUMMY in prob["names"] else None
    for i, x in enumerate(X):
        model, inter = {}, {}
        for key, v in zip(prob["names"], x):
            _nest(key, v, model, inter)
        # the dummy changes nothing in the model but the seed: a step in it is a pure change of random numbers,
        # so its index is the noise floor that any parameter's step carries too
        run_seed = seed if dummy is None else int(np.random.SeedSequence(
            [seed, int(round(float(x[dummy]) * 1e9))]).generate_state(1)[0])
        model, inter = _merge(study.get("model"), model), _merge(study.get("interventions"), inter)
        _check_sample(model, inter)  # every sample is valid before any run starts
        for r in range(reps):
            for label, scen in (("baseline", "baseline"), ("scenario", scenario)):
                # samples run on the same replicate seeds (unless the dummy moved): differences between samples are
                # the parameters' doing, and the replicates average out some of the chance
                specs.append(RunSpec(area, f"s{i:05d}-{label}", scen, r, run_seed, float(study["scale"]),
                                     int(study["weeks"]), model, inter, reps))
    key = config_hash({"X": X.round(12).tolist(), "study": {k: study[k] for k in (
        "area", "scale", "weeks", "seed", "replicates") if k in study}, "scenario": scenario,
        "model": study.get("model"), "interventions": study.get("interventions")})
    with OutputFolder(out_dir, "sensitivity", key).session() as folder:
        cache = folder.path / "runs" / key
        timing = run_all(specs, cache, workers=int(study.get("workers") or 0), progress=progress,
                         launcher=study.get("launcher") or "local", ray=study.get("ray"), slurm=study.get("slurm"))
        tidy = load_cache(specs, cache)[0]
        _analyse_and_write(folder, tidy, X, prob, study, method, seed, timing, extra_files)
    return folder.path


def _check_sample(model: dict, interventions: dict) -> None:
    from sim.config import model_params
    from sim.scenario import intervention_params

    model_params(model)
    intervention_params(interventions)


def _analyse_and_write(folder, tidy, X, prob, study, method, seed, timing, extra_files) -> None:
    import json

    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    from experiments import analysis_figures
    from experiments.space import label
    from experiments.tables import final_rows
    from sim.files import write_texts
    from sim.provenance import provenance

    fin = final_rows(tidy).groupby("scenario").mean(numeric_only=True)  # the mean over replicates
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
    indices.insert(2, "label", indices["parameter"].map(label))
    indices = _with_ranks(indices, "mu_star" if method == "morris" else "ST")
    samples = pd.DataFrame(X, columns=prob["names"]).assign(**Y)
    with folder.stage() as tmp:
        indices.to_csv(tmp / "sensitivity.csv", index=False, float_format="%.6g")
        samples.to_csv(tmp / "samples.csv", index=False, float_format="%.6g")
        analysis_figures.sensitivity_figure(indices, method, tmp, study, top=int(study.get("top") or 20))
        ranking(indices, "mu_star" if method == "morris" else "ST").to_csv(tmp / "ranking.csv", index=False,
                                                                            float_format="%.4g")
        (tmp / "study.json").write_text(json.dumps({"study": study, "timing": timing, "problem": prob,
                                                    "evaluations": len(X), **provenance()}, indent=2, default=str))
        write_texts(tmp, extra_files)


def _with_ranks(indices: pd.DataFrame, value: str) -> pd.DataFrame:
    """Add each parameter's index relative to the largest for its outcome, and to the dummy's (the noise floor:
    the index of a pure change of random numbers)."""
    out = indices.copy()
    top = out.groupby("outcome")[value].transform("max").replace(0, np.nan)
    out["relative"] = out[value] / top
    floor = out["outcome"].map(out[out["parameter"] == "dummy"].set_index("outcome")[value])
    out["over_noise"] = out[value] / floor.replace(0, np.nan)
    out["above_noise"] = out[value] > floor.fillna(-np.inf)
    return out


def ranking(indices: pd.DataFrame, value: str) -> pd.DataFrame:
    """One row per parameter, ranked by its largest index over the outcomes: as a multiple of the dummy's (the
    noise floor) when there is a dummy, else relative to the most influential parameter; ``above_noise_in``
    counts the outcomes where it beats the dummy."""
    g = indices.groupby(["parameter", "label"], sort=False)
    table = pd.DataFrame({"max_over_noise": g["over_noise"].max() if "over_noise" in indices else np.nan,
                          "max_relative": g["relative"].max(), "above_noise_in": g["above_noise"].sum(),
                          "top_outcome": g.apply(lambda d: d.loc[d["relative"].idxmax(), "outcome"]
                                                 if d["relative"].notna().any() else "")}).reset_index()
    by = "max_over_noise" if table["max_over_noise"].notna().any() else "max_relative"
    table = table.sort_values(by, ascending=False, na_position="last").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


KEYS = {
    "name": C.name_key, "kind": C.kind_key,
    "method": lambda v, k: check_choice(v, k, ("morris", "sobol")),
    "trajectories": lambda v, k: check_int(v, k, low=2, high=10_000),
    "samples": lambda v, k: check_int(v, k, low=2, high=1_000_000),
    "scenario": C.funded_scenario_key,
    "range_factor": C.range_factor_key,
    "parameters": C.parameters_key,
    "dummy": C.flag_key,
    "top": lambda v, k: check_int(v, k, low=1, high=10_000),
    **C.LAUNCH_KEYS,
}
KIND = StudyKind(
    "sensitivity", __doc__.splitlines()[0], KEYS, check, run_checked, ("sensitivity.csv", "sensitivity.png"),
    "sensitivity: {0} and {1}", folder="sensitivity",
    tiny=("study.trajectories=2", "study.parameters=[model.language.class_hour,interventions.esol.uptake]"),
)
