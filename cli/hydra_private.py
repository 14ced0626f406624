"""Every use the command line makes of Hydra's private API, in one place, for hydra-core :data:`WRITTEN_FOR`.

Hydra offers no public way to do these, and the command line needs them to compose and check a command's every
job before Hydra makes any folder, and then run the very configuration it checked:

- :class:`Context` and :class:`MainContext`: Hydra's global state set up for composing with ``hydra.compose`` as
  ``python -m sim`` does (``hydra.main``'s search path and task name, with a ``--config-dir`` searched first);
  ``initialize_config_dir`` takes one folder and names the task otherwise;
- :func:`pin`: an override applied to a composed configuration (the output folder pinned);
- :func:`expand`: a sweep's jobs, as Hydra's basic sweeper splits them;
- :func:`run_composed`: Hydra's own ``run`` (callbacks, job runner, error report) of a configuration already
  composed, instead of composing it again.

``tests/test_hydra_private.py`` names the version these were written for and fails on any other: on an upgrade,
re-check each use here against the new Hydra, then change :data:`WRITTEN_FOR`. Nothing else in ``cli/`` imports
``hydra._internal``.
"""

from __future__ import annotations

import logging
import os

WRITTEN_FOR = "1.3.8"  # the hydra-core these uses were written for and checked against


class Context:
    """Hydra's global state set up for composing as ``python -m sim`` does (with an extra --config-dir searched
    first, as Hydra's own flag does), and cleared afterwards. ``flags``: the command's value flags."""

    def __init__(self, config_dir, flags: dict):
        self.config_dir, self.flags = config_dir, flags

    def __enter__(self):
        from hydra import version
        from hydra._internal.hydra import Hydra
        from hydra._internal.utils import create_config_search_path
        from hydra.core.config_search_path import SearchPathQuery
        from hydra.core.global_hydra import GlobalHydra

        version.setbase("1.3")
        GlobalHydra.instance().clear()
        sp = create_config_search_path(f"file://{self.config_dir}")
        if self.flags.get("--config-dir"):
            sp.prepend(provider="command-line", path=f"file://{self.flags['--config-dir']}",
                       anchor=SearchPathQuery(provider="schema"))
        Hydra.create_main_hydra2(task_name="cli", config_search_path=sp)
        return self

    def __exit__(self, *exc):
        from hydra.core.global_hydra import GlobalHydra

        GlobalHydra.instance().clear()
        return False


class MainContext(Context):
    """Hydra's global state exactly as ``hydra.main`` sets it up for ``task_function`` (the same task name and
    config search path, so that a composition here is the one Hydra would make). Kept after the block (for
    :func:`run_composed`) if ``keep`` was set inside it, cleared otherwise."""

    def __init__(self, config_dir, given_dir: str | None, task_function):
        super().__init__(config_dir, {})
        self.given_dir, self.task_function, self.keep = given_dir, task_function, False

    def __enter__(self):
        from hydra import version
        from hydra._internal import utils as hydra_utils
        from hydra._internal.hydra import Hydra
        from hydra.core.config_search_path import SearchPathQuery
        from hydra.core.global_hydra import GlobalHydra

        version.setbase("1.3")
        GlobalHydra.instance().clear()
        calling_file, calling_module = hydra_utils.detect_calling_file_or_module_from_task_function(
            self.task_function)
        sp = hydra_utils.create_automatic_config_search_path(calling_file, calling_module, str(self.config_dir))
        if self.given_dir is not None:  # as hydra.main adds --config-dir
            sp.prepend(provider="command-line", path=f"file://{os.path.abspath(self.given_dir)}",
                       anchor=SearchPathQuery(provider="schema"))
        Hydra.create_main_hydra2(task_name=hydra_utils.detect_task_name(calling_file, calling_module),
                                 config_search_path=sp)
        return self

    def __exit__(self, *exc):
        if exc[0] is not None or not self.keep:
            super().__exit__(*exc)
        return False


def pin(cfg, parsed) -> None:
    """Apply the parsed overrides ``parsed`` to the composed ``cfg`` in place, as Hydra's loader does."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    ConfigLoaderImpl._apply_overrides_to_config(parsed, cfg)


def expand(parsed) -> list[list[str]]:
    """Every job of a sweep from its parsed overrides, as Hydra's basic sweeper splits them (raises what Hydra
    raises for a sweep it cannot expand)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra

    for o in parsed:
        o.config_loader = GlobalHydra.instance().config_loader()
    batches = BasicSweeper.split_arguments(parsed, None)
    return [job for batch in batches for job in batch]


def run_composed(cfg, overrides: list[str], task_function) -> None:
    """What ``hydra.main`` does for a single run, given the configuration it would compose (and Hydra set up as
    :class:`MainContext` leaves it): Hydra's own ``run`` (its callbacks, run_job, error report), except that it
    does not compose the same configuration again. ``task_function``: the undecorated task."""
    from hydra._internal import hydra as hydra_impl
    from hydra._internal.utils import run_and_report
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.utils import configure_log

    app = GlobalHydra.instance().hydra

    def compose_config(config_name, overrides, run_mode, with_log_configuration=False, **_):
        if with_log_configuration:  # as Hydra's compose_config does after composing
            configure_log(cfg.hydra.hydra_logging, cfg.hydra.verbose)
            hydra_impl.log = logging.getLogger(hydra_impl.__name__)
            app._print_debug_info(config_name, overrides, run_mode)  # nothing unless Hydra's log is at DEBUG
        return cfg

    app.compose_config = compose_config
    try:
        run_and_report(lambda: app.run(config_name="config", task_function=task_function,
                                       overrides=overrides + ["hydra.mode=RUN"]))
    finally:
        GlobalHydra.instance().clear()
