"""The command line: the only module that imports Hydra. ``python -m sim [overrides]``.

What is promised (README, "What is checked, what a stopped run leaves"):

- **Bad input never starts work.** Before Hydra makes any folder, the overrides are composed and every job is
  validated (each job of a sweep, from the command line and from ``hydra.sweeper.params``); the first problem is
  printed as one line naming the key and what is allowed, and the command exits with status 2.
- **The output folder.** ``hydra.run.dir`` (or ``hydra.sweep.dir``) must be new, empty, or one this project wrote
  before (it holds ``.sim-output.json``); a non-empty folder of other files is refused. A finished folder of the
  same configuration and code is reused; one of another configuration or code is replaced file by file (only the
  files its manifest lists). Files the project did not write are never touched.
- **Stopping.** Ctrl-C or SIGTERM stops the command within seconds: workers are terminated, finished runs are
  kept, nothing half-written is left, and one line says what was kept (exit status 130 or 143).
- **A full disk** (or quota) while writing ends the command with one line saying what was kept and about how much
  room finishing needs, exit status 74 (:mod:`cli.faults`).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pathlib
import shutil
import sys

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from cli import faults, guards
from experiments.checks import check_study_keys
from experiments.workers import (
    Interrupted,
    end_stopped,
    exit_code,
    in_main_process,
    install_handlers,
    is_stop,
    quiet_from_now,
    signal_name,
    stop_requested,
    stopped,
)
from sim.config import CONFIG_DIR, ConfigError, available_areas, check_run, check_scale, load_area, model_params
from sim.files import MANIFEST, OutputFolder, finished, key_of, remove_empty_parents
from sim.interventions import NAMES
from sim.scenario import check as check_scenario
from sim.scenario import intervention_defaults, intervention_params
from sim.scenario import schema as scenario_schema
from sim.validate import check_finite, check_int, check_output_path, fail, is_disk_full

ROOT_ENV = "SIM_OUTPUT_ROOT"  # the nearest folder that existed before this command: cleanup stops there

# every programme's parameter file becomes the config node 'interventions' (adding a programme's YAML file to
# configs/intervention/ is enough for its parameters to be overridable as interventions.<name>.<key>)
ConfigStore.instance().store(name="interventions_all", node={"interventions": intervention_defaults()})
# the scenario schema (every registered programme at share 0), which scenario files inherit
ConfigStore.instance().store(group="scenario", name="_schema", node=scenario_schema())

# flags Hydra answers without running anything
INFO_FLAGS = ("-h", "--help", "--hydra-help", "--version", "-i", "--info", "-c", "--cfg", "--resolve", "-p",
              "--package", "-sc", "--shell-completion")
VALUE_FLAGS = {"-cd": "--config-dir", "--config-dir": "--config-dir", "-cn": "--config-name",
               "--config-name": "--config-name", "-cp": "--config-path", "--config-path": "--config-path"}


# --- validation --------------------------------------------------------------------------------------------------

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


def validate(plain: dict, overrides: list[str] | None = None) -> None:
    """Every check that can fail, before any work starts."""
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
    from sim.validate import check_choice

    check_choice(plain.get("parameters", "ensemble"), "parameters", MODES)  # (a single run too: it was ignored)
    uncertainty = check_uncertainty({**_uncertainty(plain), "parameters": "fixed"})  # the ensemble: below
    kind = (plain.get("study") or {}).get("kind", "compare") if plain.get("study") else None
    uses_ensemble = kind in ("compare", "optimise") or (kind is None and plain.get("replicates", 1) > 1)
    if plain.get("parameters", "ensemble") == "ensemble" and uses_ensemble:  # calibrate makes one: not needed
        check_uncertainty({**uncertainty, "parameters": "ensemble"})
    # (ran 2 replicates on one set, not the 3 asked for; an experiment's own 2 with replicates=1 is a quick look)
    asked = _explicit(overrides or [], "seeds_per_set") is not None
    if asked and kind in (None, "compare") and uncertainty["seeds_per_set"] > replicates:
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
    if plain.get("study") is None or plain["study"].get("kind", "compare") != "compare":
        check_scale(float(plain["scale"]), area)
    if plain.get("study") is None:
        return
    study = check_study_keys(plain["study"])
    kind = study.get("kind", "compare")
    if kind == "compare":
        from experiments.compare import check_study

        check_study(study_config(plain, overrides or []))
    elif kind == "sensitivity":
        from experiments.sensitivity import check as check_sensitivity

        check_sensitivity(_special_study(plain))
    elif kind == "optimise":
        from experiments.optimise import check as check_optimise

        check_optimise(_special_study(plain))
    elif kind == "calibrate":
        from experiments.calibrate import check as check_calibrate

        check_calibrate(_special_study(plain))
    elif kind == "validate":
        from experiments.validate import check as check_validate

        check_validate(_special_study(plain))


def output_kind(plain: dict) -> str:
    """What a command writes into its folder: a run, a study (also a job with replicates), or another study."""
    study = plain.get("study")
    if study:
        return {"compare": "study"}.get(study.get("kind", "compare"), study.get("kind"))
    return "study" if plain.get("replicates", 1) > 1 else "run"


def _explicit(overrides: list[str], key: str) -> str | None:
    """The value given on the command line for ``key`` (None if it was not given)."""
    for o in overrides:
        k, sep, v = o.partition("=")
        if sep and k.lstrip("+~") == key:
            return v
    return None


def study_config(plain: dict, overrides: list[str] | None = None) -> dict:
    """The plain study description experiments.compare takes (areas x scenarios x replicates).

    ``area=`` means one thing in every experiment: the area studied. In a study over several areas, ``area=X`` on
    the command line studies X alone (and must agree with ``study.areas`` if that is given too)."""
    s = plain.get("study") or {}
    overrides = overrides or []
    if s:
        areas, scenarios = s.get("areas"), s.get("scenarios")
        chosen = _explicit(overrides, "area")
        if chosen is not None:
            if _explicit(overrides, "study.areas") is not None and list(areas or []) != [plain["area"]["name"]]:
                raise ConfigError(f"'area={chosen}' and 'study.areas={_explicit(overrides, 'study.areas')}' "
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
            **_uncertainty(plain)}


def _uncertainty(plain: dict) -> dict:
    """The top-level parameter-uncertainty keys every study takes."""
    return {k: plain[k] for k in ("parameters", "ensemble", "seeds_per_set") if k in plain}


def _special_study(plain: dict) -> dict:
    """A sensitivity or optimisation study: the study block plus the run's area, size and parameters."""
    s = dict(plain["study"])
    s.update({"area": plain["area"]["name"], "seed": plain["seed"], "scale": plain["scale"],
              "weeks": plain["weeks"], "model": plain["model"], "interventions": plain["interventions"]})
    s.setdefault("replicates", plain.get("replicates", 1))
    if s.get("kind") == "optimise":  # the studies that run replicates with parameter sets of the ensemble
        s["uncertainty"] = _uncertainty(plain)
    return s


def _one_line(exc: BaseException, overrides: list[str]) -> str:
    """Hydra's composition errors, as one line that names the key and the allowed values."""
    msg = str(exc)
    if "Could not find" in msg and "area/" in msg:
        bad = _explicit(overrides, "area") or "?"
        return f"unknown area '{bad}' for key 'area'; allowed: {', '.join(available_areas())}"
    if "Could not find" in msg and "scenario/" in msg:
        from sim.scenario import available_scenarios

        bad = _explicit(overrides, "scenario") or "?"
        return f"unknown scenario '{bad}' for key 'scenario'; allowed: {', '.join(available_scenarios())}"
    if "not in struct" in msg or "Could not override" in msg or "Could not append" in msg:
        key = msg.split("'")[1] if "'" in msg else "?"
        parts = key.split(".")
        from sim.interventions import POLICIES, REGISTRY

        if key.startswith("scenario.allocation.") and len(parts) == 3 and parts[2] in POLICIES:
            return (f"'{key}': '{parts[2]}' is a policy, not a programme to fund; switch it on with "
                    f"scenario.policies.{parts[2]}=true")
        if key.startswith("scenario.allocation."):
            return f"unknown programme '{key}'; known: {', '.join(NAMES)}"
        if key.startswith("scenario.start_weeks.") or (len(parts) >= 2 and parts[0] == "interventions"
                                                       and parts[1] not in REGISTRY):
            return f"unknown intervention '{key}'; known: {', '.join(sorted(REGISTRY))}"
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
        if parts[0] == "study":
            return (f"unknown key '{key}': give it with '+{key}=...' only if the experiment takes it (see "
                    "configs/experiment/); the area is chosen with area=...")
        return f"unknown key '{key}'; see configs/config.yaml and docs/parameters.md for the allowed keys"
    import re

    where = re.search(r'in "([^"]+)", line (\d+)', msg)
    problem = " ".join(msg.strip().split("\n")[:1]) if msg.strip() else type(exc).__name__
    if where:  # a YAML error in a config file (e.g. one given with --config-dir)
        return f"cannot read config file '{where.group(1)}' (line {where.group(2)}): {problem}"
    return f"cannot compose the configuration: {problem}"


def _options(group: str, config_dirs: list[pathlib.Path]) -> list[str]:
    names = set()
    for d in config_dirs:
        names |= {p.stem for p in (d / group).glob("*.yaml") if not p.stem.startswith("_")}
    return sorted(names)


def _check_groups(overrides: list[str], config_dirs: list[pathlib.Path]) -> None:
    """Refuse an unknown option of a config group (``experiment=nosuch`` would otherwise run a default job)."""
    for o in overrides:
        key, sep, value = o.partition("=")
        group = key.lstrip("+~")
        if not sep or "." in group or "/" in group and not group.startswith("hydra/"):
            continue
        if group.startswith("hydra/") or not any((d / group).is_dir() for d in config_dirs):
            continue
        allowed = _options(group, config_dirs)
        for v in value.split(","):
            v = v.strip()
            if v in ("null", "") and group == "experiment":
                continue
            if v not in allowed:
                raise ConfigError(f"unknown {group} '{v}' for key '{group}'; allowed: {', '.join(allowed)}")


def parse_argv(argv: list[str]) -> tuple[list[str], dict, bool]:
    """(overrides, value flags, multirun?) from the command line; unknown flags are refused."""
    overrides, flags, multirun = [], {}, False
    i = 0
    while i < len(argv):
        a = argv[i]
        name, eq, val = a.partition("=")
        if a in ("-m", "--multirun"):
            multirun = True
        elif name in VALUE_FLAGS:
            if not eq:
                if i + 1 >= len(argv):
                    raise ConfigError(f"'{a}' needs a value")
                i += 1
                val = argv[i]
            flags[VALUE_FLAGS[name]] = val
        elif a.startswith("-"):
            raise ConfigError(f"unknown option '{a}'; allowed: -m/--multirun, --config-dir, --config-name, "
                              "--help, --cfg job, and key=value overrides")
        else:
            overrides.append(a)
        i += 1
    return overrides, flags, multirun


def _check_launcher(launcher) -> None:
    """A sweep's Hydra launcher can be reached before any job starts: SLURM's ``srun`` for the SLURM launcher; the
    head node at ``hydra.launcher.ray.init.address`` for the Ray launcher (Ray would wait minutes, then fail)."""
    from experiments.checks import check_launcher_reachable

    target = str(launcher.get("_target_", ""))
    names = {"launcher": "hydra/launcher", "address": "hydra.launcher.ray.init.address",
             "here": "hydra/launcher=submitit_local", "local": "no hydra/launcher (joblib or the basic one)",
             "no_address": "set it to null"}
    if target.endswith("submitit_launcher.SlurmLauncher"):
        check_launcher_reachable("slurm", None, names)
    elif target.endswith("ray_launcher.RayLauncher"):
        check_launcher_reachable("ray", {"address": OmegaConf.select(launcher, "ray.init.address")}, names,
                                 joins_last=True)


def preflight(argv: list[str]) -> list[str]:
    """Compose and validate every job of the command; check the output folder; return the argv for Hydra (with
    the output folder pinned, so a time-stamped name cannot change between the check and the run)."""
    return _preflight(argv)[0]


def _preflight(argv: list[str], direct: bool = False) -> tuple[list[str], DictConfig | None]:
    """:func:`preflight`; with ``direct``, a single run's composition is also returned (and Hydra is left set up
    as ``hydra.main`` sets it up), for :func:`_run_direct` to run the very configuration that was checked rather
    than have Hydra compose it twice more (once to find the mode, once to run). None when Hydra must run the
    command itself (a sweep, help and the like, or a mode or verbosity set in the configuration)."""
    mode_of = {"-m": "-m", "--multirun": "-m", "-c": "--cfg", "--cfg": "--cfg", "-i": "--info", "--info": "--info",
               "-sc": "--shell-completion", "--shell-completion": "--shell-completion"}
    guards.check_argv(argv)
    modes = list(dict.fromkeys(mode_of[a.partition("=")[0]] for a in argv if a.partition("=")[0] in mode_of))
    if len(modes) > 1:  # (Hydra would stop on them with a traceback)
        raise ConfigError(f"'{modes[0]}' and '{modes[1]}' cannot be given together: give one of -m (multirun), "
                          "--cfg, --info")
    if any(a.partition("=")[0] in INFO_FLAGS for a in argv):  # help, --cfg and the like: Hydra answers them
        if "--shell-completion" in modes and not any(a.partition("=")[0] in ("install", "uninstall", "query")
                                                     for a in argv):
            raise ConfigError("'--shell-completion' needs what to do: install=bash, uninstall=bash or query=...")
        if not any(a.partition("=")[0] in VALUE_FLAGS for a in argv):  # (an unknown area, say: Hydra's traceback)
            _check_groups([a for a in argv if not a.startswith("-") and "=" in a], [CONFIG_DIR])
        return argv, None
    overrides, flags, multirun = parse_argv(argv)
    config_dirs = [CONFIG_DIR]
    given_dir = flags.get("--config-dir")
    if "--config-dir" in flags:
        cd = pathlib.Path(flags["--config-dir"]).expanduser()
        if not cd.is_dir():
            raise ConfigError(f"'--config-dir' must be a folder, got '{cd}'")
        config_dirs.append(cd.resolve())
        flags["--config-dir"] = str(cd.resolve())
    if "--config-path" in flags:
        raise ConfigError("'--config-path' is not supported; use --config-dir to add a folder of configs")
    if flags.get("--config-name", "config") != "config":
        raise ConfigError("'--config-name' must be 'config' (the configs/ layout is fixed); add configs with "
                          "--config-dir")
    _check_groups(overrides, config_dirs)
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    try:
        parsed = parser.parse_overrides(overrides)
    except Exception as e:
        raise ConfigError(f"cannot read the overrides: {' '.join(str(e).split())[:200]}") from None
    sweeps = [o for o in parsed if o.is_sweep_override()]
    if sweeps and not multirun:
        raise ConfigError(f"'{sweeps[0].input_line}' sweeps several values: add -m (multirun) to run each")
    guards.check_study_kind(parsed)
    guards.check_swept(parsed)
    plain_overrides = [o.input_line for o in parsed if not o.is_sweep_override()]
    # Hydra's own --config-dir is os.path.abspath of the flag: compose with that very path (so that the recorded
    # config sources are Hydra's), unless it names the folder differently (then Hydra composes it again itself)
    direct = direct and not multirun and (given_dir is None or os.path.abspath(given_dir) == flags["--config-dir"])
    direct = direct and not any(o.key_or_group == "hydra.mode" for o in parsed)
    context = _main_hydra(given_dir) if direct else _hydra_context(flags)
    with context:
        cfg = _compose_checked(plain_overrides, True, overrides)
        hydra_cfg = cfg.hydra
        # a mode or a verbosity set in a config file: Hydra's own path (its mode check, its debug log)
        direct = direct and hydra_cfg.mode is None and not hydra_cfg.verbose
        jobs = [overrides]
        if multirun:
            guards.check_plugins(hydra_cfg)
            _check_launcher(hydra_cfg.launcher)
            jobs = _expand(parser, overrides, list(hydra_cfg.sweeper.params.items()) if hydra_cfg.sweeper.get(
                "params") else [])
        plain, folders = None, []
        for i, job in enumerate(jobs):
            job_cfg = cfg
            if multirun:  # (each job's folder as Hydra will name it: found when the second job started, or never)
                job_cfg = _compose_checked(job, True, job)
                folders.append(guards.job_folder(job_cfg, i))
            # the job less Hydra's own node (as compose() leaves it out)
            plain = guards.resolved(OmegaConf.masked_copy(job_cfg, [k for k in job_cfg if k != "hydra"]))
            validate(plain, job)
        if multirun:
            guards.check_job_folders(folders, jobs)
        key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
        try:
            chosen = _select(cfg, key, isinstance(context, _main_hydra))
        except Exception as e:  # (an interpolation in it that cannot be resolved)
            raise ConfigError(f"cannot resolve '{key}': {' '.join(str(e).split())[:200]}") from None
        folder = pathlib.Path(check_output_path(str(chosen), key))
        if direct:
            direct = _pin(cfg, parser, key, folder)
        context.keep = direct
    # what the folder will hold: a single run's job is the composition itself (less Hydra's node, which
    # output_kind does not read)
    kind = "sweep" if multirun else output_kind(plain if plain is not None else
                                                OmegaConf.to_container(cfg, resolve=True))
    OutputFolder(folder, kind, option=key).check()
    root = folder.absolute()
    while not root.exists():
        root = root.parent
    os.environ[ROOT_ENV] = str(root)
    argv = [a for a in argv if not a.startswith(key + "=")] + [f"{key}={folder}"]
    return argv, (cfg if direct else None)


def _select(cfg: DictConfig, key: str, as_cli: bool):
    """``key`` of the composed ``cfg``, read as the check has always read it: composed as the task 'cli' (so that
    a folder named after ``${hydra.job.name}`` keeps its name, also when Hydra's task name was composed in)."""
    if not as_cli:
        return OmegaConf.select(cfg, key)
    job = cfg.hydra.job
    name, job.name = job.name, "cli"
    try:
        return OmegaConf.select(cfg, key)
    finally:
        job.name = name


def _pin(cfg: DictConfig, parser, key: str, folder: pathlib.Path) -> bool:
    """Make ``cfg`` what Hydra composes from the argv :func:`preflight` returns: the output folder pinned
    (``key=folder`` last among the overrides, any earlier ``key=...`` dropped) and then ``hydra.mode=RUN``, as
    ``hydra.main`` appends it to a single run's overrides. False if the pinned override cannot be read (Hydra then
    reads the argv itself, and reports it as before)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    pinned = [f"{key}={folder}", "hydra.mode=RUN"]
    try:
        parsed = parser.parse_overrides(pinned)
    except Exception:
        return False
    if any(o.key_or_group != k.partition("=")[0] or o.is_sweep_override() for o, k in zip(parsed, pinned)):
        return False
    ConfigLoaderImpl._apply_overrides_to_config(parsed, cfg)
    cfg.hydra.overrides.hydra = [o for o in cfg.hydra.overrides.hydra if not o.startswith(key + "=")] + pinned
    return True


_COMPOSE_LOCK = __import__("threading").Lock()  # Hydra's global state: one composition at a time


def prepare_study(overrides: list[str]) -> tuple[dict, pathlib.Path, dict]:
    """What ``python -m sim <overrides>`` would run for a compare study, without running it: the overrides are
    composed and checked exactly as on the command line (the same one-line errors, as :class:`ConfigError`), and
    the output folder is checked. Returns the study (for :func:`experiments.compare.run_study`), its folder
    (``hydra.run.dir``) and the files a command writes beside its results (``.hydra/``). Front ends (the
    explorer) run studies through this, so the command they show reproduces what they ran."""
    overrides = list(overrides)
    guards.check_argv(overrides)
    with _COMPOSE_LOCK, _hydra_context({}):
        _check_groups(overrides, [CONFIG_DIR])
        cfg = _compose_checked(overrides, True, overrides)
        folder = pathlib.Path(check_output_path(str(OmegaConf.select(cfg, "hydra.run.dir")), "hydra.run.dir"))
        job = _compose_checked([o for o in overrides if not o.startswith("hydra.")], False, overrides)
        plain = guards.resolved(job)
        guards.check_study_kind(overrides)
        validate(plain, overrides)
    if not plain.get("study") or (plain["study"].get("kind") or "compare") != "compare":
        raise ConfigError("only compare studies (experiment=compare_scenarios) can be prepared here")
    OutputFolder(folder, "study", option="hydra.run.dir").check()
    extra = {".hydra/config.yaml": OmegaConf.to_yaml(job),
             ".hydra/overrides.yaml": OmegaConf.to_yaml(OmegaConf.create(overrides))}
    return study_config(plain, overrides), folder, extra


class _hydra_context:
    """Hydra's global state set up for composing as ``python -m sim`` does (with an extra --config-dir searched
    first, as Hydra's own flag does), and cleared afterwards."""

    def __init__(self, flags):
        self.flags = flags

    def __enter__(self):
        from hydra import version
        from hydra._internal.hydra import Hydra
        from hydra._internal.utils import create_config_search_path
        from hydra.core.config_search_path import SearchPathQuery
        from hydra.core.global_hydra import GlobalHydra

        version.setbase("1.3")
        GlobalHydra.instance().clear()
        sp = create_config_search_path(f"file://{CONFIG_DIR}")
        if self.flags.get("--config-dir"):
            sp.prepend(provider="command-line", path=f"file://{self.flags['--config-dir']}",
                       anchor=SearchPathQuery(provider="schema"))
        Hydra.create_main_hydra2(task_name="cli", config_search_path=sp)
        return self

    def __exit__(self, *exc):
        from hydra.core.global_hydra import GlobalHydra

        GlobalHydra.instance().clear()
        return False


class _main_hydra(_hydra_context):
    """Hydra's global state exactly as ``hydra.main`` sets it up for :func:`_hydra_main` (the same task name and
    config search path, so that a composition here is the one Hydra would make). Kept after the block (for
    :func:`_run_direct`) if ``keep`` was set inside it, cleared otherwise."""

    def __init__(self, config_dir: str | None):
        self.config_dir, self.keep = config_dir, False

    def __enter__(self):
        from hydra import version
        from hydra._internal import utils as hydra_utils
        from hydra._internal.hydra import Hydra
        from hydra.core.config_search_path import SearchPathQuery
        from hydra.core.global_hydra import GlobalHydra

        version.setbase("1.3")
        GlobalHydra.instance().clear()
        calling_file, calling_module = hydra_utils.detect_calling_file_or_module_from_task_function(_hydra_main)
        sp = hydra_utils.create_automatic_config_search_path(calling_file, calling_module, str(CONFIG_DIR))
        if self.config_dir is not None:  # as hydra.main adds --config-dir
            sp.prepend(provider="command-line", path=f"file://{os.path.abspath(self.config_dir)}",
                       anchor=SearchPathQuery(provider="schema"))
        Hydra.create_main_hydra2(task_name=hydra_utils.detect_task_name(calling_file, calling_module),
                                 config_search_path=sp)
        return self

    def __exit__(self, *exc):
        if exc[0] is not None or not self.keep:
            super().__exit__(*exc)
        return False


def _compose_checked(overrides: list[str], return_hydra_config: bool, shown: list[str]):
    from hydra import compose

    try:
        return compose(config_name="config", overrides=overrides, return_hydra_config=return_hydra_config)
    except ConfigError:
        raise
    except Exception as e:  # Hydra's and OmegaConf's own errors, and YAML errors in a --config-dir file
        raise ConfigError(_one_line(e, shown)) from None


def _expand(parser, overrides: list[str], sweeper_params: list) -> list[list[str]]:
    """Every job of a sweep, as Hydra's basic sweeper makes them: the command line's overrides with the
    experiment's ``hydra.sweeper.params`` (the command line wins for a key given in both)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra

    given = {o.partition("=")[0].lstrip("+~") for o in overrides}
    lines = [f"{k}={v}" for k, v in sweeper_params if k not in given] + list(overrides)
    parsed = parser.parse_overrides(lines)
    for o in parsed:
        o.config_loader = GlobalHydra.instance().config_loader()
    try:
        batches = BasicSweeper.split_arguments(parsed, None)
    except Exception as e:
        raise ConfigError(f"cannot expand the sweep: {' '.join(str(e).split())[:200]}") from None
    return [job for batch in batches for job in batch]


# --- running -----------------------------------------------------------------------------------------------------

def run(cfg: DictConfig):
    """The task Hydra calls for the run (or for each job of a sweep)."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    hc = HydraConfig.get()
    out = pathlib.Path(hc.runtime.output_dir)
    overrides = list(hc.overrides.task)
    root = os.environ.get(ROOT_ENV)
    extra = {".hydra/config.yaml": OmegaConf.to_yaml(cfg), ".hydra/overrides.yaml": OmegaConf.to_yaml(
        OmegaConf.create(overrides)), ".hydra/hydra.yaml": OmegaConf.to_yaml(OmegaConf.create({"hydra": hc}))}
    config = {k: v for k, v in plain.items() if k != "hydra"}
    install_handlers()  # in a launcher's worker process too: a stop signal cleans up this job's folder
    try:
        validate(plain, overrides)
        if plain.get("study") or plain.get("replicates", 1) > 1:
            _run_study(plain, out, overrides, extra)
        else:
            _run_single(plain, config, out, extra)
    except BaseException as e:
        _tidy(out, root)
        if isinstance(e, ConfigError):
            fail(str(e))
        many = plain.get("study") or plain.get("replicates", 1) > 1
        if is_disk_full(e):
            faults.run(e, out, lambda: _planned_runs(plain, overrides))
        if not is_stop(e):
            raise
        if isinstance(e, Interrupted):
            kept = str(e)
        elif many and out.exists():
            kept = f"the runs finished so far are kept under {out}; rerun the same command to resume"
        elif many:  # (it named a folder that was never made)
            kept = "no run had finished, so nothing was kept"
        else:
            kept = f"the run had not finished, so nothing was written ({out} is as it was)"
        if not in_main_process():  # a launcher's worker: end it here (its parent reports for the sweep)
            sys.stderr.flush()
            os._exit(exit_code())
        quiet_from_now()  # (raised rather than ended here: a sweep run in this process cleans up its folder first)
        sys.stderr.write(f"stopped by {signal_name()}: {kept}\n")
        raise SystemExit(exit_code()) from None
    return None


def _planned_runs(plain: dict, overrides: list[str]) -> int:
    """About how many runs a compare study (or a replicated job) makes; 0 for other studies."""
    if (plain.get("study") or {}).get("kind", "compare") != "compare":
        return 0
    s = study_config(plain, overrides)
    alone = len(NAMES) if s["programmes_alone"] else 0
    return len(s["areas"]) * (len(s["scenarios"]) + ("baseline" not in s["scenarios"]) + alone) * int(s["replicates"])


def _tidy(out: pathlib.Path, root: str | None) -> None:
    """Remove the folders this command made that are empty (Hydra makes the run folder before the task)."""
    logging.shutdown()
    remove_empty_parents(out, root or out.parent)


@contextlib.contextmanager
def _importing():
    """Around the first import of the model (sim.model brings Mesa and pandas: several hundred thousand objects
    that live as long as the process, and no garbage): the cyclic collector paused while they are made, and what
    was made then frozen (``gc.freeze``), so that no later collection walks them again."""
    if not gc.isenabled() or "sim.model" in sys.modules:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def _run_single(plain: dict, config: dict, out: pathlib.Path, extra: dict) -> None:
    key = key_of({k: v for k, v in config.items() if k != "progress"})  # (a progress bar changes no number)
    if finished(out, key):
        print(f"results: {out} (complete already, same configuration and code: skipped)")
        return
    from sim.runplot import Drawer

    drawer = Drawer()  # the run's figure, in a helper process that imports matplotlib meanwhile
    try:
        _run_model(plain, config, out, extra, key, drawer)
    finally:
        drawer.close()


def _run_model(plain: dict, config: dict, out: pathlib.Path, extra: dict, key: str, drawer) -> None:
    """One run (and its paired baseline if funded), written whole into ``out``."""
    with _importing():
        from sim.model import IntegrationModel
        from sim.results import write_run
    folder = OutputFolder(out, "run", key)
    before = folder.previous()
    with folder.session():
        if before and before.get("complete"):
            print(f"note: {out} held a finished run of another configuration or code; its files are replaced",
                  file=sys.stderr)
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
        write_run(folder, model, config, baseline, extra, drawer=drawer)
        model.release()
        if baseline is not None:
            baseline.release()
    print(f"results: {out}")


def _run_study(plain: dict, out: pathlib.Path, overrides: list[str], extra: dict) -> None:
    """A study (or a replicated job): finished runs are cached, so failing or stopping loses nothing."""
    kind = (plain.get("study") or {}).get("kind", "compare")
    progress = plain.get("progress", True)
    if kind == "compare":
        from experiments.compare import run_study

        done = run_study(study_config(plain, overrides), out, progress=progress, option="hydra.run.dir",
                         extra_files=extra)
        print(f"report: {done / 'report.html'}")
    elif kind == "sensitivity":
        from experiments import sensitivity

        done = sensitivity.run(_special_study(plain), out, progress=progress, extra_files=extra)
        print(f"sensitivity: {done / 'sensitivity.csv'} and {done / 'sensitivity.png'}")
    elif kind == "validate":
        from experiments import validate

        done = validate.run(_special_study(plain), out, progress=progress, extra_files=extra)
        print(f"validation: {done / 'validation.csv'} and {done / 'validation.md'}")
    elif kind == "calibrate":
        from experiments import calibrate

        done = calibrate.run(_special_study(plain), out, progress=progress, extra_files=extra)
        print(f"calibration: {done / 'ensemble.csv'}, {done / 'fit.csv'} and {done / 'calibration_targets.png'}")
    else:
        from experiments import optimise

        done = optimise.run(_special_study(plain), out, progress=progress, extra_files=extra)
        print(f"report: {done / 'optimisation.html'}")


def _progress(plain, model, label):
    if not plain.get("progress", True) or model.weeks == 0:
        return None
    from tqdm import tqdm

    class Bar(tqdm):
        def update_to(self, week):
            self.update(week - self.n)

    return Bar(total=model.weeks, desc=f"{model.area['name']} {label} seed {plain['seed']}", unit="week",
               delay=2.0, leave=False)


class GatherCallback(Callback):
    """At the end of a multirun, gather every finished job into one tidy table, its figures and report."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        from experiments.gather import gather

        try:
            out = gather(config.hydra.sweep.dir)
        except OSError as e:
            if is_disk_full(e):
                faults.gather(e, config.hydra.sweep.dir)
            if isinstance(e, FileNotFoundError):
                return
            raise
        except ConfigError as e:
            print(f"warning: the sweep was not gathered: {e}", file=sys.stderr)
            return
        print(f"report: {out / 'report.html'}")


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def _hydra_main(cfg: DictConfig):
    return run(cfg)


def _run_direct(cfg: DictConfig, argv: list[str]) -> None:
    """What ``_hydra_main()`` does for a single run, given the configuration :func:`_preflight` composed and
    checked (and Hydra set up as ``hydra.main`` leaves it): Hydra's own ``run`` (its callbacks, run_job, error
    report), except that it does not compose the same configuration again."""
    from hydra._internal import hydra as hydra_impl
    from hydra._internal.utils import run_and_report
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.utils import configure_log

    app = GlobalHydra.instance().hydra
    overrides, _, _ = parse_argv(argv)

    def compose_config(config_name, overrides, run_mode, with_log_configuration=False, **_):
        if with_log_configuration:  # as Hydra's compose_config does after composing
            configure_log(cfg.hydra.hydra_logging, cfg.hydra.verbose)
            hydra_impl.log = logging.getLogger(hydra_impl.__name__)
            app._print_debug_info(config_name, overrides, run_mode)  # nothing unless Hydra's log is at DEBUG
        return cfg

    app.compose_config = compose_config
    try:
        run_and_report(lambda: app.run(config_name="config", task_function=_hydra_main.__wrapped__,
                                       overrides=overrides + ["hydra.mode=RUN"]))
    finally:
        GlobalHydra.instance().clear()


def _sweep_cleanup(folder: pathlib.Path, created: bool) -> None:
    """After a failed or stopped sweep: empty job folders go; a sweep folder this command made in which no job
    kept anything (no finished job, no cached run) goes too, with what Hydra and the launcher wrote there."""
    if not folder.is_dir():
        return
    for d in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            d.rmdir()
    launcher_files = ("multirun.yaml", MANIFEST, ".submitit")
    if created and all(p.name in launcher_files for p in folder.iterdir()):
        shutil.rmtree(folder, ignore_errors=True)
        remove_empty_parents(folder.parent, os.environ.get(ROOT_ENV, str(folder.parent)))


def main() -> None:
    """``python -m sim``. A stopped command ends as soon as it has said what it kept (``end_stopped``)."""
    try:
        _main()
    except BaseException:
        if not stop_requested():
            raise
        end_stopped()


def _main() -> None:
    logging.getLogger("MESA").setLevel(logging.WARNING)
    install_handlers(main=True)
    argv = sys.argv[1:]
    try:
        argv, composed = _preflight(argv, direct=True)
    except ConfigError as e:
        fail(str(e))
    except KeyboardInterrupt:
        stopped(" before any work")
    sys.argv = [sys.argv[0]] + argv
    multirun = any(a in ("-m", "--multirun") for a in argv)
    sweep = None
    if multirun and not any(a.partition("=")[0] in INFO_FLAGS for a in argv):
        sweep = pathlib.Path(next(a.split("=", 1)[1] for a in argv if a.startswith("hydra.sweep.dir=")))
    sweep_created = sweep is not None and not sweep.exists()
    try:
        if composed is not None:  # a single run: the configuration preflight composed and checked
            _run_direct(composed, argv)
        elif sweep is None:
            _hydra_main()
        else:  # the sweep folder is locked for the whole sweep: two sweeps never share one
            with OutputFolder(sweep, "sweep", option="hydra.sweep.dir").session():
                _hydra_main()
    except ConfigError as e:
        fail(str(e))
    except (faults.DiskFull, OSError) as e:  # (a sweep job's, or the disk filling outside any run)
        if isinstance(e, OSError) and not is_disk_full(e):
            raise
        if sweep is not None:
            _sweep_cleanup(sweep, sweep_created)
        faults.sweep(e, sweep)
    except KeyboardInterrupt:
        if sweep is not None:
            _sweep_cleanup(sweep, sweep_created)
        stopped(f": finished jobs are kept{' under ' + str(sweep) if sweep else ''}; rerun the same command to "
                "resume")
    except SystemExit as e:
        if sweep is not None and e.code not in (0, None):
            _sweep_cleanup(sweep, sweep_created)
        raise
