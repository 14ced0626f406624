"""A disk that fills while a command writes: one line saying what was kept and about how much room finishing needs,
exit status 74 (EX_IOERR), no traceback, and what was finished before is intact.

The disk is filled by a ``sitecustomize`` put on the command's path (in every process it starts, a launcher's
workers too): moving a file whose path matches ``SIM_TEST_DISK_FULL`` into place (``os.replace``, as every write of
the project ends) fails with ENOSPC once ``SIM_TEST_DISK_FULL_AFTER`` such files are there. No root, no tmpfs."""

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

SIM = [sys.executable, "-m", "sim"]
SMALL = ["area=walsall", "scale=0.005", "weeks=2", "progress=false"]
EXIT_DISK_FULL = 74

SITE = '''
import errno
import os
import shutil
import re

_PATTERN = os.environ.get("SIM_TEST_DISK_FULL")
if _PATTERN:
    _AFTER = int(os.environ.get("SIM_TEST_DISK_FULL_AFTER", "0"))
    _replace = os.replace

    def _full(src, dst, *args, **kwargs):
        d = os.path.abspath(os.fspath(dst))
        if re.search(_PATTERN, d):
            here = os.path.dirname(d)
            there = sum(1 for n in os.listdir(here) if re.search(_PATTERN, os.path.join(here, n)))
            if there >= _AFTER:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), d)
        return _replace(src, dst, *args, **kwargs)

    os.replace = _full
'''


def _run(tmp_path, argv, pattern, after=0):
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
           "SIM_TEST_DISK_FULL": pattern, "SIM_TEST_DISK_FULL_AFTER": str(after)}
    return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def _one_line(r, *words):
    assert r.returncode == EXIT_DISK_FULL, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: the disk is full (No space left on device"), r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_a_study_keeps_its_finished_runs_and_says_how_much_room_it_needs(tmp_path):
    out = tmp_path / "study"
    r = _run(tmp_path, SIM + ["experiment=quick", "replicates=2", "study.workers=1", f"hydra.run.dir={out}"] + SMALL,
             r"/runs/[^/]+/[^/]+\.parquet$", after=2)
    line = _one_line(r, "the 2 runs finished so far kept under", str(out), "more is needed", "MB free now")
    assert "rerun the same command" in line
    kept = sorted(out.glob("runs/*/*.parquet"))
    assert len(kept) == 2
    for f in kept:  # whole and readable: the next run resumes from them
        assert len(pd.read_parquet(f)) > 0
    assert not list(out.rglob(".*.tmp")), "a half-written file was left"
    # with room again, the same command resumes from the kept runs and finishes
    again = subprocess.run(SIM + ["experiment=quick", "replicates=2", "study.workers=1", f"hydra.run.dir={out}"]
                           + SMALL, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert (out / "summary.csv").exists()


def test_a_single_run_leaves_its_folder_as_it_was(tmp_path):
    out = tmp_path / "one"
    r = _run(tmp_path, SIM + [f"hydra.run.dir={out}"] + SMALL, r"/one/\.sim-output\.json$")
    _one_line(r, "nothing had finished", str(out))
    assert not out.exists()


def test_a_trial_says_so_in_one_line(tmp_path):
    out = tmp_path / "trial"
    r = _run(tmp_path, [sys.executable, "-m", "sim.trial", "esol", "scale=0.005", "recruit=50", "follow_up=2",
                        f"out={out}"], r"/trial/trial\.csv$")
    _one_line(r, "the trial had not finished")
    assert not out.exists() or not any(p.name != ".sim-output.json" for p in out.iterdir())


@pytest.mark.slow
def test_a_sweep_keeps_its_finished_jobs(tmp_path):
    """The job that meets the full disk runs in a launcher's (joblib) worker: the sweep's own process says it."""
    sweep = tmp_path / "sweep"
    first = subprocess.run(SIM + ["-m", "seed=1", f"hydra.sweep.dir={sweep}"] + SMALL, cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    done = next(d for d in sweep.iterdir() if "seed=1" in d.name)
    summary = (done / "summary.json").read_bytes()
    r = _run(tmp_path, SIM + ["-m", "seed=1,2", f"hydra.sweep.dir={sweep}"] + SMALL, r"seed=2[^/]*/\.sim-output\.json$")
    _one_line(r, "the job finished so far kept under", str(sweep))
    assert (done / "summary.json").read_bytes() == summary
    assert json.loads((done / ".sim-output.json").read_text())["complete"]


@pytest.mark.slow
def test_a_sweep_whose_gathering_meets_a_full_disk_keeps_its_jobs(tmp_path):
    sweep = tmp_path / "sweep"
    r = _run(tmp_path, SIM + ["-m", "seed=1,2", f"hydra.sweep.dir={sweep}"] + SMALL, r"/gathered/[^/]+$")
    _one_line(r, "not gathered", "python -m sim.gather")
    jobs = [d for d in sweep.iterdir() if d.name.startswith("area=")]
    assert len(jobs) == 2 and all(json.loads((d / ".sim-output.json").read_text())["complete"] for d in jobs)


@pytest.mark.slow
def test_gathering_by_hand_on_a_full_disk_says_so_in_one_line(tmp_path):
    sweep = tmp_path / "sweep"
    first = subprocess.run(SIM + ["-m", "seed=1,2", f"hydra.sweep.dir={sweep}"] + SMALL, cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    shutil.rmtree(sweep / "gathered")
    r = _run(tmp_path, [sys.executable, "-m", "sim.gather", str(sweep)], r"/gathered/[^/]+$")
    _one_line(r, "nothing was gathered")
    jobs = [d for d in sweep.iterdir() if d.name.startswith("area=")]
    assert len(jobs) == 2 and all(json.loads((d / ".sim-output.json").read_text())["complete"] for d in jobs)
