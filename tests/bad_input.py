"""Shared by the catalogue of bad input (``tests/test_bad_input*.py``): the arguments every case builds on, the
folder tree a case must leave byte-for-byte as it was, and the check of a refusal made in this process.

Each entry point first calls one function that checks its input and raises :class:`sim.config.ConfigError`, or
prints one line with :func:`sim.checks.fail` and exits with status 2, before any work: ``python -m sim`` calls
:func:`cli.preflight._preflight` (and ``cli.main`` hands its ConfigError to ``fail``), ``python -m sim.trial``
and ``python -m sim.gather`` call their ``main(argv)``, whose checks come before any work. The catalogue calls
those in this process, one case in a fraction of a second; ``test_bad_input_process.py`` runs one case per entry
point and per kind of failure as the command itself, for the whole promise (exit status 2, one line, no traceback,
nothing left behind)."""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SMALL = ["scale=0.005", "weeks=2", "progress=false"]
CMP = ["experiment=compare_scenarios"] + SMALL
SENS = ["experiment=sensitivity"] + SMALL
OPT = ["experiment=optimise_budget", "area=walsall"] + SMALL
CAL = ["experiment=calibrate"] + SMALL
VAL = ["experiment=validate"] + SMALL

# what each entry point may set in the environment, restored after every case
SET_BY_ENTRY_POINTS = ("SIM_OUTPUT_ROOT", "SIM_MAIN_PID", "PYTHONWARNINGS")


def tree(root) -> dict:
    """Every folder and file under ``root``, with the files' bytes."""
    out = {}
    for dirpath, _dirs, filenames in os.walk(root):
        out[os.path.relpath(dirpath, root)] = None
        for f in filenames:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


def in_tmp(monkeypatch, tmp_path: pathlib.Path) -> pathlib.Path:
    """Work in ``tmp_path`` (holding a user's file) as a command started there would; ``sys.argv``, the variables
    an entry point sets, and signal handlers are restored (or never installed) after the case."""
    from experiments import stops

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    for name in SET_BY_ENTRY_POINTS:
        monkeypatch.setenv(name, "")  # (remembered as it was, so that it is restored, then cleared for the case)
        monkeypatch.delenv(name)
    # the command's SIGINT/SIGTERM handlers and unraisable hook are the process's, not a case's
    monkeypatch.setattr(stops, "install_handlers", lambda main=False: None)
    (tmp_path / "notes.txt").write_text("a user's file\n")
    return tmp_path


def refused(call, key: str, root, capsys) -> str:
    """``call()`` exits with status 2 after one line on stderr that starts with 'error:' and names ``key``, with
    no traceback, and ``root`` is byte-for-byte as it was. Returns the line."""
    before = tree(root)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        call()
    err = capsys.readouterr().err
    assert exc.value.code == 2, (exc.value.code, err[-1500:])
    assert "Traceback" not in err, err[-1500:]
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err[-1500:]
    assert key in lines[0], lines[0]
    after = tree(root)
    assert before == after, set(after) ^ set(before)
    return lines[0]


def sim_preflight(argv: list[str]) -> None:
    """What ``python -m sim`` does with ``argv`` before any work (``cli.main._main``): :func:`_preflight`, its
    ConfigError printed by :func:`fail`. Hydra's global state is cleared after (the process would end)."""
    from hydra.core.global_hydra import GlobalHydra

    from cli.main import _hydra_main
    from cli.preflight import _preflight
    from sim.checks import fail
    from sim.config import ConfigError

    try:
        _preflight(argv, task_function=_hydra_main)
    except ConfigError as e:
        fail(str(e))
    finally:
        GlobalHydra.instance().clear()


def no_work(*_args, **_kwargs):
    raise AssertionError("the input was not refused: work started")


def make_folders(tmp: pathlib.Path) -> None:
    """What the cases of unusable folders ({tmp}/...) need first: a file, a folder of a user's files, a study a
    command wrote, a sweep folder of a user's files, and a config folder with a file YAML cannot read."""
    (tmp / "a_file").write_text("x")
    (tmp / "theirs").mkdir()
    (tmp / "theirs" / "notes.txt").write_text("keep me")
    (tmp / "cfg" / "scenario").mkdir(parents=True)
    (tmp / "cfg" / "scenario" / "bad.yaml").write_text("name: bad\nbudget_gbp: [1,\n")
    (tmp / "a_study").mkdir()
    (tmp / "a_study" / ".sim-output.json").write_text('{"kind": "study", "key": "k", "complete": true, "files": []}')
    (tmp / "sweep_of_theirs").mkdir()
    (tmp / "sweep_of_theirs" / "data.csv").write_text("1,2\n")


def at(argv: list[str], tmp) -> list[str]:
    """``argv`` with ``{tmp}`` replaced by the case's folder."""
    return [a.replace("{tmp}", str(tmp)) for a in argv]
