"""Before any work: a command's every job composed and checked, and its output folder checked
(:func:`preflight`); the same for a front end's compare study (:func:`prepare_study`). The first problem is one
line naming the key (:class:`ConfigError`); no folder has been made."""

from __future__ import annotations

import os
import pathlib

from omegaconf import DictConfig, OmegaConf

from cli import compose, guards, hydra_private
from cli.compose import COMPOSE_LOCK, check_groups, compose_checked
from cli.configuration import check_config, output_kind, study_config
from sim.checks import check_output_path
from sim.config import CONFIG_DIR, ConfigError
from sim.files import OutputFolder

ROOT_ENV = "SIM_OUTPUT_ROOT"  # the nearest folder that existed before this command: cleanup stops there

# flags Hydra answers without running anything
INFO_FLAGS = ("-h", "--help", "--hydra-help", "--version", "-i", "--info", "-c", "--cfg", "--resolve", "-p",
              "--package", "-sc", "--shell-completion")
VALUE_FLAGS = {"-cd": "--config-dir", "--config-dir": "--config-dir", "-cn": "--config-name",
               "--config-name": "--config-name", "-cp": "--config-path", "--config-path": "--config-path"}



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


def _preflight(argv: list[str], task_function=None) -> tuple[list[str], DictConfig | None, tuple | None]:
    """:func:`preflight`; with ``task_function`` (``hydra.main``'s), a single run's composition is also returned
    (and Hydra is left set up as ``hydra.main`` sets it up for that task), with what its check returned
    (:func:`cli.configuration.check_config`), for :func:`cli.main` to run the very configuration that was checked
    rather than have Hydra compose and the task check it again. None when Hydra must run the command itself (a
    sweep, help and the like, or a mode or verbosity set in the configuration)."""
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
            check_groups([a for a in argv if not a.startswith("-") and "=" in a], [CONFIG_DIR])
        return argv, None, None
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
    check_groups(overrides, config_dirs)
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
    direct = task_function is not None and not multirun and (given_dir is None or os.path.abspath(given_dir)
                                                             == flags["--config-dir"])
    direct = direct and not any(o.key_or_group == "hydra.mode" for o in parsed)
    context = hydra_private.MainContext(CONFIG_DIR, given_dir, task_function) if direct else compose.context(flags)
    with context:
        cfg = compose_checked(plain_overrides, True, overrides)
        hydra_cfg = cfg.hydra
        # a mode or a verbosity set in a config file: Hydra's own path (its mode check, its debug log)
        direct = direct and hydra_cfg.mode is None and not hydra_cfg.verbose
        jobs = [overrides]
        if multirun:
            guards.check_plugins(hydra_cfg)
            _check_launcher(hydra_cfg.launcher)
            jobs = _expand(parser, overrides, list(hydra_cfg.sweeper.params.items()) if hydra_cfg.sweeper.get(
                "params") else [])
        plain, folders, checked = None, [], None
        for i, job in enumerate(jobs):
            job_cfg = cfg
            if multirun:  # (each job's folder as Hydra will name it: found when the second job started, or never)
                job_cfg = compose_checked(job, True, job)
                folders.append(guards.job_folder(job_cfg, i))
            # the job less Hydra's own node (as compose() leaves it out)
            plain = guards.resolved(OmegaConf.masked_copy(job_cfg, [k for k in job_cfg if k != "hydra"]))
            checked = check_config(plain, job)
        if multirun:
            guards.check_job_folders(folders, jobs)
        key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
        try:
            chosen = _select(cfg, key, isinstance(context, hydra_private.MainContext))
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
    return argv, (cfg if direct else None), ((plain, checked) if direct else None)


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
    pinned = [f"{key}={folder}", "hydra.mode=RUN"]
    try:
        parsed = parser.parse_overrides(pinned)
    except Exception:
        return False
    if any(o.key_or_group != k.partition("=")[0] or o.is_sweep_override() for o, k in zip(parsed, pinned)):
        return False
    hydra_private.pin(cfg, parsed)
    cfg.hydra.overrides.hydra = [o for o in cfg.hydra.overrides.hydra if not o.startswith(key + "=")] + pinned
    return True


def prepare_study(overrides: list[str]) -> tuple[dict, pathlib.Path, dict]:
    """What ``python -m sim <overrides>`` would run for a compare study, without running it: the overrides are
    composed and checked exactly as on the command line (the same one-line errors, as :class:`ConfigError`), and
    the output folder is checked. Returns the study (for :func:`experiments.compare.run_study`), its folder
    (``hydra.run.dir``) and the files a command writes beside its results (``.hydra/``). Front ends (the
    explorer) run studies through this, so the command they show reproduces what they ran."""
    overrides = list(overrides)
    guards.check_argv(overrides)
    with COMPOSE_LOCK, compose.context({}):
        check_groups(overrides, [CONFIG_DIR])
        cfg = compose_checked(overrides, True, overrides)
        folder = pathlib.Path(check_output_path(str(OmegaConf.select(cfg, "hydra.run.dir")), "hydra.run.dir"))
        job = compose_checked([o for o in overrides if not o.startswith("hydra.")], False, overrides)
        plain = guards.resolved(job)
        guards.check_study_kind(overrides)
        checked = check_config(plain, overrides)
    from experiments.studies import DEFAULT

    if not plain.get("study") or checked is None or checked[0].name != DEFAULT:
        raise ConfigError("only compare studies (experiment=compare_scenarios) can be prepared here")
    OutputFolder(folder, "study", option="hydra.run.dir").check()
    extra = {".hydra/config.yaml": OmegaConf.to_yaml(job),
             ".hydra/overrides.yaml": OmegaConf.to_yaml(OmegaConf.create(overrides))}
    return study_config(plain, overrides), folder, extra


def _expand(parser, overrides: list[str], sweeper_params: list) -> list[list[str]]:
    """Every job of a sweep, as Hydra's basic sweeper makes them: the command line's overrides with the
    experiment's ``hydra.sweeper.params`` (the command line wins for a key given in both)."""
    given = {o.partition("=")[0].lstrip("+~") for o in overrides}
    lines = [f"{k}={v}" for k, v in sweeper_params if k not in given] + list(overrides)
    parsed = parser.parse_overrides(lines)
    try:
        return hydra_private.expand(parsed)
    except Exception as e:
        raise ConfigError(f"cannot expand the sweep: {' '.join(str(e).split())[:200]}") from None
