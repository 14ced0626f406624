"""Composing a command's configuration with Hydra's public API (``hydra.compose`` and the config store), its
errors as one line that names the key and the allowed values (:class:`ConfigError`), and the options of the config
groups. Hydra's global state is set up for it by :mod:`cli.hydra_private`."""

from __future__ import annotations

import pathlib
import re
import threading

from hydra.core.config_store import ConfigStore

from cli import hydra_private
from sim.config import CONFIG_DIR, ConfigError, available_areas, model_params
from sim.interventions import NAMES
from sim.scenario import intervention_defaults, intervention_params
from sim.scenario import schema as scenario_schema

# every programme's parameter file becomes the config node 'interventions' (adding a programme's YAML file to
# configs/intervention/ is enough for its parameters to be overridable as interventions.<name>.<key>)
ConfigStore.instance().store(name="interventions_all", node={"interventions": intervention_defaults()})
# the scenario schema (every registered programme at share 0), which scenario files inherit
ConfigStore.instance().store(group="scenario", name="_schema", node=scenario_schema())

COMPOSE_LOCK = threading.Lock()  # Hydra's global state: one composition at a time (the explorer composes in threads)


def context(flags: dict) -> hydra_private.Context:
    """Hydra set up for composing as ``python -m sim`` does, ``flags`` (a --config-dir) included; cleared after."""
    return hydra_private.Context(CONFIG_DIR, flags)


def compose_checked(overrides: list[str], return_hydra_config: bool, shown: list[str]):
    """``hydra.compose`` of the project's config with ``overrides``; any error of Hydra's as one line."""
    from hydra import compose

    try:
        return compose(config_name="config", overrides=overrides, return_hydra_config=return_hydra_config)
    except ConfigError:
        raise
    except Exception as e:  # Hydra's and OmegaConf's own errors, and YAML errors in a --config-dir file
        raise ConfigError(one_line(e, shown)) from None


def explicit(overrides: list[str], key: str) -> str | None:
    """The value given on the command line for ``key`` (None if it was not given)."""
    for o in overrides:
        k, sep, v = o.partition("=")
        if sep and k.lstrip("+~") == key:
            return v
    return None


def one_line(exc: BaseException, overrides: list[str]) -> str:
    """Hydra's composition errors, as one line that names the key and the allowed values."""
    msg = str(exc)
    if "Could not find" in msg and "area/" in msg:
        bad = explicit(overrides, "area") or "?"
        return f"unknown area '{bad}' for key 'area'; allowed: {', '.join(available_areas())}"
    if "Could not find" in msg and "scenario/" in msg:
        from sim.scenario import available_scenarios

        bad = explicit(overrides, "scenario") or "?"
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
        if key.startswith("scenario.where.") and len(parts) == 3:
            return f"unknown programme or policy '{key}'; known: {', '.join(sorted(REGISTRY))}"
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


def check_groups(overrides: list[str], config_dirs: list[pathlib.Path]) -> None:
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
