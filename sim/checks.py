"""Checks shared by every entry point: numbers that must be finite, whole numbers in range, lists of names, a
choice from a list; and :func:`fail`, the one way an entry point reports bad input.

Every check raises :class:`sim.params.ConfigError` with one line that names the key and what is allowed; the
command line prints it and exits with status 2 before any work starts.
"""

from __future__ import annotations

import math
import sys

from sim.params import ConfigError

EXIT_BAD_INPUT = 2  # every entry point exits with this status on bad input (after one line on stderr)


def fail(message: str):
    """Print one line, ``error: ...``, to stderr and exit with :data:`EXIT_BAD_INPUT`."""
    sys.stderr.write(f"error: {' '.join(str(message).split())}\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_BAD_INPUT)


def check_finite(obj, prefix: str) -> None:
    """Refuse NaN and infinity anywhere in a (nested) config."""
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ConfigError(f"'{prefix}' must be a finite number, got {obj!r}")
    if isinstance(obj, str) and obj.strip().lower() in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
        raise ConfigError(f"'{prefix}' must be a finite number, got {obj!r}")
    if isinstance(obj, dict):
        for k, v in obj.items():
            check_finite(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            check_finite(v, f"{prefix}[{i}]")


def check_int(v, key: str, low: int | None = None, high: int | None = None) -> int:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"'{key}' must be a whole number{_range(low, high)}, got {v!r}")
    if (low is not None and v < low) or (high is not None and v > high):
        raise ConfigError(f"'{key}' must be a whole number{_range(low, high)}, got {v!r}")
    return v


def check_number(v, key: str, low: float | None = None, high: float | None = None, *, low_open=False,
                 high_open=False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(f"'{key}' must be a finite number{_range(low, high, low_open, high_open)}, got {v!r}")
    bad_low = low is not None and (v <= low if low_open else v < low)
    bad_high = high is not None and (v >= high if high_open else v > high)
    if bad_low or bad_high:
        raise ConfigError(f"'{key}' must be a number{_range(low, high, low_open, high_open)}, got {v!r}")
    return float(v)


def _range(low, high, low_open=False, high_open=False) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


def check_list(v, key: str, allowed=None, *, min_len: int = 1, max_len: int | None = None) -> list:
    """A list of names: a list (not a bare string), of ``min_len`` to ``max_len`` entries, each once, each one of
    ``allowed`` when given."""
    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)):
        raise ConfigError(f"'{key}' must be a list (e.g. {key}=[a,b]), got {v!r}")
    if len(v) < min_len:
        extra = f"; allowed: {', '.join(allowed)}" if allowed else ""
        raise ConfigError(f"'{key}' is empty: give at least {min_len}{extra}")
    if max_len is not None and len(v) > max_len:
        raise ConfigError(f"'{key}' takes at most {max_len} entries, got {len(v)}")
    seen = set()
    for x in v:
        if not isinstance(x, str):
            raise ConfigError(f"'{key}' must list names, got {x!r}")
        if allowed is not None and x not in allowed:
            raise ConfigError(f"unknown '{x}' in '{key}'; allowed: {', '.join(allowed)}")
        if x in seen:
            raise ConfigError(f"'{key}' lists '{x}' twice; give each once")
        seen.add(x)
    return list(v)


def check_choice(v, key: str, allowed) -> str:
    if v not in allowed:
        raise ConfigError(f"unknown {key.rsplit('.', 1)[-1]} {v!r} for '{key}'; allowed: {', '.join(allowed)}")
    return v


# --- names and folders ---------------------------------------------------------------------------------------------

NAME_LIMIT = 64  # characters in a name a user gives (a scenario, a study): enough to read, short enough for any path
COMPONENT_LIMIT = 255  # bytes in one folder or file name on Linux and macOS file systems (NAME_MAX)
PATH_LIMIT = 4096  # bytes in a whole path (PATH_MAX)


def _bad_char(text: str) -> str | None:
    """The first character a file name must not hold: NUL and control characters, and the invisible format
    characters (a right-to-left override makes a name read as another)."""
    import unicodedata

    return next((c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")), None)


def _shown(v) -> str:
    text = repr(v)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(v) if isinstance(v, str) else '?'} characters)"


def check_name(v, key: str, limit: int = NAME_LIMIT) -> str:
    """The one rule for every name that becomes a path component (a scenario's or a study's name, a sweep job's
    folder): text of 1 to ``limit`` characters (and at most 255 bytes), no '/' or '\\', not '.' or '..' and no
    leading dot (a hidden or parent folder), no control or invisible characters, no spaces at either end. A name
    that broke it wrote outside results/ ('../../x'), or failed as it was written ('File name too long')."""
    rule = (f"a name of 1 to {limit} characters with no '/' or '\\', no leading dot, no '..', no control "
            "characters and no spaces at either end")
    if not isinstance(v, str) or not v:
        raise ConfigError(f"'{key}' must be {rule}, got {_shown(v)}")
    bad = _bad_char(v)
    problem = ("has a path separator" if "/" in v or "\\" in v else
               "starts with a dot" if v.startswith(".") else
               "holds '..'" if ".." in v else
               f"holds the control character {bad!r}" if bad else
               "has spaces at an end" if v != v.strip() else
               f"is {len(v)} characters long" if len(v) > limit or len(v.encode()) > COMPONENT_LIMIT else None)
    if problem:
        raise ConfigError(f"'{key}' must be {rule}; got {_shown(v)}, which {problem}")
    return v


def check_output_path(path, key: str) -> str:
    """An output folder a user names (``hydra.run.dir``, ``hydra.sweep.dir``, a trial's ``out=``): a path, not
    empty, with no control characters, each name at most 255 bytes and the whole at most 4096, and not inside the
    project's code, data, .git or .venv, nor the project's folder itself (:func:`sim.files.in_project`: said here
    with the key, before anything else is looked at)."""
    import os
    import pathlib

    if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
        raise ConfigError(f"'{key}' must be a folder path, got {_shown(path)}")
    text = str(path)
    bad = _bad_char(text)
    if bad:
        raise ConfigError(f"'{key}' holds the control character {bad!r}; give a folder path, got {_shown(text)}")
    if any(p != p.strip() for p in pathlib.PurePath(text).parts):  # ('out=/tmp/t9 ' made a folder 't9 ')
        raise ConfigError(f"'{key}' has a folder name with a space at either end, got {_shown(text)}")
    long = next((p for p in pathlib.PurePath(text).parts if len(p.encode()) > COMPONENT_LIMIT), None)
    if long is not None or len(os.fsencode(os.path.abspath(text))) > PATH_LIMIT:
        what = f"a name of {len(long.encode())} bytes" if long else f"{len(os.path.abspath(text))} characters"
        raise ConfigError(f"'{key}' is too long for the file system ({what}; at most {COMPONENT_LIMIT} bytes a name "
                          f"and {PATH_LIMIT} in all), got {_shown(text)}")
    from sim.files import in_project  # (the one list of the project's own folders)

    own = in_project(text)
    if own is not None:
        where = "the project's own folder" if own == "." else f"the project's own '{own}/'"
        raise ConfigError(f"'{key}' ({text}) is inside {where}: output goes outside the project's code and data "
                          "(a folder there changes the code fingerprint, so every cache is recomputed); use "
                          "results/... or a folder of your own")
    return text


# --- environment faults ----------------------------------------------------------------------------------------------

EXIT_DISK_FULL = 74  # sysexits.h EX_IOERR: the disk (or the user's quota) filled while writing; input was fine


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised from) is 'no space left on device' or 'disk quota exceeded'."""
    import errno

    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _size(path) -> int:
    """Bytes of the files under ``path`` (0 if there is none)."""
    import os

    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{max(n, 0) / 1e6:.1f} MB"


def disk_full_message(exc: BaseException, kept: str, folder=None, needed: float | None = None) -> str:
    """The one line for a full disk: which file could not be written, what was kept, and about how much space
    finishing needs (``needed`` bytes; by default as much again as ``folder`` holds, at least 50 MB) against what
    is free."""
    import os
    import pathlib
    import shutil

    err = exc
    while err is not None and not (isinstance(err, OSError) and err.errno is not None):
        err = err.__cause__ or err.__context__
    what = err.strerror if isinstance(err, OSError) and err.strerror else "No space left on device"
    where = getattr(err, "filename", None)
    probe = pathlib.Path(folder or where or ".").absolute()
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if needed is None:
        needed = max(_size(folder) if folder and os.path.isdir(folder) else 0, 50e6)
    try:
        free = f"; {_mb(shutil.disk_usage(probe).free)} free now on {probe}"
    except OSError:
        free = ""
    return (f"error: the disk is full ({what}{f': {where}' if where else ''}): {kept}; about {_mb(needed)} more "
            f"is needed to finish{free}: free some space (or choose a folder on another disk) and rerun the same "
            "command")


def disk_full(exc: BaseException, kept: str, folder=None, needed: float | None = None) -> None:
    """Report a full disk in one line (:func:`disk_full_message`) and exit with :data:`EXIT_DISK_FULL`."""
    sys.stderr.write(" ".join(disk_full_message(exc, kept, folder, needed).split()) + "\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_DISK_FULL)
