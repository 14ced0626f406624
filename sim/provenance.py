"""What decides a run's numbers besides its configuration: the model's code and data and the package versions.

:func:`fingerprint` hashes them; every cache key (:func:`key_of`) and every "already finished" check includes it, so
changed code means recompute, never silent reuse. :func:`provenance` is what every output records of them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import pathlib
import platform
import subprocess
from importlib import metadata

REPO = pathlib.Path(__file__).resolve().parent.parent
CODE_DIRS = (REPO / "sim", REPO / "configs", REPO / "data")
CODE_SUFFIXES = {".py", ".yaml", ".yml", ".csv", ".json", ".md", ".txt", ".parquet"}
# the packages whose versions can change a run's numbers (and so are part of every cache key)
PACKAGES = ("mesa", "numpy", "scipy", "pandas", "numba", "llvmlite", "matplotlib", "hydra-core", "omegaconf",
            "pyarrow", "SALib", "optuna", "scikit-learn")


def versions() -> dict:
    return dict(_versions())


@functools.lru_cache(maxsize=1)
def _versions() -> dict:
    """Looked up once per process (each look-up searches the installed distributions: ~1 ms a package), as the
    code fingerprint is computed once."""
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def git_commit() -> str | None:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


@functools.lru_cache(maxsize=4)
def fingerprint(skip: tuple = ()) -> str:
    """A content hash of the model's code and data and of the package versions: what, beside the configuration,
    decides a run's numbers. Computed once per process (the files are read, not their times). ``skip`` leaves out
    folders (relative to the repository) that hold what a computation itself produces: a calibration is not
    keyed by the ensemble it published."""
    h = hashlib.sha256()
    skipped = tuple(REPO / s for s in skip)
    for top in CODE_DIRS:
        for p in sorted(top.rglob("*")):
            if any(p.is_relative_to(d) for d in skipped):
                continue
            if p.is_file() and p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(REPO)).encode() + b"\0")
                h.update(p.read_bytes() + b"\0")
    h.update(json.dumps(versions(), sort_keys=True).encode())
    return h.hexdigest()[:16]


def key_of(payload, skip: tuple = ()) -> str:
    """A cache key: the configuration ``payload`` together with the code fingerprint (see ``skip`` there)."""
    text = json.dumps({"config": payload, "code": fingerprint(skip)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def provenance() -> dict:
    return {"code_fingerprint": fingerprint(), "versions": versions(), "git_commit": git_commit()}
