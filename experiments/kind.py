"""What a study kind declares, once (:class:`StudyKind`): its keys with their checks, its whole check, its run and
its outputs. Each kind's module ends with its declaration ``KIND = StudyKind(...)``; :mod:`experiments.studies`
gathers them, and the command line, the checks and the explorer look a kind up there instead of naming it.

Also here: what every study's keys go through (:func:`check_keys`) and what every single-area study checks
(:func:`check_area_study`)."""

from __future__ import annotations

import dataclasses
from typing import Callable

from sim.params import ConfigError


@dataclasses.dataclass(frozen=True)
class StudyKind:
    """One kind of study (``study.kind`` in configs/experiment/).

    - ``keys``: key of the ``study`` block -> check(value, full key name), returning the value (its bounds live in
      the check); a key not listed is refused;
    - ``check(study)``: the whole study (the block with the run's area, size and parameters, as
      :func:`experiments.studies.describe` makes it) checked before any work, returned typed and completed;
    - ``run(study, out_dir, progress, extra_files)``: runs a study ``check`` returned (not checked again) and returns
      its folder;
    - ``outputs``: the files it writes that the command names when it is done (``announce``, a format string of
      them: ``{0}``, ``{1}``, ... are their paths); ``folder``: the kind of output folder it writes
      (:class:`sim.files.OutputFolder`);
    - ``single_area``: a study of the run's own area (``area=``), its scale checked for that area; else a study over
      ``study.areas``, whose own check checks the scale of each;
    - ``uses_ensemble``: its replicates run parameter sets of the calibrated ensemble (``parameters: ensemble``);
    - ``replicates_share_sets``: its replicates are the top-level ``replicates``, ``seeds_per_set`` of them to one
      parameter set (which must then be at most ``replicates``);
    - ``together(keys)``: a check of keys against each other, after each key's own;
    - ``planned_runs(study)``: about how many runs it makes (for the room a full disk needs), if known;
    - ``tiny``: overrides that make it run in seconds (tests/test_experiment_configs.py runs every experiment file
      of the kind with them).
    """

    name: str
    doc: str
    keys: dict
    check: Callable[[dict], dict]
    run: Callable
    outputs: tuple[str, ...]
    announce: str
    folder: str
    single_area: bool = True
    uses_ensemble: bool = False
    replicates_share_sets: bool = False
    together: Callable[[dict], None] | None = None
    planned_runs: Callable[[dict], int] | None = None
    tiny: tuple[str, ...] = ()

    def announcement(self, done) -> str:
        """The line the command prints when a study of this kind is done (``done``: its folder)."""
        return self.announce.format(*(done / o for o in self.outputs))


def check_keys(kind: StudyKind, study: dict) -> dict:
    """A study block of ``kind``: no unknown keys, every value of the right type and range, the launcher it names
    reachable from here, and the keys that go together together."""
    from experiments.checks import check_launcher_reachable

    for k in study:
        if k not in kind.keys:
            hint = " (the area is chosen with area=...)" if k in ("area",) else ""
            raise ConfigError(f"unknown key 'study.{k}'{hint}; allowed for a {kind.name} study: "
                              f"{', '.join(kind.keys)}")
    out = {k: kind.keys[k](v, f"study.{k}") for k, v in study.items()}
    check_launcher_reachable(out.get("launcher") or "local", out.get("ray"))
    if kind.together is not None:
        kind.together(out)
    return out


def check_area_study(kind: StudyKind, study: dict, run_keys: tuple, defaults: dict | None = None) -> tuple[dict, int]:
    """What every single-area study (sensitivity, optimisation, calibration, validation) checks: no NaN or infinity,
    its own keys (:func:`check_keys`), the run keys (scale, weeks, seed), the area and its scale, and the model and
    programme parameters. Returns the study with ``defaults`` filled in, and its weeks."""
    from sim.checks import check_finite
    from sim.config import check_run, check_scale, load_area, model_params
    from sim.scenario import intervention_params

    check_finite(study, "study")
    own = {k: v for k, v in study.items() if k not in run_keys}
    s = {**(defaults or {}), **study, **check_keys(kind, {"kind": kind.name, **own})}
    scale, weeks, _, _ = check_run(s.get("scale"), s.get("weeks"), s.get("seed"), "vectorised")
    check_scale(scale, load_area(s.get("area")))
    model_params(s.get("model"))
    intervention_params(s.get("interventions"))
    return s, weeks
