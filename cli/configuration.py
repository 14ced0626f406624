"""The composed configuration of a command, checked before any work (:func:`check_config`), and the plain study
description each kind of study takes, made from it (:func:`describe`). What a study kind checks of its own is
declared with the kind (:mod:`experiments.studies`)."""

from __future__ import annotations

from cli.compose import explicit
from sim.checks import check_finite, check_int
from sim.config import CONFIG_DIR, ConfigError, available_areas, check_run, check_scale, load_area, model_params
from sim.scenario import check as check_scenario
from sim.scenario import intervention_params


def _kinds() -> dict:
    """The study kinds (imported when a command runs a study: they bring pandas and the studies' code)."""
    from experiments.studies import KINDS

    return KINDS


def _top_keys() -> frozenset:
    """The configuration's top-level keys: configs/config.yaml's own and its groups'."""
    import yaml

    with open(CONFIG_DIR / "config.yaml") as f:
        base = yaml.safe_load(f)
    return frozenset(k for k in base if k != "defaults") | {"area", "model", "scenario", "interventions"}


TOP_KEYS = _top_keys()


def _check_area(area: dict, overrides: list[str]) -> None:
    """The area node is the area's file, made from the census tables, as it is: a changed name ran one area's
    residents under another's label, and a neighbourhood count of 0 crashed the placement."""
    allowed = ", ".join(available_areas())
    for o in overrides:
        key = o.partition("=")[0].lstrip("+~")
        if key.startswith("area."):
            raise ConfigError(f"'{key}' cannot be set: an area's figures are its census tables (configs/area/, made "
                              f"by make area-configs); choose the area with area=<name>; allowed: {allowed}")
    file = load_area(area["name"])
    for key in sorted(set(area) | set(file)):
        if area.get(key) != file.get(key):
            raise ConfigError(f"'area.{key}' differs from configs/area/{file['name']}.yaml: an area's figures are its "
                              f"census tables; choose the area with area=<name>; allowed: {allowed}")


def check_config(plain: dict, overrides: list[str] | None = None):
    """Every check that can fail, before any work starts. Returns the study a command runs, checked by its kind
    (``(kind, study)``: :data:`experiments.studies.KINDS`), or None for a single run."""
    for group in ("area", "model", "scenario", "interventions"):
        if group not in plain:
            raise ConfigError(f"'{group}' cannot be removed: every run needs it (set its keys as {group}.<key>=...)")
    unknown = sorted(set(plain) - TOP_KEYS)
    if unknown:  # (given with '+', which Hydra adds without a word: '+weks=20' ran the default 104 weeks)
        raise ConfigError(f"unknown key '{unknown[0]}'; allowed at the top level: "
                          f"{', '.join(sorted(TOP_KEYS - {'hydra'}))} (see configs/config.yaml)")
    check_finite({k: v for k, v in plain.items() if k != "hydra"}, "")
    check_run(plain.get("scale"), plain.get("weeks"), plain.get("seed"), plain.get("engine"))
    from sim.config import MAX_REPLICATES

    replicates = check_int(plain.get("replicates", 1), "replicates", low=1, high=MAX_REPLICATES)
    from experiments.uncertainty import MODES, check_uncertainty
    from sim.checks import check_choice

    check_choice(plain.get("parameters", "ensemble"), "parameters", MODES)  # (a single run too: it was ignored)
    uncertainty = check_uncertainty({**uncertainty_keys(plain), "parameters": "fixed"})  # the ensemble: below
    study = plain.get("study")
    name = (study or {}).get("kind", "compare") if study else None
    declared = _kinds().get(name) if name is not None else None  # (an unknown kind is refused below)
    uses_ensemble = (declared is not None and declared.uses_ensemble) or (name is None and replicates > 1)
    if plain.get("parameters", "ensemble") == "ensemble" and uses_ensemble:  # calibrate makes one: not needed
        check_uncertainty({**uncertainty, "parameters": "ensemble"})
    # (ran 2 replicates on one set, not the 3 asked for; an experiment's own 2 with replicates=1 is a quick look)
    asked = explicit(overrides or [], "seeds_per_set") is not None
    shares = name is None or (declared is not None and declared.replicates_share_sets)
    if asked and shares and uncertainty["seeds_per_set"] > replicates:
        raise ConfigError(f"'seeds_per_set' ({uncertainty['seeds_per_set']}) must be at most 'replicates' "
                          f"({replicates}): it is how many of the replicates share one parameter set")
    if not isinstance(plain.get("progress", True), bool):
        raise ConfigError(f"'progress' must be true or false, got {plain.get('progress')!r}")
    area = plain.get("area") or {}
    if not isinstance(area, dict) or area.get("name") not in available_areas():
        raise ConfigError(f"unknown area for key 'area'; allowed: {', '.join(available_areas())}")
    _check_area(area, overrides or [])
    model_params(plain.get("model"))
    intervention_params(plain.get("interventions"))
    check_scenario(plain.get("scenario"), area["name"], int(plain.get("weeks")))
    if study is None or getattr(_kinds().get(study.get("kind", "compare")), "single_area", True):
        check_scale(float(plain["scale"]), area)  # (a study over several areas checks each area's)
    if study is None:
        if replicates == 1:
            return None
        kind = _kinds()["compare"]  # a job with several replicates: its scenario against the paired baseline
        return kind, kind.check(study_config(plain, overrides))
    from experiments.studies import check_block

    kind, _ = check_block(study)  # (the block's own keys, as the experiment and the overrides give them)
    return kind, kind.check(describe(kind, plain, overrides or []))


def describe(kind, plain: dict, overrides: list[str]) -> dict:
    """The plain study description ``kind`` takes: over several areas (:func:`study_config`), or of the run's own
    area (:func:`area_study`)."""
    return area_study(plain, kind) if kind.single_area else study_config(plain, overrides)


def output_kind(plain: dict) -> str:
    """What a command writes into its folder: a run, or the folder of its kind of study."""
    if not (plain.get("study") or plain.get("replicates", 1) > 1):
        return "run"
    study = plain.get("study") or {}
    declared = _kinds().get(study.get("kind", "compare"))
    return declared.folder if declared else study.get("kind")


def study_config(plain: dict, overrides: list[str] | None = None) -> dict:
    """The plain study description experiments.compare takes (areas x scenarios x replicates).

    ``area=`` means one thing in every experiment: the area studied. In a study over several areas, ``area=X`` on
    the command line studies X alone (and must agree with ``study.areas`` if that is given too)."""
    s = plain.get("study") or {}
    overrides = overrides or []
    if s:
        areas, scenarios = s.get("areas"), s.get("scenarios")
        chosen = explicit(overrides, "area")
        if chosen is not None:
            if explicit(overrides, "study.areas") is not None and list(areas or []) != [plain["area"]["name"]]:
                raise ConfigError(f"'area={chosen}' and 'study.areas={explicit(overrides, 'study.areas')}' "
                                  "disagree; give one of them")
            areas = [plain["area"]["name"]]
        if isinstance(scenarios, (list, tuple)):
            from experiments.checks import scenario_list

            scenarios = scenario_list(scenarios)
        name = s.get("name", "study")
    else:  # one configuration with several replicates (a sweep job): the scenario and its paired baseline
        areas = [plain["area"]["name"]]
        label = plain["scenario"].get("name", "scenario")
        scenarios = {"baseline": "baseline"} if label == "baseline" else {"baseline": "baseline",
                                                                          label: plain["scenario"]}
        name = f"{areas[0]}_{label}"
    return {"name": name, "areas": areas, "scenarios": scenarios, "replicates": plain.get("replicates", 1),
            "seed": plain["seed"], "scale": plain["scale"], "weeks": plain["weeks"], "model": plain["model"],
            "interventions": plain["interventions"], "workers": (s or {}).get("workers", 0),
            **{k: (s or {}).get(k) for k in ("margins", "end_week", "programmes_alone", "launcher", "ray", "slurm")},
            **uncertainty_keys(plain)}


def uncertainty_keys(plain: dict) -> dict:
    """The top-level parameter-uncertainty keys every study takes."""
    return {k: plain[k] for k in ("parameters", "ensemble", "seeds_per_set") if k in plain}


def area_study(plain: dict, kind=None) -> dict:
    """A study of the run's own area (sensitivity, optimisation, calibration, validation): the study block plus the
    run's area, size and parameters (``kind``: the block's, looked up if not given)."""
    if kind is None:
        from experiments.studies import of

        kind = of(plain)
    s = dict(plain["study"])
    s.update({"area": plain["area"]["name"], "seed": plain["seed"], "scale": plain["scale"],
              "weeks": plain["weeks"], "model": plain["model"], "interventions": plain["interventions"]})
    s.setdefault("replicates", plain.get("replicates", 1))
    if kind.uses_ensemble:  # the studies that run replicates with parameter sets of the ensemble
        s["uncertainty"] = uncertainty_keys(plain)
    return s
