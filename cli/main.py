"""The command line: ``python -m sim [overrides]`` (``cli`` is the only package that imports Hydra).

Its parts, one idea each: :mod:`cli.preflight` (every job composed and checked, the output folder checked, before
any work), :mod:`cli.compose` (composing with Hydra's public API; errors as one line), :mod:`cli.configuration`
(the checks of a composed configuration; the study description each kind takes), :mod:`cli.task` (the task Hydra
runs), :mod:`cli.guards` (the command line's own input), :mod:`cli.faults` (a full disk) and
:mod:`cli.hydra_private` (the only uses of Hydra's private API). This module: the entry point, the sweep's
gathering callback, and a stopped or failed sweep's clean-up.

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
import logging
import os
import pathlib
import shutil
import sys

import hydra
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from cli import faults, hydra_private, task
from cli.preflight import INFO_FLAGS, ROOT_ENV, _preflight, parse_argv
from experiments.stops import end_stopped, install_handlers, stop_requested, stopped
from sim.checks import fail, is_disk_full
from sim.config import CONFIG_DIR, ConfigError
from sim.files import OutputFolder, remove_empty_parents
from sim.manifest import MANIFEST


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
    return task.run(cfg)

def _run_direct(cfg: DictConfig, argv: list[str], checked) -> None:
    """What ``_hydra_main()`` does for a single run, given the configuration :func:`_preflight` composed and
    checked (and Hydra set up as ``hydra.main`` leaves it), and what its check returned: Hydra's own ``run``, but
    neither composing the configuration again nor checking it again (:data:`cli.task.PRECHECKED`)."""
    overrides, _, _ = parse_argv(argv)
    task.PRECHECKED["job"] = checked
    try:
        hydra_private.run_composed(cfg, overrides, _hydra_main.__wrapped__)
    finally:
        task.PRECHECKED.clear()


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
        argv, composed, checked = _preflight(argv, task_function=_hydra_main)
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
            _run_direct(composed, argv, checked)
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
