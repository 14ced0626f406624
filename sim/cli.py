"""The command line: the only module that imports Hydra. ``python -m sim [overrides]``.

Bad input is caught before Hydra makes a results folder: the overrides are composed and validated first, and any
error is printed as one line naming the key and the allowed values (exit status 2). A run that fails or is
interrupted removes its own folder, so nothing half-written is left under ``results/``.
"""

from __future__ import annotations

import logging
import pathlib
import shutil
import sys

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from sim.config import CONFIG_DIR, ConfigError, available_areas, check_run, model_params
from sim.interventions import NAMES
from sim.scenario import check as check_scenario
from sim.scenario import intervention_defaults, intervention_params
from sim.scenario import schema as scenario_schema

log = logging.getLogger("sim")

# every programme's parameter file becomes the config node 'interventions' (adding a programme's YAML file to
# configs/intervention/ is enough for its parameters to be overridable as interventions.<name>.<key>)
ConfigStore.instance().store(name="interventions_all", node={"interventions": intervention_defaults()})
# the scenario schema (every registered programme at share 0), which scenario files inherit
ConfigStore.instance().store(group="scenario", name="_schema", node=scenario_schema())


def validate(plain: dict) -> None:
    """Every check that can fail, before any work starts."""
    check_run(plain.get("scale"), plain.get("weeks"), plain.get("seed"), plain.get("engine"))
    r = plain.get("replicates", 1)
    if isinstance(r, bool) or not isinstance(r, int) or r < 1:
        raise ConfigError(f"'replicates' must be a whole number >= 1, got {r!r}")
    if plain.get("study") and plain["study"].get("kind", "compare") == "compare":
        _check_study(plain)
    elif plain.get("study"):
        area = plain["study"].get("area") or plain["area"]["name"]
        if area not in available_areas():
            raise ConfigError(f"unknown area '{area}' for 'study.area'; allowed: {', '.join(available_areas())}")
        if plain["study"].get("kind") == "sensitivity":
            check_scenario(plain["study"].get("scenario", "balanced"), area, int(plain["weeks"]))
    area = plain.get("area") or {}
    if not isinstance(area, dict) or area.get("name") not in available_areas():
        raise ConfigError(f"unknown area for key 'area'; allowed: {', '.join(available_areas())}")
    model_params(plain.get("model"))
    intervention_params(plain.get("interventions"))
    check_scenario(plain.get("scenario"), area["name"], int(plain.get("weeks")))


def _check_study(plain: dict) -> None:
    from sim.scenario import available_scenarios

    s = plain["study"]
    for a in s.get("areas") or []:
        if a not in available_areas():
            raise ConfigError(f"unknown area '{a}' in 'study.areas'; allowed: {', '.join(available_areas())}")
    if not s.get("areas"):
        raise ConfigError("'study.areas' is empty; allowed: " + ", ".join(available_areas()))
    for sc in s.get("scenarios") or []:
        if sc not in available_scenarios():
            raise ConfigError(f"unknown scenario '{sc}' in 'study.scenarios'; allowed: "
                              f"{', '.join(available_scenarios())}")
        for a in s["areas"]:
            check_scenario(sc, a, int(plain["weeks"]))


def study_config(plain: dict) -> dict:
    """The plain study description sim.experiment takes (areas x scenarios x replicates)."""
    s = plain.get("study") or {}
    if s:
        areas, scenarios = list(s["areas"]), {name: name for name in s["scenarios"]}
        name = s.get("name", "study")
    else:  # one configuration with several replicates (a sweep job): the scenario and its paired baseline
        areas = [plain["area"]["name"]]
        label = plain["scenario"].get("name", "scenario")
        scenarios = {"baseline": "baseline"} if label == "baseline" else {"baseline": "baseline",
                                                                          label: plain["scenario"]}
        name = f"{areas[0]}_{label}"
    return {"name": name, "areas": areas, "scenarios": scenarios, "replicates": plain.get("replicates", 1),
            "seed": plain["seed"], "scale": plain["scale"], "weeks": plain["weeks"], "model": plain["model"],
            "interventions": plain["interventions"], "workers": (s or {}).get("workers", 0)}


def _one_line(exc: BaseException, overrides: list[str]) -> str:
    """Hydra's composition errors, as one line that names the key and the allowed values."""
    msg = str(exc)
    if "Could not find" in msg and "area/" in msg:
        bad = next((o.split("=", 1)[1] for o in overrides if o.startswith("area=")), "?")
        return f"unknown area '{bad}' for key 'area'; allowed: {', '.join(available_areas())}"
    if "Could not find" in msg and "scenario/" in msg:
        from sim.scenario import available_scenarios

        bad = next((o.split("=", 1)[1] for o in overrides if o.startswith("scenario=")), "?")
        return f"unknown scenario '{bad}' for key 'scenario'; allowed: {', '.join(available_scenarios())}"
    if "not in struct" in msg or "Could not override" in msg:
        key = msg.split("'")[1] if "'" in msg else "?"
        parts = key.split(".")
        if key.startswith("scenario.allocation.") or key.startswith("scenario.start_weeks."):
            return f"unknown intervention '{key}'; known: {', '.join(NAMES)}"
        if len(parts) >= 2 and parts[0] == "interventions" and parts[1] not in NAMES:
            return f"unknown intervention '{key}'; known: {', '.join(NAMES)}"
        if len(parts) == 3 and parts[0] == "interventions":
            try:
                intervention_params({parts[1]: {parts[2]: 0}})
            except ConfigError as e:
                return str(e)
        if len(parts) == 3 and parts[0] == "model":
            try:
                model_params({parts[1]: {parts[2]: 0}})
            except ConfigError as e:
                return str(e)
        return f"unknown key '{key}'; see configs/config.yaml and docs/parameters.md for the allowed keys"
    return msg.strip().splitlines()[0]


def preflight(argv: list[str]) -> None:
    """Compose and validate a single run's config; exit with one line if it is bad."""
    if any(a in ("-m", "--multirun") for a in argv) or any(a.startswith("-") for a in argv):
        return  # sweeps are validated job by job; --help, --cfg etc. go straight to Hydra
    overrides = [a for a in argv if not a.startswith("hydra")]
    from hydra import compose, initialize_config_dir

    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides)
        validate(OmegaConf.to_container(cfg, resolve=True))
    except ConfigError as e:
        sys.exit(f"error: {e}")
    except Exception as e:  # Hydra's own composition errors
        sys.exit(f"error: {_one_line(e, overrides)}")


def run(cfg: DictConfig) -> dict:
    from sim.model import IntegrationModel
    from sim.results import write_run

    plain = OmegaConf.to_container(cfg, resolve=True)
    out = pathlib.Path(HydraConfig.get().runtime.output_dir)
    if plain.get("study") or plain.get("replicates", 1) > 1:
        return _run_study(plain, out)
    if (out / "summary.json").exists() and _same_config(out, plain):
        print(f"results: {out} (complete already: skipped)")
        return None
    try:
        validate(plain)
        common = dict(area=plain["area"]["name"], area_config=plain["area"], scale=plain["scale"],
                      seed=plain["seed"], weeks=plain["weeks"], engine=plain["engine"], params=plain["model"],
                      intervention_params=plain["interventions"])
        model = IntegrationModel(scenario=plain["scenario"], **common)
        baseline = None
        if model.interventions:  # a funded scenario: also run the baseline on the same seed (paired)
            baseline = IntegrationModel(scenario="baseline", **common)
        for m, label in ((baseline, "baseline"), (model, model.scenario.name)):
            if m is None:
                continue
            bar = _progress(plain, m, label)
            m.run(progress=bar.update_to if bar else None)
            if bar:
                bar.close()
        write_run(out, model, {k: v for k, v in plain.items() if k != "hydra"}, baseline)
        model.release()
        if baseline is not None:
            baseline.release()
    except ConfigError as e:
        _discard(out)
        sys.exit(f"error: {e}")
    except BaseException:
        _discard(out)
        raise
    print(f"results: {out}")
    return model.current


def _run_study(plain: dict, out: pathlib.Path):
    """A study (or a replicated job): finished runs are cached, so failing or stopping loses nothing."""
    kind = (plain.get("study") or {}).get("kind", "compare")
    try:
        validate(plain)
        if kind == "compare":
            from sim.experiment import run_study

            done = run_study(study_config(plain), out, progress=plain.get("progress", True))
            print(f"report: {done / 'report.html'}")
        elif kind == "sensitivity":
            from sim import sensitivity

            done = sensitivity.run(_special_study(plain), out, progress=plain.get("progress", True))
            print(f"sensitivity: {done / 'sensitivity.csv'} and {done / 'sensitivity.png'}")
        elif kind == "optimise":
            from sim import optimise

            done = optimise.run(_special_study(plain), out, progress=plain.get("progress", True))
            print(f"report: {done / 'optimisation.html'}")
        else:
            raise ConfigError(f"unknown study kind '{kind}' for 'study.kind'; allowed: compare, sensitivity, "
                              "optimise")
    except ConfigError as e:
        if not out.exists() or not any(out.iterdir()) or [p.name for p in out.iterdir()] == [".hydra"]:
            _discard(out)
        sys.exit(f"error: {e}")
    return None


def _special_study(plain: dict) -> dict:
    s = dict(plain["study"])
    if not s.get("area"):
        s["area"] = plain["area"]["name"]
    s.update({"seed": plain["seed"], "scale": plain["scale"], "weeks": plain["weeks"], "model": plain["model"],
              "interventions": plain["interventions"]})
    s.setdefault("replicates", plain.get("replicates", 1))
    return s


def _same_config(out: pathlib.Path, plain: dict) -> bool:
    """A finished run folder holds the same configuration (so a resumed sweep can skip it)."""
    import json

    try:
        old = json.loads((out / "summary.json").read_text())["config"]
    except (OSError, ValueError, KeyError):
        return False
    new = {k: v for k, v in plain.items() if k != "hydra"}
    return json.dumps(old, sort_keys=True, default=str) == json.dumps(new, sort_keys=True, default=str)


def _progress(plain, model, label):
    if not plain.get("progress", True) or model.weeks == 0:
        return None
    from tqdm import tqdm

    class Bar(tqdm):
        def update_to(self, week):
            self.update(week - self.n)

    return Bar(total=model.weeks, desc=f"{model.area['name']} {label} seed {plain['seed']}", unit="week",
               delay=2.0, leave=False)


def _discard(out: pathlib.Path) -> None:
    """Remove a failed run's folder (it holds nothing finished: summary.json is written last)."""
    if out.exists() and not (out / "summary.json").exists():
        logging.shutdown()
        shutil.rmtree(out, ignore_errors=True)


class GatherCallback(Callback):
    """At the end of a multirun, gather every job into one tidy table, its figures and report."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        from sim.gather import gather

        try:
            out = gather(config.hydra.sweep.dir)
        except FileNotFoundError:
            return
        print(f"report: {out / 'report.html'}")


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def _hydra_main(cfg: DictConfig):
    return run(cfg)


def main() -> None:
    logging.getLogger("MESA").setLevel(logging.WARNING)
    preflight(sys.argv[1:])
    _hydra_main()
