"""Parameter uncertainty in studies: which parameter set each replicate runs with.

With ``parameters: ensemble`` (the default) replicate r of a study runs with one member of the published
calibration ensemble (``data/calibration/default``): its calibrated parameters and the uncertain ones drawn with it
from their plausible ranges, unit costs included. Members are taken in an order drawn from the study's seed,
``seeds_per_set`` consecutive replicates sharing one member, so a study can split the spread of its results into
what comes from the parameters and what from chance. Every scenario of a replicate runs with the same member and
the same seed: differences between scenarios stay paired. ``parameters: fixed`` runs every replicate with the
model's defaults, which are the ensemble's central member (for debugging and CI).

A parameter the study sets to something other than its declared default is held at that value in every replicate.
An uncertain parameter declared after the ensemble was published (a new programme's, say) is not in its members: it
is drawn with each member from its plausible range (the same values for the same member in every study) and
listed as ``drawn_late`` in the study's provenance, until a new calibration takes it in.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

from experiments.space import _declared, _merge, _nest
from sim.params import ConfigError

MODES = ("ensemble", "fixed")
DEFAULT_ENSEMBLE = "data/calibration/default"


def member_names(meta: dict) -> list[str]:
    """The parameter columns of a published ensemble's members: the calibrated ones, then those drawn with each
    run from their plausible ranges."""
    return list(meta.get("parameters", [])) + list(meta.get("drawn", []))


def resolve_ensemble(where) -> pathlib.Path:
    """A relative ensemble folder where the command runs if it is there, else in the repository."""
    where = pathlib.Path(where)
    if not where.is_absolute() and not where.exists():
        repo = pathlib.Path(__file__).resolve().parent.parent / where
        return repo if repo.exists() else where
    return where


def load_ensemble(where, key: str = "study.ensemble") -> tuple:
    """A published ensemble: its members (one row each: parameters, seed and simulated targets) and provenance.
    A relative folder is looked for where the command runs, then in the repository (data/calibration/...)."""
    import pandas as pd

    where = resolve_ensemble(where)
    try:
        meta = json.loads((where / "calibration.json").read_text())
        members = pd.read_csv(where / "ensemble.csv")
    except (OSError, ValueError) as e:
        raise ConfigError(f"'{key}': no calibration ensemble at '{where}' ({getattr(e, 'strerror', None) or e}); "
                          "make one with python -m sim experiment=calibrate study.publish=<folder>") from None
    from sim.manifest import check_published

    check_published(where, ("calibration.json", "ensemble.csv"), key)
    if members.empty:
        raise ConfigError(f"'{key}': the calibration ensemble at '{where}' has no members (no run met every "
                          "calibration target); see its calibration.json")
    missing = [n for n in member_names(meta) if n not in members]
    if missing:
        raise ConfigError(f"'{key}': the ensemble at '{where}' lacks the column '{missing[0]}' its calibration.json "
                          "names; publish it again")
    return members, meta


def check_uncertainty(study: dict) -> dict:
    """The parameter-uncertainty keys of a study (``parameters``, ``ensemble``, ``seeds_per_set``), checked before
    any work: an ensemble study needs a readable published ensemble."""
    from sim.checks import check_choice, check_int

    mode = check_choice(study.get("parameters", "ensemble"), "parameters", MODES)
    per_set = check_int(study.get("seeds_per_set", 1), "seeds_per_set", low=1, high=10_000)
    ensemble = study.get("ensemble") or DEFAULT_ENSEMBLE
    if not isinstance(ensemble, str):
        raise ConfigError(f"'ensemble' must be a folder (e.g. {DEFAULT_ENSEMBLE}), got {ensemble!r}")
    if mode == "ensemble":
        load_ensemble(ensemble, key="ensemble")
    return {"parameters": mode, "ensemble": ensemble, "seeds_per_set": per_set}


def _declared_now(key: str) -> bool:
    """Whether the model (or a programme) still declares this parameter."""
    from experiments.space import _field

    try:
        _field(key)
    except ConfigError:
        return False
    return True


def held(key: str, model: dict | None, interventions: dict | None) -> bool:
    """Whether a study sets ``key`` to something other than its declared default (then it is not varied)."""
    parts = key.split(".")
    node = {"model": model, "interventions": interventions}.get(parts[0]) or {}
    for part in parts[1:-1] if parts[-1] == "*" else parts[1:]:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    base = _declared(key[:-2] if key.endswith(".*") else key)
    if isinstance(base, (list, tuple)):
        return list(node) != list(base)
    if isinstance(base, dict):
        return {k: node.get(k) for k in base} != base if isinstance(node, dict) else True
    return not np.isclose(float(node), float(base), rtol=1e-12, atol=0)


def parameter_sets(mode: str, replicates: int, seed: int, model: dict | None, interventions: dict | None,
                   ensemble=DEFAULT_ENSEMBLE, seeds_per_set: int = 1) -> tuple[list[dict], dict]:
    """Per replicate, the ``model`` and ``interventions`` mappings it runs with and the member it came from;
    and a description of the draw for the study's provenance."""
    model, interventions = model or {}, interventions or {}
    if mode == "fixed":
        return ([{"member": -1, "model": model, "interventions": interventions} for _ in range(replicates)],
                {"parameters": "fixed"})
    from experiments.space import uncertain_keys

    members, meta = load_ensemble(ensemble)
    names = [n for n in member_names(meta) if not n.startswith("observation.")]
    retired = [n for n in names if not _declared_now(n)]  # (an ensemble made for a model that had them)
    names = [n for n in names if n not in retired]
    varied = [n for n in names if not held(n, model, interventions)]
    known = set(member_names(meta))
    late = [(k, b) for k, b in uncertain_keys() if k not in known and not held(k, model, interventions)]
    order = np.random.default_rng(np.random.SeedSequence([int(seed), 31337])).permutation(len(members))
    out = []
    for r in range(replicates):
        row = members.iloc[order[(r // seeds_per_set) % len(members)]]
        m, i = {}, {}
        for n in varied:
            _nest(n, float(row[n]), m, i)
        for n, v in zip([k for k, _ in late], late_values(int(row.name), [b for _, b in late])):
            _nest(n, v, m, i)
        out.append({"member": int(row.name), "model": _merge(model, m), "interventions": _merge(interventions, i)})
    info = {"parameters": "ensemble", "ensemble": str(ensemble), "ensemble_key": meta.get("settings_key"),
            "ensemble_members": len(members), "seeds_per_set": seeds_per_set,
            "sets_used": len({o["member"] for o in out}), "varied": varied,
            "held": [n for n in names if n not in varied], "drawn_late": [k for k, _ in late]}
    if retired:
        info["retired"] = retired
        info["note_retired"] = (f"the ensemble sets {len(retired)} parameter(s) this model no longer has (e.g. "
                                f"{retired[0]}): it was calibrated on an earlier model; recalibrate")
    if replicates // seeds_per_set > len(members):
        info["note"] = (f"{replicates // seeds_per_set} parameter sets were wanted and the ensemble has "
                        f"{len(members)}: members are reused in turn")
    return out, info


def late_values(member: int, bounds: list) -> list[float]:
    """Values of the parameters declared after the ensemble was published, for one member: uniform in their
    plausible ranges, from the member's number (so a member always carries the same values)."""
    if not bounds:
        return []
    b = np.asarray(bounds, float)
    u = np.random.default_rng(np.random.SeedSequence([int(member), 104729])).random(len(b))
    return (b[:, 0] + u * (b[:, 1] - b[:, 0])).round(12).tolist()
