"""The checks of a study's keys, each a function (value, full key name) -> value that raises
:class:`ConfigError` naming the key, with its bounds; each study kind lists the ones it takes in its declaration
(``KEYS``, :class:`experiments.kind.StudyKind`). Also the scenarios a study lists (:func:`scenario_list`) and whether
its launcher can be reached from here (:func:`check_launcher_reachable`). See :mod:`sim.checks` for the checks
every entry point shares."""

from __future__ import annotations

from sim.checks import check_choice, check_int, check_list, check_name, check_number
from sim.params import ConfigError

# upper bounds of the counts below, each far above any real use and low enough that a slip ('1e8') is refused
# before any work rather than found after minutes of preparation
MAX_WORKERS = 4096  # processes a study starts (cut to the CPUs this process may use anyway)
MAX_SCENARIOS = 100  # scenarios of one study (each area x replicate runs every one of them)
MAX_MARGIN = 1e7  # an outcome's margin (area-equivalent residents or ties): above any pilot area's population


def _areas():
    from sim.config import available_areas

    return available_areas()


def _scenarios():
    from sim.scenario import available_scenarios

    return available_scenarios()


def name_key(v, key):
    return check_name(v, key)  # (a study's name names its folder: results/<name>)


def folder_key(v, key):
    if not isinstance(v, str) or not v.strip() or "\0" in v:
        raise ConfigError(f"'{key}' must be a folder path, got {v!r}")
    return v


def flag_key(v, key):
    if not isinstance(v, bool):
        raise ConfigError(f"'{key}' must be true or false, got {v!r}")
    return v


LAUNCHERS = ("local", "ray", "submitit_local", "slurm")  # where a study's runs go (study.launcher)
SLURM_KEYS = ("partition", "account", "qos", "timeout_min", "mem_gb", "cpus_per_task", "jobs", "setup")
RAY_KEYS = ("address",)


def _options(v, key, allowed) -> bool:
    """Whether ``v`` holds options (None: none given); a mapping of only ``allowed`` keys, or a one-line error."""
    if v is None:
        return False
    if not isinstance(v, dict):
        raise ConfigError(f"'{key}' must be a mapping with keys {', '.join(allowed)}, got {v!r}")
    bad = sorted(set(v) - set(allowed))
    if bad:
        raise ConfigError(f"unknown key '{key}.{bad[0]}'; allowed: {', '.join(allowed)}")
    return True


def slurm_key(v, key):
    if not _options(v, key, SLURM_KEYS):
        return None
    # a year of minutes; CPUs and memory of the largest nodes; SLURM's own default MaxArraySize is 1001
    for k, high in (("timeout_min", 525_600), ("cpus_per_task", 1024), ("jobs", 100_000)):
        if k in v:
            check_int(v[k], f"{key}.{k}", low=1, high=high)
    if "mem_gb" in v:
        check_number(v["mem_gb"], f"{key}.mem_gb", 0, 65_536, low_open=True)
    if "setup" in v and not (isinstance(v["setup"], (list, tuple)) and all(isinstance(x, str) for x in v["setup"])):
        raise ConfigError(f"'{key}.setup' must be a list of shell lines run on each node before the job (e.g. "
                          f"['source .venv/bin/activate']), got {v['setup']!r}")
    for k in ("partition", "account", "qos"):
        if k in v and v[k] is not None and not isinstance(v[k], str):
            raise ConfigError(f"'{key}.{k}' must be a name, got {v[k]!r}")
    return v


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a Ray address ``[ray://]host:port`` (a port 1-65535), or None if it is not one."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    host = host.strip("[]").strip()
    return (host, int(port)) if host and port.isdigit() and 1 <= int(port) <= 65535 else None


def ray_key(v, key):
    if not _options(v, key, RAY_KEYS):
        return None
    a = v.get("address")
    if a is not None and a not in ("auto", "local") and not (isinstance(a, str) and _host_port(a)):
        raise ConfigError(f"'{key}.address' must be the head node's host:port (e.g. 10.0.0.5:6379, a port 1-65535), "
                          f"'auto', or null (a Ray of this machine), got {a!r}")
    return dict(v)


RAY_PROBE_S = 5.0  # how long a head node has to answer (a TCP connection to its port) before a study is refused


def check_launcher_reachable(launcher: str, ray: dict | None, names: dict | None = None,
                             joins_last: bool = False) -> None:
    """Before any work: the chosen launcher can be reached from here. ``slurm`` needs SLURM's ``srun`` on this
    machine (a login or compute node of the cluster); ``ray`` needs Ray installed and, with an address, a head node
    that answers there (Ray itself would wait minutes, then fail with a traceback). ``names``: how the message
    names the settings (a Hydra sweep's launcher has keys of its own). ``joins_last``: with no address, Ray joins
    the cluster last started on this machine if it finds one (Hydra's Ray launcher does; a study starts its own),
    so that one must answer."""
    import importlib.util
    import shutil

    n = {"launcher": "study.launcher", "address": "study.ray.address", "here": "study.launcher=submitit_local",
         "local": "study.launcher=local", "no_address": "drop study.ray", **(names or {})}
    if launcher == "slurm" and shutil.which("srun") is None:
        raise ConfigError(f"'{n['launcher']}' is slurm, but this machine has no SLURM ('srun' is not on PATH): run "
                          f"on a login node of the cluster (the README's SLURM recipe), or give {n['here']} to run "
                          "the same job path on this machine")
    if launcher != "ray":
        return
    if importlib.util.find_spec("ray") is None:
        raise ConfigError(f"'{n['launcher']}' is ray, but Ray is not installed here: pip install -e '.[ray]' (or "
                          f"give {n['local']})")
    address = (ray or {}).get("address")
    from ray._private.services import canonicalize_bootstrap_address

    if address is None and joins_last:
        last = canonicalize_bootstrap_address(None)  # (RAY_ADDRESS, or the cluster 'ray start' last began here)
        if last is not None:
            address = last
    if address is None or address == "local":  # a Ray of this machine, started for the study
        return
    import socket

    try:  # Ray's reading of it ('auto': the cluster last started here, or RAY_ADDRESS)
        found = canonicalize_bootstrap_address(address.removeprefix("ray://"))
    except (ConnectionError, ValueError) as e:
        raise ConfigError(f"'{n['address']}' is {address!r}, but Ray finds no cluster there ({e}); start a head "
                          f"node with 'ray start --head' and give its host:port, or {n['no_address']} for a Ray of "
                          "this machine") from None
    tried = []
    for where in dict.fromkeys([address.removeprefix("ray://"), found]):  # (Ray puts a loopback address by the
        hp = _host_port(where or "")                                        # machine's network address: either)
        if hp is None:
            tried.append(f"{where}: not a host:port")
            continue
        try:
            socket.create_connection(hp, timeout=RAY_PROBE_S).close()
            return
        except OSError as e:
            tried.append(f"{where}: {e.strerror or e}")
    raise ConfigError(f"no Ray head node answers at '{n['address']}' {address!r} ({'; '.join(tried)}): start one "
                      f"there with 'ray start --head --port=PORT', or {n['no_address']} for a Ray of this machine")


def workers_key(v, key):
    return check_int(v, key, low=0, high=MAX_WORKERS)


def parameters_key(v, key):
    if v is None or v == "all":
        return v
    if isinstance(v, dict) and v:  # {key: [low, high], ...}: the same as a list of one-key mappings
        v = [{k: r} for k, r in v.items()]
    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)) or not v:
        raise ConfigError(f"'{key}' must be 'all' or a non-empty list of parameter keys (or {{key: [low, high]}}), "
                          f"got {v!r}")
    seen = set()
    for p in v:
        name = next(iter(p)) if isinstance(p, dict) and len(p) == 1 else p
        if not isinstance(name, str):
            raise ConfigError(f"'{key}' entries must be parameter keys or {{key: [low, high]}}, got {p!r}")
        if isinstance(p, dict):
            rng = p[name]
            if not isinstance(rng, (list, tuple)) or len(rng) != 2:
                raise ConfigError(f"'{key}.{name}' must be [low, high], got {rng!r}")
            lo = check_number(rng[0], f"{key}.{name}")
            hi = check_number(rng[1], f"{key}.{name}")
            if not lo < hi:
                raise ConfigError(f"'{key}.{name}' must be [low, high] with low < high, got {rng!r}")
        if name in seen:
            raise ConfigError(f"'{key}' lists '{name}' twice; give each once")
        seen.add(name)
    return list(v)


def margins_key(v, key):
    """{outcome: smallest gain that counts as beating the baseline} (area-equivalent counts)."""
    from sim.costs import OUTCOMES

    if v is None:
        return None
    names = [g for g, _, _ in OUTCOMES]
    if not isinstance(v, dict):
        raise ConfigError(f"'{key}' must be a mapping of outcome to a number >= 0 ({', '.join(names)}), got {v!r}")
    for o, m in v.items():
        check_choice(o, f"{key}.<outcome>", names)
        check_number(m, f"{key}.{o}", 0, MAX_MARGIN)
    return dict(v)


def range_factor_key(v, key):
    return None if v is None else check_number(v, key, 0, 1, low_open=True, high_open=True)


def scenario_list(entries) -> dict:
    """``study.scenarios``: names of provided scenarios, or scenarios written out (a mapping with a ``name``, as in
    ``'study.scenarios=[baseline,{name: mine, budget_gbp: 2e6, allocation: {esol: 0.6}}]'``); label -> scenario."""
    from sim.scenario import available_scenarios

    names = [e.get("name") if isinstance(e, dict) else e for e in entries]
    provided = available_scenarios()
    if len(entries) > MAX_SCENARIOS:
        raise ConfigError(f"'study.scenarios' takes at most {MAX_SCENARIOS} scenarios, got {len(entries)}")
    for i, (e, n) in enumerate(zip(entries, names)):
        if not isinstance(e, dict):
            continue
        if not (isinstance(n, str) and n.strip()):
            raise ConfigError(f"a scenario written out in 'study.scenarios' needs a 'name' (e.g. {{name: mine, "
                              f"budget_gbp: 2000000, allocation: {{esol: 0.5}}}}), got {e!r}")
        check_name(n, f"study.scenarios[{i}].name")  # (its runs' files are named by it)
        if n in provided:
            raise ConfigError(f"the scenario written out in 'study.scenarios' is named '{n}', the name of a provided "
                              "scenario; give it a name of its own")
        if n.startswith("alone:"):
            raise ConfigError(f"the scenario written out in 'study.scenarios' is named '{n}'; names starting "
                              "'alone:' are kept for study.programmes_alone")
    check_list(names, "study.scenarios", None)
    for e in entries:
        if not isinstance(e, dict):
            check_list([e], "study.scenarios", provided)
    return {n: (dict(e) if isinstance(e, dict) else e) for e, n in zip(entries, names)}


def scenarios_key(v, key):
    """Names of provided scenarios, or scenarios written out in full (each checked with the study)."""
    if isinstance(v, (list, tuple)):
        return list(scenario_list(v).values())
    return check_list(v, key, _scenarios())


def funded_scenario_key(v, key):
    check_choice(v, key, _scenarios())
    if v == "baseline":
        raise ConfigError(f"'{key}' must be a funded scenario (the baseline against itself is zero); allowed: "
                          f"{', '.join(s for s in _scenarios() if s != 'baseline')}")
    return v




def objectives_key(v, key):
    from sim.costs import OUTCOMES

    names = tuple(g for g, _, _ in OUTCOMES)
    return check_list(v, key, names + ("weighted",), max_len=2)


def weights_key(v, key):
    from sim.costs import OUTCOMES

    names = tuple(g for g, _, _ in OUTCOMES)
    if v is None:
        return None
    if not isinstance(v, dict) or not v:
        raise ConfigError(f"'{key}' must map outcomes to weights, e.g. {{{names[0]}: 1}}, got {v!r}")
    out = {}
    for k, w in v.items():
        if k not in names:
            raise ConfigError(f"unknown outcome '{k}' in '{key}'; allowed: {', '.join(names)}")
        out[k] = check_number(w, f"{key}.{k}", -1e6, 1e6)  # (a relative weight: only the ratios matter)
    if not any(out.values()):
        raise ConfigError(f"'{key}' are all zero: nothing to optimise")
    return out


def kind_key(v, key):
    return v  # (chosen by the experiment's file and checked with the study's kind: experiments.studies)


def areas_key(v, key):
    return check_list(v, key, _areas())


def compare_with_key(v, key):
    return check_list(v if v is not None else [], key, _scenarios(), min_len=0)


# where a study's runs go (every many-run study)
LAUNCH_KEYS = {"launcher": lambda v, k: check_choice(v, k, LAUNCHERS), "slurm": slurm_key, "ray": ray_key,
               "workers": workers_key}
