"""How long the report builder's processes live: no longer than the process that started them.

A builder's worker processes and their Jupyter kernels must end when the builder ends, by any
signal, SIGKILL included; otherwise they run on for minutes, holding memory and the caller's
output pipe. Each child sees to it itself, from the child side:

- `die_with_parent(parent)`: on Linux, ask the kernel for a signal when the parent dies
  (`prctl(PR_SET_PDEATHSIG)`), then check the parent is still `parent` (it may have died
  before the request: the race the check closes); and everywhere, a watchdog thread that
  notices the parent has changed. The worker processes call it when they start.
- `python -m govuk_kpi.reports.lifetime PARENT -- COMMAND...` does the same and then `exec`s
  COMMAND, which keeps the parent-death signal (`owned_command` builds the line). Kernels
  are started through it, so nothing of theirs has to change.

`StopSignals` is the other end: the builder turns SIGTERM, SIGINT and SIGHUP into a request
to stop, acted on at a safe point, and afterwards ends as the signal would have ended it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType, TracebackType
from typing import Any

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_SECONDS = 0.5
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def parent_death_signal(signum: int) -> bool:
    """Have the OS send `signum` to this process when the thread that started it ends
    (Linux only). Whether it could."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the C library Python is linked with
        return libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _end(signum: int) -> None:
    """End this process as `signum` would (its exit status when the signal is handled)."""
    with contextlib.suppress(OSError):
        os.kill(os.getpid(), signum)
    time.sleep(1.0)  # a handled signal: give the handler its moment
    os._exit(128 + signum)


def die_with_parent(
    parent: int,
    signum: int = signal.SIGKILL,
    on_orphan: Callable[[], None] | None = None,
    *,
    watch: bool = True,
) -> None:
    """End this process when `parent` (the pid that started it) ends.

    `signum` is the parent-death signal (the process's handler for it runs, if it has one);
    the watchdog thread calls `on_orphan` (default: end as `signum` would) when the parent has
    changed. Already orphaned: ends now.
    """
    orphaned = on_orphan or (lambda: _end(signum))
    parent_death_signal(signum)
    if os.getppid() != parent:  # the parent died before the request took effect
        orphaned()
        return
    if watch:
        threading.Thread(
            target=_watch, args=(parent, orphaned), name="die-with-parent", daemon=True
        ).start()


def _watch(parent: int, orphaned: Callable[[], None]) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    orphaned()


def owned_command(command: Sequence[str]) -> list[str]:
    """`command` run so that it ends when this process ends (see `main`)."""
    return [sys.executable, "-m", __name__, str(os.getpid()), "--", *command]


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m govuk_kpi.reports.lifetime PARENT -- COMMAND...`: exec COMMAND with SIGKILL
    as its parent-death signal, unless PARENT has already gone."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 3 or args[1] != "--" or not args[0].isdigit():
        sys.exit("usage: python -m govuk_kpi.reports.lifetime PARENT -- COMMAND...")
    parent, command = int(args[0]), args[2:]
    die_with_parent(parent, signal.SIGKILL, lambda: os._exit(1), watch=False)
    for name in ("SIGPIPE", "SIGXFSZ"):  # as subprocess leaves them for a new program
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvp(command[0], command)


class StopSignals:
    """While open (in the main thread): SIGTERM, SIGINT and SIGHUP only record a request to
    stop (`requested`), for the caller to act on. On leaving, the former handlers come back
    and, if a signal came, `finish` ends the process as that signal would have.

    Signals ignored before stay ignored; outside the main thread nothing is changed.
    """

    def __init__(self, signals: Sequence[int] = STOP_SIGNALS) -> None:
        self.signals = tuple(signals)
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    def _record(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in self.signals:
                if signal.getsignal(signum) not in (signal.SIG_IGN, None):
                    self._previous[signum] = signal.signal(signum, self._record)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.restore()

    def restore(self) -> None:
        previous, self._previous = self._previous, {}
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def finish(self) -> None:
        """With the former handlers back: deliver the signal that came to this process again,
        so it ends (or its former handler runs) as it would have without us."""
        self.restore()
        if self.signum is not None:
            sys.stdout.flush()
            sys.stderr.flush()
            signal.raise_signal(self.signum)


if __name__ == "__main__":
    main()
