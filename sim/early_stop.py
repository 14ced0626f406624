"""A stop signal while a command is still importing, before its own handlers are in place.

``python -m sim`` (and ``sim.trial``, ``sim.gather``) spends its first few tenths of a second importing. A Ctrl-C or
SIGTERM then met Python's defaults: a ``KeyboardInterrupt`` traceback from inside an import (or, landing in an
import lock's finaliser, swallowed: the command then ran to the end and exited 0), or death by the signal with no
word. Nothing has been made at that point, so the command ends at once, saying so, with the status the command's own
handlers give (130, 143); they replace this one as soon as it starts its work."""

from __future__ import annotations

import os
import signal
import sys

STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}


def _before_any_work(signum, frame):
    sys.stderr.write(f"stopped by {signal.Signals(signum).name} before any work\n")
    sys.stderr.flush()
    os._exit(STATUS[signum])


def install() -> None:
    for s in STATUS:
        signal.signal(s, _before_any_work)
