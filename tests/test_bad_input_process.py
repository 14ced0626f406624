"""The whole promise for bad input, made by the commands themselves: one case per entry point (``python -m sim``,
``sim.trial``, ``sim.gather``, ``sim.places``) and per kind of failure, each run as a process, must exit with
status 2 after exactly one line on stderr that starts with 'error:' and names the key, print no traceback, and
leave nothing behind (the working folder is byte-for-byte as it was).

The catalogue of every case (``test_bad_input*.py``) checks the same in-process, through the function each entry
point calls before any work; what only a process shows is checked here: that the entry point's launcher reaches
that function and turns its error into exit status 2, that nothing else (an import, a warning, Hydra, a signal
handler, the interpreter's exit) writes to stderr or the folder, and Hydra's own ``--help``, which ``hydra.main``
answers from the process's ``sys.argv`` and ends with ``sys.exit``."""

import subprocess
import sys

import pytest

from tests.bad_input import SMALL, at, make_folders, tree

SIM = [sys.executable, "-m", "sim"]
TRIAL = [sys.executable, "-m", "sim.trial"]
GATHER = [sys.executable, "-m", "sim.gather"]
PLACES = [sys.executable, "-m", "sim.places"]

# (what fails, the key the line must name, the command; {tmp}: tests.bad_input.make_folders). Each is a case of
# the catalogue too.
CASES = [
    ("sim: a bad value", "scale", SIM + ["scale=0"]),
    ("sim: an unknown key", "nosuchkey", SIM + ["nosuchkey=1"] + SMALL),
    ("sim: a bad output folder", "hydra.run.dir", SIM + SMALL + ["hydra.run.dir={tmp}/theirs"]),
    ("sim: a bad config file", "bad.yaml", SIM + ["--config-dir", "{tmp}/cfg", "scenario=bad"] + SMALL),
    ("sim: a sweep refused before any job", "seed", SIM + ["-m", "seed=1,abc"] + SMALL),  # (its second job)
    ("trial: a bad value", "recruit", TRIAL + ["esol", "recruit=0"]),
    ("trial: an unknown key", "colour", TRIAL + ["esol", "colour=blue"]),
    ("trial: a bad output folder", "out", TRIAL + ["esol", "out={tmp}/theirs"]),
    ("gather: a bad command line", "sweep folder", GATHER + ["a", "b"]),
    ("gather: a folder that is not a sweep", "sweep folder", GATHER + ["{tmp}/theirs"]),
    ("places: an unknown area", "area", PLACES + ["atlantis"]),
]


@pytest.mark.parametrize("what, key, argv", CASES, ids=[what for what, _, _ in CASES])
def test_the_command_exits_2_with_one_line_and_leaves_nothing(tmp_path, what, key, argv):
    make_folders(tmp_path)
    (tmp_path / "notes.txt").write_text("a user's file\n")
    before = tree(tmp_path)
    r = subprocess.run(at(argv, tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, (r.returncode, r.stderr[-1500:])
    assert "Traceback" not in r.stderr, r.stderr[-1500:]
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr[-1500:]
    assert key in lines[0], lines[0]
    after = tree(tmp_path)
    assert before == after, set(after) ^ set(before)


def test_hydras_help_prints_and_exits_zero(tmp_path):
    """(sim.trial's and sim.gather's own --help: in their catalogues, in-process.)"""
    r = subprocess.run(SIM + ["--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "powered by hydra" in r.stdout.lower() or "usage" in r.stdout.lower()
    assert list(tmp_path.iterdir()) == []
