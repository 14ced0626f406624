"""A compiled pass over a large network started on a second thread while this one goes on with other work.

The passes given here release the GIL (numba ``nogil``), so they use the core the week otherwise leaves idle
after its contact pass. Each is started and waited for at fixed points of the week, and nothing done in between
reads what it writes: the numbers are the same as doing it at once. Small networks (a study's runs at a few per
cent of an area, which already fill every core with worker processes) do it at once, without a thread.
"""

from __future__ import annotations

import threading

BIG = 200_000  # tie slots: below this a pass is done at once (a thread costs more than it saves)


class Later:
    """``fn(*args)`` on a second thread if ``big``, else at once; :meth:`result` waits for it (and re-raises)."""

    def __init__(self, big: bool, fn, *args):
        self._out, self._error, self._thread = None, None, None
        if not big:
            self._out = fn(*args)
            return
        self._thread = threading.Thread(target=self._run, args=(fn, args), daemon=True, name="sim-background")
        self._thread.start()

    def _run(self, fn, args) -> None:
        try:
            self._out = fn(*args)
        except BaseException as e:  # re-raised by result()
            self._error = e

    def result(self):
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            if self._error is not None:
                raise self._error
        return self._out
