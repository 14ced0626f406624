"""Files: atomic writes, provenance, and output folders that never lose a user's files or show stale results.

Three promises, one mechanism each:

- **Nothing half-written.** Every file is written under a unique temporary name and renamed into place
  (:func:`atomic_write`); a run's or a study's outputs are staged in a hidden ``.partial-*`` folder and moved in
  together by :meth:`OutputFolder.commit`.
- **Nothing lost.** An :class:`OutputFolder` keeps a manifest (``.sim-output.json``) of the files the project wrote
  there, each with its content hash. A folder is used only if it is new, empty, or holds such a manifest; a
  non-empty folder without one is refused before any work. A file is ours only if the manifest vouches for it (it
  is listed and its content still has the recorded hash): only such files are ever replaced or removed. A file of
  any other name (a user's notes) is never touched; a file the project would write whose name the manifest does
  not vouch for (a user's ``interventions.csv``, or one the user edited) refuses the run in one line, and nothing
  is replaced. A failed or interrupted run removes only what it created.
- **Nothing outside.** Every path the project replaces or removes is checked to lie inside its folder (a manifest
  entry such as ``../x`` or ``/etc/x``, or one under a symbolic link leading out, marks the manifest as not ours);
  output folders inside the project's own code and data are refused.
- **Nothing stale.** :func:`sim.provenance.fingerprint` hashes the model's code and data (``sim/``, ``configs/``,
  ``data/``) and the package versions; every cache key and every "already finished" check includes it, so changed
  code means recompute, never silent reuse.

Two processes never write one folder at once: :meth:`OutputFolder.session` holds an exclusive lock on the folder
(``flock`` on the directory itself) and refuses, with one line, a folder in use.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import pathlib
import shutil
import tempfile

from sim.manifest import (
    MANIFEST,
    hashes_of,
    inside,
    manifest_problem,
    read_manifest,
    sha256_file,
    vouched,
)
from sim.params import ConfigError
from sim.provenance import REPO

STAGING = ".partial-"
STAGED = ".sim-staging"  # the mark inside a staging folder of ours: a folder named .partial-* without it is not ours
# published data the project writes into its own data/ (the calibration ensemble and its validation)
PUBLISHED = {"calibration-ensemble": "data/calibration", "validation": "data/calibration"}
# the project's own folders: an output folder inside one would change the code fingerprint or the code itself
OWN_DIRS = ("sim", "configs", "data", "cli", "experiments", "app", "scripts", "tests", "docs", ".git", ".venv", ".ci")
# the names each kind of output may write, checked before any work against files the manifest does not vouch for
# (a name missing here is still never replaced: the commit refuses it, after the work)
WRITES = {
    "run": ("timeseries.csv", "summary.json", "indicators.png", "demography.csv", "interventions.csv", "msoa.csv",
            "msoa_map.png",
            "baseline_timeseries.csv"),
    "study": ("tidy.parquet", "summary.csv", "cost_per_outcome.*", "programmes.csv", "programme_costs.csv",
              "decisions.csv", "head_to_head.csv", "variance_split.csv", "acceptability.*", "persistence.csv",
              "response_*", "study.json", "report.html", "timeseries_*.png", "timeseries_*.svg",
              "difference_vs_baseline.*", "areas_compared.*", "probability_best.*", "msoa.csv", "msoa_runs.parquet",
              "msoa_*.png", "msoa_*.svg"),
}
WRITES["gathered"] = WRITES["study"]
_UMASK = os.umask(0)
os.umask(_UMASK)


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


def in_project(path) -> str | None:
    """The project folder ``path`` lies in (``sim``, ``configs``, ``data``, ...), or None: an output folder there
    would change the code fingerprint (every cache recomputed) or the code itself."""
    try:
        full = pathlib.Path(path).absolute().resolve()
    except (OSError, RuntimeError):
        return None
    if full == REPO:
        return "."
    for d in OWN_DIRS:
        if full.is_relative_to(REPO / d):
            return d
    return None


def _matches(rel: str, patterns) -> bool:
    import fnmatch

    return any(fnmatch.fnmatchcase(rel, p) for p in patterns)


def _ours_staging(p: pathlib.Path) -> bool:
    """A staging folder this project made (named ``.partial-*`` and marked inside; or left empty by a kill between
    making and marking it): only these are ever removed as staging."""
    if not p.name.startswith(STAGING) or p.is_symlink() or not p.is_dir():
        return False
    return (p / STAGED).is_file() or not any(p.iterdir())


def _clear_staging(folder: pathlib.Path) -> None:
    for stale in folder.glob(STAGING + "*"):
        if _ours_staging(stale):
            shutil.rmtree(stale, ignore_errors=True)


def _visible(folder: pathlib.Path) -> list[str]:
    """What is in a folder, leaving out our own staging folders and probes."""
    return sorted(p.name for p in folder.iterdir()
                  if not (_ours_staging(p) or p.name.startswith(".sim-probe-")))


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
        own = in_project(self.path)
        published = PUBLISHED.get(self.kind)
        if own is not None and not (published and self.path.absolute().resolve().is_relative_to(REPO / published)):
            where = "the project's own folder" if own == "." else f"the project's own '{own}/'"
            raise ConfigError(f"output folder '{self.path}' for '{self.option}' is inside {where}; choose a folder "
                              "outside the project's code and data (e.g. under results/)")
        check_writable(self.path, self.option)
        if not self.path.is_dir():
            return
        try:
            entries = _visible(self.path)
        except OSError as e:
            raise ConfigError(f"output folder '{self.path}' for '{self.option}' cannot be read ({e.strerror})") \
                from None
        bad = manifest_problem(self.path)
        if bad:
            raise ConfigError(f"output folder '{self.path}' for '{self.option}' holds a {MANIFEST} that this project "
                              f"did not write ({bad}); choose another folder (nothing was changed)")
        manifest = read_manifest(self.path)
        if entries and manifest is None:
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise ConfigError(f"output folder '{self.path}' for '{self.option}' already holds files this project "
                              f"did not write ({shown}); choose a new or empty folder (nothing was changed)")
        if manifest and manifest.get("kind") != self.kind:
            raise ConfigError(f"output folder '{self.path}' for '{self.option}' holds a {manifest.get('kind')}, not "
                              f"a {self.kind}; choose another folder (nothing was changed)")
        self._refuse_unvouched(self._ours_by_name(manifest))

    def _ours_by_name(self, manifest) -> list[str]:
        """Files here whose names this kind of output may write (``WRITES``) that the manifest does not vouch for."""
        names = WRITES.get(self.kind, ())
        candidates = [p.name for p in self.path.iterdir() if _matches(p.name, names)]
        return sorted(set(candidates) - vouched(self.path, manifest)) if candidates else []

    def _refuse_unvouched(self, clash: list[str]) -> None:
        if clash:
            raise ConfigError(f"output folder '{self.path}' for '{self.option}' holds '{clash[0]}', which this project "
                              "did not write (or which was changed after it wrote it) and would replace; move it "
                              "away or choose another folder (nothing was changed)")

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
            _clear_staging(self.path)  # a killed run's staging: ours, and nobody holds the lock
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
        if held:
            _clear_staging(self.path)
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
        (tmp / STAGED).touch()  # the mark: removed as ours after a kill (a user's '.partial-x' never is)
        try:
            yield tmp
            self.commit(tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def commit(self, staged: pathlib.Path) -> list[str]:
        """Move every staged file into the folder and retire the previous output's files that were not written
        again. The manifest says 'not complete' throughout, so a kill at any point leaves no finished look."""
        new = sorted(str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file() and p.name != STAGED)
        sums = {rel: sha256_file(staged / rel) for rel in new}
        before = read_manifest(self.path)
        ours = vouched(self.path, before)
        clash = [rel for rel in new if rel not in ours and (inside(self.path, rel) is None
                 or (self.path / rel).exists() or (self.path / rel).is_symlink())]
        self._refuse_unvouched(clash)  # before anything moves: a file we cannot vouch for is never replaced
        old_sums = (before or {}).get("sha256") or {}
        both = {r: sorted(set(hashes_of(old_sums.get(r, []))) | {sums[r]}) if r in ours else sums[r] for r in new}
        write_json(self.path / MANIFEST, {"kind": self.kind, "key": None, "complete": False,  # a kill while files
                                          "files": sorted(ours | set(new)),                 # move leaves each
                                          "sha256": {**{r: old_sums[r] for r in ours if r in old_sums},  # vouched
                                                     **both}})
        for rel in new:
            dest = self.path / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged / rel, dest)
        for rel in sorted(ours - set(new)):  # only files still ours: one the user changed stays, unlisted
            with contextlib.suppress(OSError):
                (self.path / rel).unlink()
            with contextlib.suppress(OSError):
                (self.path / rel).parent.rmdir()  # a sub-folder of ours left empty
        write_json(self.path / MANIFEST, {"kind": self.kind, "key": self.key, "complete": True, "files": new,
                                          "sha256": sums})
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
