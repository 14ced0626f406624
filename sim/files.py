"""Files: atomic writes, provenance, and output folders that never lose a user's files or show stale results.

Three promises, one mechanism each:

- **Nothing half-written.** Every file is written under a unique temporary name and renamed into place
  (:func:`atomic_write`); a run's or a study's outputs are staged in a hidden ``.partial-*`` folder and moved in
  together by :meth:`OutputFolder.commit`.
- **Nothing lost.** An :class:`OutputFolder` keeps a manifest (``.sim-output.json``) of the files the project wrote
  there. A folder is used only if it is new, empty, or holds such a manifest; a non-empty folder without one is
  refused before any work. The only files ever replaced or removed are those the manifest lists; anything else in
  the folder (a user's notes) is never touched. A failed or interrupted run removes only what it created.
- **Nothing stale.** :func:`fingerprint` hashes the model's code and data (``sim/``, ``configs/``, ``data/``) and
  the package versions; every cache key and every "already finished" check includes it, so changed code means
  recompute, never silent reuse.

Two processes never write one folder at once: :meth:`OutputFolder.session` holds an exclusive lock on the folder
(``flock`` on the directory itself) and refuses, with one line, a folder in use.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import json
import os
import pathlib
import platform
import shutil
import subprocess
import tempfile
from importlib import metadata

from sim.params import ConfigError

REPO = pathlib.Path(__file__).resolve().parent.parent
CODE_DIRS = (REPO / "sim", REPO / "configs", REPO / "data")
CODE_SUFFIXES = {".py", ".yaml", ".yml", ".csv", ".json", ".md", ".txt", ".parquet"}
# the packages whose versions can change a run's numbers (and so are part of every cache key)
PACKAGES = ("mesa", "numpy", "scipy", "pandas", "numba", "llvmlite", "matplotlib", "hydra-core", "omegaconf",
            "pyarrow", "SALib", "optuna", "scikit-learn")
MANIFEST = ".sim-output.json"
STAGING = ".partial-"
_UMASK = os.umask(0)
os.umask(_UMASK)


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


def atomic_write(path, write) -> pathlib.Path:
    """``write(tmp)`` to a unique temporary name beside ``path``, then rename it into place."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(pathlib.Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; a result file reads like any other
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def write_json(path, data) -> pathlib.Path:
    return atomic_write(path, lambda p: p.write_text(json.dumps(data, indent=2, default=str)))


def write_texts(folder, files: dict | None) -> None:
    """Extra text files by relative path (the command line's record of its config: ``.hydra/config.yaml``...)."""
    for rel, text in (files or {}).items():
        path = pathlib.Path(folder) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def check_writable(path, key: str) -> None:
    """Refuse (before any work) a folder that cannot be made or written: a file in the way, no permission, a
    read-only file system. Probes by making and removing a temporary folder in the nearest existing parent."""
    path = pathlib.Path(path)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if path.exists() and not path.is_dir():
        raise ConfigError(f"output folder '{path}' for '{key}' is a file, not a folder; choose another")
    if not probe.is_dir():
        raise ConfigError(f"output folder '{path}' for '{key}' cannot be made: '{probe}' is a file")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".sim-probe-", dir=probe))
    except OSError as e:
        raise ConfigError(f"output folder '{path}' for '{key}' cannot be written ({e.strerror} in '{probe}'); "
                          "choose another") from None


def read_manifest(folder) -> dict | None:
    try:
        m = json.loads((pathlib.Path(folder) / MANIFEST).read_text())
        return m if isinstance(m, dict) and isinstance(m.get("files"), list) else None
    except (OSError, ValueError):
        return None


def finished(folder, key: str | None = None) -> dict | None:
    """The manifest of a finished output in ``folder`` (of configuration ``key``, if given), else None."""
    m = read_manifest(folder)
    if not m or not m.get("complete"):
        return None
    if key is not None and m.get("key") != key:
        return None
    if not all((pathlib.Path(folder) / f).exists() for f in m["files"]):
        return None
    return m


def _visible(folder: pathlib.Path) -> list[str]:
    """What is in a folder, leaving out our own staging folders and probes."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith((STAGING, ".sim-probe-")))


class OutputFolder:
    """A folder of results that only ever changes through its manifest (see the module's docstring).

    ``kind`` names what it holds (``run``, ``study``, ``sensitivity``, ``optimise``, ``trial``, ``gathered``);
    ``key`` is the configuration's cache key (:func:`key_of`), so a finished folder of the same key is reused and
    one of another key is replaced, file by file, by what the new run writes.
    """

    def __init__(self, path, kind: str, key: str | None = None, option: str = "hydra.run.dir"):
        self.path = pathlib.Path(path)
        self.kind, self.key, self.option = kind, key, option
        self._created: list[pathlib.Path] = []
        self._fd = None
        self._wrote_manifest = False

    # -- before any work ------------------------------------------------------------------------------------
    def check(self) -> None:
        """Refuse, with one line, a folder this project may not write: see the module's docstring."""
        check_writable(self.path, self.option)
        if not self.path.is_dir():
            return
        try:
            entries = _visible(self.path)
        except OSError as e:
            raise ConfigError(f"output folder '{self.path}' for '{self.option}' cannot be read ({e.strerror})") \
                from None
        manifest = read_manifest(self.path)
        if entries and manifest is None:
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise ConfigError(f"output folder '{self.path}' for '{self.option}' already holds files this project "
                              f"did not write ({shown}); choose a new or empty folder (nothing was changed)")
        if manifest and manifest.get("kind") != self.kind:
            raise ConfigError(f"output folder '{self.path}' for '{self.option}' holds a {manifest.get('kind')}, not "
                              f"a {self.kind}; choose another folder (nothing was changed)")

    # -- while working --------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self):
        """Make the folder (remembering what was made), lock it, and mark it as ours; on failure or interrupt,
        remove only what this session made. Yields self."""
        self.check()
        missing = []
        p = self.path.absolute()
        while not p.exists():
            missing.append(p)
            p = p.parent
        self.path.mkdir(parents=True, exist_ok=True)
        self._created = list(reversed(missing))
        try:
            self._lock()
            for stale in self.path.glob(STAGING + "*"):  # a killed run's staging: ours, and nobody holds the lock
                shutil.rmtree(stale, ignore_errors=True)
            if read_manifest(self.path) is None:
                write_json(self.path / MANIFEST, {"kind": self.kind, "key": None, "complete": False, "files": []})
                self._wrote_manifest = True
            yield self
        except BaseException:
            self._undo(held=self._fd is not None)
            raise
        finally:
            self._unlock()

    def _lock(self) -> None:
        self._fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(self._fd)
            self._fd = None
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise ConfigError(f"output folder '{self.path}' for '{self.option}' is in use by another run; wait "
                                  "for it to finish or choose another folder") from None
            raise

    def _unlock(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None

    def _undo(self, held: bool) -> None:
        """After a failure: remove the staging folders and the manifest if this session wrote it and nothing else of
        ours is here, then the folders this session made, if they are empty. ``held``: whether this session holds
        the folder's lock (a session refused because another holds it touches nothing of that one's: removing its
        staging folder made it fail as it wrote its report)."""
        for stale in self.path.glob(STAGING + "*") if held else ():
            shutil.rmtree(stale, ignore_errors=True)
        if held and self._wrote_manifest and not any(n != MANIFEST for n in _visible(self.path)):
            with contextlib.suppress(OSError):
                (self.path / MANIFEST).unlink()
        for d in reversed(self._created):
            with contextlib.suppress(OSError):
                d.rmdir()  # only if empty

    def previous(self) -> dict | None:
        return read_manifest(self.path)

    @contextlib.contextmanager
    def stage(self):
        """A hidden folder to write a complete set of outputs into; committed when the block ends normally."""
        tmp = pathlib.Path(tempfile.mkdtemp(prefix=STAGING, dir=self.path))
        try:
            yield tmp
            self.commit(tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def commit(self, staged: pathlib.Path) -> list[str]:
        """Move every staged file into the folder and retire the previous output's files that were not written
        again. The manifest says 'not complete' throughout, so a kill at any point leaves no finished look."""
        new = sorted(str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file())
        old = (read_manifest(self.path) or {}).get("files", [])
        write_json(self.path / MANIFEST, {"kind": self.kind, "key": None, "complete": False,
                                          "files": sorted(set(old) | set(new))})
        for rel in new:
            dest = self.path / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged / rel, dest)
        for rel in sorted(set(old) - set(new)):
            with contextlib.suppress(OSError):
                (self.path / rel).unlink()
            with contextlib.suppress(OSError):
                (self.path / rel).parent.rmdir()  # a sub-folder of ours left empty
        write_json(self.path / MANIFEST, {"kind": self.kind, "key": self.key, "complete": True, "files": new})
        self._wrote_manifest = False
        return new


def remove_empty_parents(path, stop) -> None:
    """Remove ``path`` and its parents while they are empty, up to (not including) ``stop``."""
    path, stop = pathlib.Path(path).absolute(), pathlib.Path(stop).absolute()
    while path != stop and stop in path.parents:
        try:
            path.rmdir()
        except OSError:
            return
        path = path.parent
