"""Checks of the command line's own input that come before (or beside) the configuration's: sizes of the overrides,
the files of a ``--config-dir``, Hydra's own settings (launcher, sweeper, a sweep's job folders), interpolations,
and the keys no command line may set. Each raises :class:`ConfigError` with one line naming the key, before any work:
without them these were tracebacks, a hang (an alias bomb), or jobs written outside their sweep."""

from __future__ import annotations

import os
import pathlib

from sim.checks import COMPONENT_LIMIT, check_name
from sim.params import ConfigError

MAX_OVERRIDE = 100_000  # characters in one override (a written-out scenario list is a few hundred)
MAX_KEY = 200  # characters in an override's key (the longest real key is about 60)
MAX_CONFIG_FILE = 1_000_000  # bytes in one file of a --config-dir (the project's largest is 7 kB)
MAX_YAML_NODES = 10_000  # values of one such file, aliases expanded (the project's largest has 320; 66,000 took 12 s)
GATHERED = "gathered"  # the folder a sweep is gathered into (experiments.gather)


def check_argv(argv: list[str]) -> None:
    """No override so long that reading it is the work (a 10 MB value), nor a key longer than any key can be; and
    the files of a ``--config-dir`` (:func:`check_config_dir`), for every command, --cfg and --help too."""
    for i, a in enumerate(argv):
        name, eq, value = a.partition("=")
        if name in ("-cd", "--config-dir"):
            value = value if eq else (argv[i + 1] if i + 1 < len(argv) else "")
            folder = pathlib.Path(value).expanduser()
            if folder.is_dir():
                check_config_dir(folder)
        key = a.partition("=")[0]
        if len(a) > MAX_OVERRIDE:
            raise ConfigError(f"the override for '{key[:60]}' is {len(a):,} characters long; at most {MAX_OVERRIDE:,} "
                              "(put a large configuration in a file of a --config-dir folder)")
        if "=" in a and len(key) > MAX_KEY:
            raise ConfigError(f"the key '{key[:60]}...' is {len(key):,} characters long; keys are at most {MAX_KEY} "
                              "(see configs/config.yaml and docs/parameters.md for the keys)")


def _expanded_nodes(text: str, name: str) -> None:
    """Count the nodes of a YAML text with every alias expanded, from its events (which never expand one), and
    refuse past :data:`MAX_YAML_NODES`: a few lines of nested aliases expand to billions (a 'billion laughs')."""
    import yaml

    sizes: dict = {}
    stack = [[None, 0]]  # [anchor, nodes so far] per open collection; the bottom one is the document stream
    try:
        for ev in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                stack.append([ev.anchor, 1])
                continue
            if isinstance(ev, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                anchor, n = stack.pop()
            elif isinstance(ev, yaml.ScalarEvent):
                anchor, n = ev.anchor, 1
            elif isinstance(ev, yaml.AliasEvent):
                anchor, n = None, sizes.get(ev.anchor, 1)
            else:
                continue
            if anchor is not None:
                sizes[anchor] = n
            stack[-1][1] += n
            if stack[-1][1] > MAX_YAML_NODES:
                raise ConfigError(f"config file '{name}' expands to more than {MAX_YAML_NODES:,} values through its "
                                  "YAML aliases (*name); write the values out, or use fewer nested aliases")
    except yaml.YAMLError:
        return  # (Hydra reads it next and reports where it is wrong)


def _yaml_files(folder: pathlib.Path, depth: int = 4) -> list[pathlib.Path]:
    """The YAML files Hydra may read from a config folder: groups nest a few folders deep (hydra/launcher/), so a
    folder given by mistake (a home folder) is not walked whole."""
    out = []
    for here, dirs, files in os.walk(folder):
        if len(pathlib.Path(here).relative_to(folder).parts) >= depth:
            dirs[:] = []
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [pathlib.Path(here) / f for f in sorted(files) if f.endswith((".yaml", ".yml"))]
    return [p for p in out if p.is_file()]


def check_config_dir(folder: pathlib.Path) -> None:
    """Every YAML file of a ``--config-dir`` small enough, and not an alias bomb, before Hydra reads any of it."""
    for p in _yaml_files(folder):
        size = p.stat().st_size
        if size > MAX_CONFIG_FILE:
            raise ConfigError(f"config file '{p}' is {size:,} bytes; a --config-dir file is at most "
                              f"{MAX_CONFIG_FILE:,} (configuration, not data)")
        try:
            text = p.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read config file '{p}' ({getattr(e, 'strerror', None) or e})") from None
        _expanded_nodes(text, str(p))


def resolved(cfg) -> dict:
    """``cfg`` as a plain mapping with every interpolation resolved; a cycle (``a: ${b}``, ``b: ${a}``) or a
    reference to nothing is refused naming the key."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as e:
        key = getattr(e, "full_key", None) or "?"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"cannot resolve '{key}': {first} (check the ${{...}} interpolations of the config files, "
                          "and of those given with --config-dir)") from None


def _plugin(node, key: str, base) -> None:
    """``node._target_`` names a Hydra plugin of kind ``base`` (Hydra refused anything else with a traceback)."""
    from hydra.core.plugins import Plugins

    target = str(node.get("_target_", "")) if node is not None else ""
    if not target:
        return
    known = sorted(f"{c.__module__}.{c.__name__}" for c in Plugins.instance().discover(base))
    if target not in known:
        raise ConfigError(f"'{key}' is '{target}', which is not a Hydra {base.__name__.lower()}; allowed: "
                          f"{', '.join(known)}")


def check_plugins(hydra_cfg) -> None:
    """A sweep's launcher and sweeper are Hydra's plugins of those kinds."""
    from hydra.plugins.launcher import Launcher
    from hydra.plugins.sweeper import Sweeper

    _plugin(hydra_cfg.get("launcher"), "hydra.launcher._target_", Launcher)
    _plugin(hydra_cfg.get("sweeper"), "hydra.sweeper._target_", Sweeper)


def check_swept(parsed) -> None:
    """No setting of Hydra's own swept (it takes one value for the whole command: 'hydra.sweep.dir=A,B' ran into
    neither), and no value listed twice (two jobs of one configuration, and one folder)."""
    for o in parsed:
        if not o.is_sweep_override():
            continue
        key = o.key_or_group
        if key.startswith(("hydra.", "hydra/")) or key == "hydra":
            raise ConfigError(f"'{key}' cannot be swept ('{o.input_line}'): Hydra's own settings take one value for "
                              "the whole command; run one sweep per value")
        try:
            values = list(o.sweep_string_iterator())
        except Exception:  # (glob() needs the configuration: its values are distinct names anyway)
            continue
        twice = next((v for i, v in enumerate(values) if v in values[:i]), None)
        if twice is not None:
            raise ConfigError(f"'{key}' lists the value {twice} twice ('{o.input_line}'): both jobs would run one "
                              "configuration into one folder; give each value once")


def job_folder(full_cfg, index: int) -> str:
    """A sweep job's folder below the sweep's, as Hydra makes it (``hydra.sweep.subdir`` resolved for the job,
    with its number), checked: relative, each name by the one rule for names (:func:`sim.checks.check_name`,
    up to the file system's 255 bytes: Hydra names it from the job's overrides), never ``..``."""
    from omegaconf import OmegaConf, open_dict

    with open_dict(full_cfg):
        full_cfg.hydra.job.id, full_cfg.hydra.job.num = index, index
    sub = OmegaConf.select(full_cfg, "hydra.sweep.subdir")
    text = "" if sub is None else str(sub)
    if not text or os.path.isabs(text) or text.startswith("~"):
        raise ConfigError(f"'hydra.sweep.subdir' gives job {index} the folder {text!r}: a job's folder must be a "
                          "relative folder inside hydra.sweep.dir (leave the key out: it is named by the job's "
                          "overrides)")
    for part in pathlib.PurePosixPath(text).parts:
        if part in (".", ".."):
            raise ConfigError(f"'hydra.sweep.subdir' gives job {index} the folder {text!r}, outside hydra.sweep.dir: "
                              "a job's folder must stay inside the sweep's (leave the key out: it is named by the "
                              "job's overrides)")
        check_name(part, "hydra.sweep.subdir", limit=COMPONENT_LIMIT)  # (each name of the job's folder)
    return text


def check_job_folders(folders: list[str], jobs: list[list[str]]) -> None:
    """Every job of a sweep has a folder of its own (two sharing one failed as the second started), and none is
    the folder the sweep is gathered into."""
    seen: dict = {}
    for i, (folder, job) in enumerate(zip(folders, jobs)):
        norm = os.path.normpath(folder)
        if norm.split(os.sep)[0] == GATHERED:
            raise ConfigError(f"'hydra.sweep.subdir' gives job {i} the folder '{folder}', where the sweep is "
                              "gathered; leave the key out (a job's folder is named by its overrides)")
        if norm in seen:
            j = seen[norm]
            differ = " ".join(o for o in jobs[j] if o not in job) or "the same overrides"
            raise ConfigError(f"'hydra.sweep.subdir' gives jobs {j} ({differ}) and {i} "
                              f"({' '.join(o for o in job if o not in jobs[j]) or 'the same overrides'}) the same "
                              f"folder '{folder}': each job needs its own (leave the key out: a job's folder is named "
                              "by its overrides; or include every swept key in it)")
        seen[norm] = i


def check_study_kind(parsed) -> None:
    """A study's kind comes with the experiment that declares it: '+study.kind=sensitivity' without one ran a full
    sensitivity analysis of defaults nobody chose. ``parsed``: Hydra's parsed overrides, or their text."""
    if any(isinstance(o, str) for o in parsed):
        from hydra.core.override_parser.overrides_parser import OverridesParser

        parsed = OverridesParser.create().parse_overrides(list(parsed))
    for o in parsed:
        key = o.key_or_group
        try:
            value = None if o.is_sweep_override() else o.value()
        except Exception:
            value = None
        if key == "study.kind" or (key == "study" and isinstance(value, dict) and "kind" in value):
            raise ConfigError("'study.kind' is set by the experiment that declares the study, not on the command "
                              "line: choose the study with experiment=<name> (compare_scenarios, quick, sensitivity, "
                              "optimise_budget, calibrate, validate; see configs/experiment/)")
