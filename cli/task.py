"""The task Hydra calls for a run or for each job of a sweep (:func:`run`): a single run written whole into its
folder, or a study run by its kind (:mod:`experiments.studies`); a stop or a full disk said in one line."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pathlib
import sys

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from cli import faults
from cli.configuration import check_config
from cli.preflight import ROOT_ENV
from experiments.stops import (
    Interrupted,
    exit_code,
    in_main_process,
    install_handlers,
    is_stop,
    quiet_from_now,
    signal_name,
)
from sim.checks import fail, is_disk_full
from sim.config import ConfigError
from sim.files import OutputFolder, remove_empty_parents
from sim.manifest import finished
from sim.provenance import key_of

# a single run's configuration as the command's preflight composed and checked it, with what the check returned:
# the task runs it without checking it again (cli.main sets it; anything else is checked here)
PRECHECKED: dict = {}


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
    checked = None
    try:
        pre = PRECHECKED.pop("job", None)
        checked = pre[1] if pre is not None and pre[0] == config else check_config(plain, overrides)
        if checked is not None:  # a study (also a job with several replicates), run by its kind
            kind, study = checked
            done = kind.run(study, out, progress=plain.get("progress", True), extra_files=extra)
            print(kind.announcement(done))
        else:
            _run_single(plain, config, out, extra)
    except BaseException as e:
        _tidy(out, root)
        if isinstance(e, ConfigError):
            fail(str(e))
        many = plain.get("study") or plain.get("replicates", 1) > 1
        if is_disk_full(e):
            faults.run(e, out, lambda: _planned_runs(checked))
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


def _progress(plain, model, label):
    if not plain.get("progress", True) or model.weeks == 0:
        return None
    from tqdm import tqdm

    class Bar(tqdm):
        def update_to(self, week):
            self.update(week - self.n)

    return Bar(total=model.weeks, desc=f"{model.area['name']} {label} seed {plain['seed']}", unit="week",
               delay=2.0, leave=False)


def _planned_runs(checked) -> int:
    """About how many runs a study makes, if its kind knows (0 for a single run, or if it does not)."""
    if checked is None or checked[0].planned_runs is None:
        return 0
    return checked[0].planned_runs(checked[1])
