"""The study kinds, gathered: each kind's module ends with its declaration (``KIND``, an
:class:`experiments.kind.StudyKind`: its keys, check, run and outputs), and :data:`KINDS` lists them. The command
line, the explorer and the tests look a kind up here; adding a kind is its own module plus one line below."""

from __future__ import annotations

from experiments import calibrate, compare, heldout, optimise, sensitivity
from experiments.kind import StudyKind, check_keys
from sim.checks import check_choice
from sim.params import ConfigError

KINDS: dict[str, StudyKind] = {k.name: k for k in (
    compare.KIND,
    sensitivity.KIND,
    optimise.KIND,
    heldout.KIND,
    calibrate.KIND,
)}
DEFAULT = compare.KIND.name  # a study block without a kind, and a job with several replicates, compare scenarios


def get(name) -> StudyKind:
    """The kind called ``name`` (``study.kind``), or a one-line error naming the kinds there are."""
    check_choice(name, "study.kind", tuple(KINDS))
    return KINDS[name]


def of(plain: dict) -> StudyKind | None:
    """The kind of study a composed configuration runs: its study block's, compare scenarios for a job with
    several replicates (its scenario and the paired baseline), and None for a single run."""
    study = plain.get("study")
    if study:
        return get(study.get("kind", DEFAULT) if isinstance(study, dict) else DEFAULT)
    return KINDS[DEFAULT] if plain.get("replicates", 1) > 1 else None


def check_block(study) -> tuple[StudyKind, dict]:
    """The study block of a configuration: its kind, no unknown keys, every value of the right type and range."""
    if not isinstance(study, dict):
        raise ConfigError(f"'study' must be a mapping (set by experiment=...), got {study!r}")
    kind = get(study.get("kind", DEFAULT))
    return kind, check_keys(kind, study)
