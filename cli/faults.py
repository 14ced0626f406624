"""A disk (or quota) that fills while a command writes: one line saying what was kept and about how much room
finishing needs, and exit status :data:`sim.checks.EXIT_DISK_FULL` (74), from every place the command line meets
it (a run or a study, a sweep's job in a launcher's worker, the gathering). Outputs are moved in whole, so what
was finished before is intact; without this it was a traceback (and a sweep's status 1)."""

from __future__ import annotations

import pathlib

from experiments.stops import in_main_process
from sim.checks import disk_full
from sim.manifest import finished

TABLES_BYTES = 20e6  # a study's tables, figures and report, written at its end
RUN_BYTES = 10e6  # one run's folder (its tables and figure: well under a megabyte at any scale)


def _n(n: int, what: str) -> str:
    return f"the {what}" if n == 1 else f"the {n} {what}s"


class DiskFull(BaseException):
    """A sweep job's disk filled: raised past Hydra's job runner and the launcher (which would print a traceback
    for an error) to the sweep's own process, which says so in one line (:func:`sweep`)."""


def run(e: BaseException, out: pathlib.Path, planned) -> None:
    """The disk filled during a run or a study writing ``out``; ``planned()``: about how many runs the study makes
    (0 if not known). In a launcher's worker, handed to the sweep's process instead."""
    if not in_main_process():
        raise DiskFull(e) from None
    runs = sorted(out.glob("runs/*/*.parquet")) if out.is_dir() else []
    needed = RUN_BYTES
    if runs:  # the runs still to come at the size of those made, then the tables
        each = sum(r.stat().st_size for r in runs) / len(runs)
        needed = each * max(planned() - len(runs), 1) + TABLES_BYTES
        kept = f"{_n(len(runs), 'run')} finished so far kept under {out} (rerunning resumes from them)"
    elif out.is_dir() and any(out.iterdir()):
        kept = f"what had finished is kept under {out} (rerunning resumes from it)"
    else:
        kept = f"nothing had finished, so nothing was written ({out} is as it was)"
    disk_full(e, kept, out if out.is_dir() else None, needed)


def sweep(e: BaseException, folder: pathlib.Path | None) -> None:
    """The disk filled during a sweep (in a job, or in Hydra's own files) or outside any run."""
    if isinstance(e, DiskFull):
        e = e.args[0]
    if folder is None:
        disk_full(e, "nothing more was written", None, RUN_BYTES)
    done = [d for d in folder.iterdir() if d.is_dir() and (finished(d) or {}).get("kind") in ("run", "study")] \
        if folder.is_dir() else []
    kept = (f"{_n(len(done), 'job')} finished so far kept under {folder} (rerunning the sweep skips them)" if done
            else "no job had finished")
    disk_full(e, kept, folder, None)


def gather(e: BaseException, folder) -> None:
    """The disk filled as a finished sweep was gathered."""
    disk_full(e, f"every job's results are kept under {folder}, but they were not gathered (python -m sim.gather "
                 f"{folder} gathers them when there is room)", None, 2 * TABLES_BYTES)
