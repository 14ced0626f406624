"""The command line's uses of Hydra's private API live in one module (cli/hydra_private.py), written for one Hydra
version: on any other, this fails and says what to re-check."""

import pathlib

import hydra

from cli import hydra_private

CLI = pathlib.Path(__file__).resolve().parent.parent / "cli"


def test_hydra_is_the_version_the_private_uses_were_written_for():
    assert hydra.__version__ == hydra_private.WRITTEN_FOR == "1.3.8", (
        f"hydra-core is {hydra.__version__}, but cli/hydra_private.py was written for hydra-core "
        f"{hydra_private.WRITTEN_FOR}: re-check each of its uses of Hydra's private API (hydra._internal: "
        "Hydra.create_main_hydra2, the config search path, ConfigLoaderImpl._apply_overrides_to_config, "
        "BasicSweeper.split_arguments, run_and_report, Hydra.compose_config and _print_debug_info) against the new "
        "version, then change WRITTEN_FOR")


def test_no_other_module_of_the_command_line_uses_hydra_private_api():
    private = ("hydra._internal", "_apply_overrides_to_config", "_print_debug_info", "create_main_hydra2")
    for path in sorted(CLI.glob("*.py")):
        if path.name == "hydra_private.py":
            continue
        text = path.read_text()
        assert not any(p in text for p in private), f"{path.name} uses Hydra's private API: move it to hydra_private"
