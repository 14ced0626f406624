"""Bad input to ``python -m sim.gather``: each case is refused before any work with one line that starts with
'error:' and names the key, no traceback, and nothing left behind. Checked in this process through the command's
own ``experiments.gather.main(argv)`` (its checks, and its reading of the sweep's jobs, come before any work; a case
it did not refuse would reach the writing of the gathered study, which is replaced here by an assertion): see
``tests/bad_input.py``. ``test_bad_input_process.py`` runs a few as the command itself."""

import pytest

from tests.bad_input import at, in_tmp, make_folders, no_work, refused, tree

# (key the line must name, the command line after 'python -m sim.gather'; {tmp}: tests.bad_input.make_folders)
CASES = [
    ("sweep folder", []),
    ("sweep folder", ["nowhere"]),
    ("sweep folder", ["a", "b"]),
    ("sweep folder", [""]),  # (was this folder, searched whole)
    ("sweep folder", [" "]),
    ("sweep folder", ["{tmp}/a_file"]),
    ("sweep folder", ["{tmp}/theirs"]),
    ("sweep folder", ["{tmp}/a_study"]),
]


def gather_main(argv, monkeypatch):
    """``python -m sim.gather`` with ``argv``, stopped with an assertion where the gathered study would be written."""
    from experiments import compare, gather

    monkeypatch.setattr(compare, "write_study", no_work)
    gather.main(argv)


@pytest.mark.parametrize("key, argv", CASES, ids=[f"{i:02d}-{k}" for i, (k, _) in enumerate(CASES)])
def test_bad_input_is_refused_before_any_work(monkeypatch, tmp_path, capsys, key, argv):
    make_folders(in_tmp(monkeypatch, tmp_path))
    refused(lambda: gather_main(at(argv, tmp_path), monkeypatch), key, tmp_path, capsys)


def test_help_prints_and_exits_zero(monkeypatch, tmp_path, capsys):
    in_tmp(monkeypatch, tmp_path)
    before = tree(tmp_path)
    gather_main(["--help"], monkeypatch)
    assert "usage" in capsys.readouterr().out.lower()
    assert tree(tmp_path) == before
