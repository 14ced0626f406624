"""Bad input to ``python -m sim.trial``: each case is refused before any work with one line that starts with
'error:' and names the key, no traceback, and nothing left behind. Checked in this process through the command's
own ``experiments.trial.main(argv)`` (its checks come before any work; a case it did not refuse would reach the
trial, which is replaced here by an assertion): see ``tests/bad_input.py``. ``test_bad_input_process.py`` runs a
few as the command itself."""

import os
import shutil

import pytest

from tests.bad_input import ROOT, at, in_tmp, make_folders, no_work, refused, tree

# (key the line must name, the command line after 'python -m sim.trial'; {tmp}: tests.bad_input.make_folders)
CASES = [
    ("community_spaces", ["community_spaces", "scale=0.005"]),  # (offered to neighbourhoods: a traceback)
    ("replicates", ["esol", "replicates=0"]),
    ("parameters", ["esol", "replicates=2", "parameters=maybe"]),
    ("ensemble", ["esol", "replicates=2", "ensemble=/nowhere"]),
    ("programme", []),
    ("programme", ["yoga"]),
    ("recruit", ["esol", "recruit=0"]),
    ("recruit", ["esol", "recruit=abc"]),
    ("recruit", ["esol", "recruit=5.5"]),
    ("follow_up", ["esol", "follow_up=0"]),
    ("scale", ["esol", "scale=nan"]),
    ("seed", ["esol", "seed=-2"]),
    ("scale", ["esol", "scale=0.00001"]),
    ("area", ["esol", "area=mars"]),
    ("model.language.nope", ["esol", "model.language.nope=1"]),
    ("interventions.esol.uptake", ["esol", "interventions.esol.uptake=2"]),
    ("colour", ["esol", "colour=blue"]),
    ("recruit", ["esol", "recruit=100", "recruit=200"]),
    ("out", ["esol", "out=", "scale=0.005"]),  # (the default folder, without a word)
    ("recruit", ["esol", "recruit=100000000", "scale=0.005"]),
    # --- output folders that cannot be used ---
    ("out", ["esol", "out={tmp}/theirs"]),
    ("out", ["esol", "out={tmp}/a_file"]),
]


def trial_main(argv, monkeypatch):
    """``python -m sim.trial`` with ``argv``, stopped with an assertion where the trial would start."""
    from experiments import trial

    monkeypatch.setattr(trial, "run_trial", no_work)
    monkeypatch.setattr(trial, "run_trials", no_work)
    trial.main(argv)


@pytest.mark.parametrize("key, argv", CASES, ids=[f"{i:02d}-{k}" for i, (k, _) in enumerate(CASES)])
def test_bad_input_is_refused_before_any_work(monkeypatch, tmp_path, capsys, key, argv):
    make_folders(in_tmp(monkeypatch, tmp_path))
    refused(lambda: trial_main(at(argv, tmp_path), monkeypatch), key, tmp_path, capsys)


def test_output_inside_the_projects_data_is_refused(monkeypatch, tmp_path, capsys):
    """(It changed the code fingerprint, so every cache was recomputed.) Cleaned up if the refusal fails."""
    in_tmp(monkeypatch, tmp_path)
    out = ROOT / "data" / f".sim-test-bad-input-{os.getpid()}"
    try:
        refused(lambda: trial_main(["esol", "scale=0.005", f"out={out}"], monkeypatch), "out", tmp_path, capsys)
        assert not out.exists()
    finally:
        shutil.rmtree(out, ignore_errors=True)


def test_help_prints_and_exits_zero(monkeypatch, tmp_path, capsys):
    in_tmp(monkeypatch, tmp_path)
    before = tree(tmp_path)
    trial_main(["--help"], monkeypatch)
    assert "usage" in capsys.readouterr().out.lower()
    assert tree(tmp_path) == before
