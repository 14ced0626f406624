"""An output folder's manifest (``.sim-output.json``): the files the project wrote there, each with its SHA-256.

A file is the project's only while its manifest vouches for it (:func:`vouched`: listed, inside the folder, a regular
file with the recorded content); every path a manifest names is checked to lie inside its folder (:func:`inside`),
and a manifest that names one outside, is not a regular file or is not JSON is not ours (:func:`manifest_problem`).
Published data is checked the same way before use (:func:`check_published`).
"""

from __future__ import annotations

import hashlib
import json
import pathlib

from sim.params import ConfigError

MANIFEST = ".sim-output.json"
MANIFEST_MAX = 16 << 20  # bytes: a manifest larger than this is not one of ours


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def inside(folder, rel) -> pathlib.Path | None:
    """``folder/rel`` if it lies inside ``folder``: a relative path without ``..``, whose folders (symbolic links
    followed) stay inside; else None. Every path the project replaces or removes goes through this."""
    if not isinstance(rel, str) or not rel or "\0" in rel or "\\" in rel:
        return None
    pure = pathlib.PurePosixPath(rel)
    if pure.is_absolute() or any(part in ("..", ".", "") for part in rel.split("/")):
        return None
    folder = pathlib.Path(folder)
    full = folder / pure
    try:
        if not full.parent.resolve().is_relative_to(folder.resolve()):
            return None
    except (OSError, RuntimeError):  # a loop of links
        return None
    return full


def _load_manifest(folder):
    """The manifest's JSON; None if there is none; the string ``why`` if it is not a file this project writes (a
    link, a pipe, too large, not JSON)."""
    import stat

    path = pathlib.Path(folder) / MANIFEST
    try:
        st = path.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return "it is not a regular file"
    if st.st_size > MANIFEST_MAX:
        return "it is too large"
    try:
        with open(path, "rb") as f:
            return json.loads(f.read(MANIFEST_MAX + 1))
    except (OSError, ValueError, RecursionError):
        return "it is not JSON this project wrote"


def manifest_problem(folder) -> str | None:
    """Why the manifest in ``folder`` is not one this project wrote (an entry leading out of the folder, a hash
    that is not one, not a regular file), or None."""
    m = _load_manifest(folder)
    if m is None:
        return None
    if isinstance(m, str):
        return m
    if not isinstance(m, dict) or not isinstance(m.get("files"), list):
        return "it is not a manifest of this project's"
    for rel in m["files"]:
        if inside(folder, rel) is None:
            return f"it lists {str(rel)[:80]!r}, a path outside the folder"
        if any(len(part.encode()) > 255 for part in rel.split("/")) or len(rel) > 4096:
            return f"it lists a name too long for a file ({str(rel)[:40]!r}...)"
    sums = m.get("sha256", {})
    hashes = [h for v in (sums.values() if isinstance(sums, dict) else [None])
              for h in (v if isinstance(v, list) else [v])]
    if not all(isinstance(h, str) and len(h) == 64 for h in hashes):
        return "its content hashes are not hashes"
    return None


def read_manifest(folder) -> dict | None:
    """The folder's manifest, or None if there is none or it is not one this project wrote (see
    :func:`manifest_problem`): such a manifest vouches for nothing."""
    if manifest_problem(folder) is not None:
        return None
    m = _load_manifest(folder)
    return m if isinstance(m, dict) else None


def vouched(folder, manifest: dict | None) -> set[str]:
    """The files of ``manifest`` that are still ours: listed, inside the folder, regular files, with the content
    whose hash it recorded. A manifest without hashes (written before they were recorded, or by hand) vouches for
    nothing: a folder of such files is refused rather than a file replaced that may be someone's."""
    sums = (manifest or {}).get("sha256")
    if not isinstance(sums, dict):
        return set()
    folder = pathlib.Path(folder)
    out = set()
    for rel in manifest["files"]:
        path = inside(folder, rel)
        try:
            if path is None or path.is_symlink() or not path.is_file():
                continue
            if rel in sums and sha256_file(path) in hashes_of(sums[rel]):
                out.add(rel)
        except OSError:  # (a name too long, a file that cannot be read: not vouched for)
            continue
    return out


def hashes_of(value) -> list:
    """A recorded hash, or the two a commit in progress records (the file's old content and its new)."""
    return value if isinstance(value, list) else [value]


def finished(folder, key: str | None = None) -> dict | None:
    """The manifest of a finished output in ``folder`` (of configuration ``key``, if given), else None."""
    m = read_manifest(folder)
    if not m or not m.get("complete"):
        return None
    if key is not None and m.get("key") != key:
        return None
    if set(m["files"]) != vouched(folder, m):  # one missing, or changed since it was written
        return None
    return m


def check_published(folder, names, key: str) -> None:
    """Refuse published data (a calibration ensemble, its validation) whose files are not those published: each of
    ``names`` must be vouched for by the folder's complete manifest (listed with the content hash it was written
    with). A changed byte is refused in one line, never used."""
    folder = pathlib.Path(folder)
    m = read_manifest(folder)
    sums = (m or {}).get("sha256") or {}
    missing = [n for n in names if n not in sums]
    if not m or not m.get("complete") or missing:
        raise ConfigError(f"'{key}': '{folder}' is not published data this project can check (its {MANIFEST} "
                          f"holds no content hash{' of ' + missing[0] if m and missing else ''}); publish it "
                          "again (python -m sim experiment=calibrate study.publish=<folder>)")
    for n in names:
        path = inside(folder, n)
        if path is None or not path.is_file() or sha256_file(path) not in hashes_of(sums[n]):
            raise ConfigError(f"'{key}': '{folder / n}' is not the file that was published (its content hash "
                              "differs from the one in its manifest): restore it (e.g. git checkout) or publish "
                              "the ensemble again")
