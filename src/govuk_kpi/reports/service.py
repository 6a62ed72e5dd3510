"""One report pool for many processes: the pipeline's warm kernels, kept across days.

With more than one worker, luigi runs each task in a process forked for it, so a `ReportPool`
made in a `Reports` task would end with the task, and every day of a backfill would start its
workers and kernels again (most of a report's time). `ReportService` runs one `ReportPool` in
a process of its own, started by the pipeline before luigi starts; a task, in whatever process
it runs, connects to it (`connect`, a Unix socket in a private folder and a random key) and
gets a `RemotePool` it builds on as on a local pool:

    with ReportService(workers=2) as service:     # the pipeline's run
        ...
        pool = service.connect()                   # in a task (forked or not)
        build_reports([...], pool=pool)
        pool.close()

How long things live: the service ends when the process that started it ends, however it ends
(its parent-death signal, as the builder's workers have); its workers end with it and their
kernels with them (`govuk_kpi.reports.lifetime`). `ReportService.close` (or leaving the
`with`) stops it all within seconds. SIGINT from a terminal is left to the process that
started it. When a client goes away (its task ended or was killed), its reports not yet
started are cancelled; one already running finishes, but its manifest, which the client
writes, is not: it is not a finished report, and the next build makes it again.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import secrets
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from multiprocessing import get_context
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from types import FrameType
from typing import Any

from govuk_kpi.reports.execute import ReportPool
from govuk_kpi.reports.lifetime import die_with_parent

FAMILY = "AF_UNIX"
START_SECONDS = 60.0  # the service says it is listening within this
STOP_SECONDS = 10.0  # time for the service to stop its workers before it is killed
CLOSE_SECONDS = 5.0  # time for the service to hang up on a client saying goodbye


class ServiceError(RuntimeError):
    """The report service did not start, or went away."""


# -- in the service process ----------------------------------------------------------------------


def _ignore(_signum: int, _frame: FrameType | None) -> None:
    """Leave SIGINT and SIGHUP from a terminal to the process that started the service."""


def serve(address: str, authkey: bytes, workers: int, parent: int, ready: Connection) -> None:
    """(The service process.) Serve `ReportPool(workers)` on `address` until SIGTERM, or
    until `parent` ends.

    Clients are served by threads of their own, but every report is handed to the pool by
    this, the main, thread: the pool starts its workers from the thread that submits, and a
    worker's parent-death signal fires when that thread ends, not the process.
    """
    pool = ReportPool(workers)
    requests: queue.Queue = queue.Queue()

    def end(signum: int = signal.SIGTERM, _frame: FrameType | None = None) -> None:
        pool.stop()  # the workers kill their kernels and end
        os._exit(128 + signum)

    def submit(job: dict[str, Any], url: str, out_dir: str, warm: bool) -> Future:
        """(In a client's thread.) The main thread submits; its future comes back."""
        answer: queue.Queue = queue.Queue(maxsize=1)
        requests.put((job, url, out_dir, warm, answer))
        submitted = answer.get()
        if isinstance(submitted, BaseException):
            raise submitted
        return submitted

    signal.signal(signal.SIGINT, _ignore)
    signal.signal(signal.SIGHUP, _ignore)
    signal.signal(signal.SIGTERM, end)
    # The parent's death sends SIGTERM (the handler above stops the workers); the watchdog
    # too, in case the signal could not be asked for.
    die_with_parent(parent, signal.SIGTERM, on_orphan=lambda: os.kill(os.getpid(), signal.SIGTERM))
    listener = Listener(address, family=FAMILY, authkey=authkey)
    threading.Thread(target=_accept, args=(listener, submit), name="accept", daemon=True).start()
    ready.send(os.getpid())
    ready.close()
    while True:
        try:
            job, url, out_dir, warm, answer = requests.get(timeout=1.0)
        except queue.Empty:
            continue
        try:
            answer.put(pool.submit(job, url, out_dir, warm=warm))
        except Exception as exc:
            answer.put(exc)


def _accept(listener: Listener, submit: Callable[..., Future]) -> None:
    while True:
        try:
            client = listener.accept()
        except (OSError, EOFError, ValueError):  # a client that failed the handshake
            continue
        threading.Thread(target=_serve_client, args=(client, submit), daemon=True).start()


class _Session:
    """One client's connection: its reports submitted and not yet answered, and one lock so
    that replies from the pool's threads do not interleave."""

    def __init__(self, client: Connection, submit: Callable[..., Future]) -> None:
        self.client = client
        self.submit = submit
        self.theirs: dict[int, Future] = {}
        self.sending = threading.Lock()

    def send(self, message: tuple[Any, ...]) -> None:
        with self.sending, contextlib.suppress(OSError, ValueError):
            self.client.send(message)

    def reply(self, ticket: int, future: Future) -> None:
        self.theirs.pop(ticket, None)
        if future.cancelled():
            return
        try:
            self.send(("done", ticket, future.result()))
        except Exception as exc:  # a worker died: the client says the report failed
            self.send(("error", ticket, f"{type(exc).__name__}: {exc}"))

    def start(self, ticket: int, job: Any, url: str, out_dir: str, warm: bool) -> None:
        try:
            future = self.submit(job, url, out_dir, warm)
        except Exception as exc:
            self.send(("error", ticket, f"{type(exc).__name__}: {exc}"))
            return
        self.theirs[ticket] = future
        future.add_done_callback(partial(self.reply, ticket))

    def cancel(self) -> None:
        """Cancel the client's reports not yet started."""
        for future in list(self.theirs.values()):
            future.cancel()

    def handle(self, message: tuple[Any, ...]) -> bool:
        """Act on one message; False when the client says goodbye."""
        if message[0] == "submit":
            _kind, ticket, job, url, out_dir, warm = message
            self.start(ticket, job, url, out_dir, warm)
        elif message[0] == "cancel":
            self.cancel()
        elif message[0] == "bye":
            return False
        return True

    def hang_up(self) -> None:
        self.cancel()
        with self.sending:
            self.client.close()


def _serve_client(client: Connection, submit: Callable[..., Future]) -> None:
    """Run one client's reports: ("submit", ticket, job, url, out_dir, warm) in,
    ("done", ticket, run) or ("error", ticket, message) out; ("cancel",) cancels its reports
    not yet started, and so does ("bye",), or the client going away, before hanging up."""
    session = _Session(client, submit)
    try:
        while True:
            try:
                message = client.recv()
            except (EOFError, OSError):
                break
            if not session.handle(message):
                break
    finally:
        session.hang_up()


# -- in the process that started it, and in its tasks --------------------------------------------


class RemotePool:
    """A connection to a `ReportService`, used as a `ReportPool` (`build_reports(pool=...)`)."""

    def __init__(self, address: str, authkey: bytes, workers: int) -> None:
        self.workers = workers
        self._connection = Client(address, family=FAMILY, authkey=authkey)
        self._futures: dict[int, Future] = {}
        self._tickets = itertools.count()
        self._sending = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="report-service", daemon=True)
        self._reader.start()

    def submit(self, job: dict[str, Any], url: str, out_dir: str, *, warm: bool = True) -> Future:
        future: Future = Future()
        ticket = next(self._tickets)
        self._futures[ticket] = future
        try:
            with self._sending:
                self._connection.send(("submit", ticket, job, url, out_dir, warm))
        except (OSError, ValueError) as exc:
            self._futures.pop(ticket, None)
            future.set_exception(ServiceError(f"the report service went away: {exc}"))
        return future

    def _read(self) -> None:
        while True:
            try:
                kind, ticket, payload = self._connection.recv()
            except (EOFError, OSError, ValueError):
                break
            future = self._futures.pop(ticket, None)
            if future is None:
                continue
            if kind == "done":
                future.set_result(payload)
            else:
                future.set_exception(ServiceError(payload))
        for future in list(self._futures.values()):
            if not future.done():
                future.set_exception(ServiceError("the report service went away"))
        self._futures.clear()

    def stop(self) -> None:
        """Cancel this client's reports not yet started; the service and its workers stay."""
        with self._sending, contextlib.suppress(OSError, ValueError):
            self._connection.send(("cancel",))
        self.close()

    def close(self) -> None:
        """Say goodbye (the service cancels what it has not started of ours and hangs up, which
        ends the reader), then close."""
        with self._sending, contextlib.suppress(OSError, ValueError):
            self._connection.send(("bye",))
        self._reader.join(timeout=CLOSE_SECONDS)
        with self._sending:
            self._connection.close()

    def __enter__(self) -> RemotePool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class ReportService:
    """A `ReportPool` of `workers` in a process of its own (see the module docstring).

    Start it (`start`, or `with`) in the process whose tasks will use it, before it forks
    them, from a thread that outlives it (the main thread: the service's parent-death signal
    fires when the thread that started it ends); `connect` from that process or any forked
    from it, from any thread.
    """

    def __init__(self, workers: int = 2) -> None:
        self.workers = max(1, int(workers))
        self.address = ""
        self.pid: int | None = None
        self._authkey = secrets.token_bytes(32)
        self._folder: str | None = None
        self._process: Any = None
        self._owner = os.getpid()

    def start(self) -> ReportService:
        context = get_context("spawn")
        self._folder = tempfile.mkdtemp(prefix="govuk-kpi-reports-")  # private: mode 0700
        self.address = str(Path(self._folder) / "service")
        receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=serve,
            args=(self.address, self._authkey, self.workers, os.getpid(), send),
            name="govuk-kpi-report-service",
        )
        self._process.start()
        send.close()
        try:
            if not receive.poll(START_SECONDS):
                raise ServiceError("the report service did not start")
            self.pid = receive.recv()
        except (EOFError, OSError, ServiceError) as exc:
            self.close()
            raise ServiceError(f"the report service did not start: {exc}") from exc
        finally:
            receive.close()
        return self

    def connect(self) -> RemotePool:
        """A pool that builds on the service (one per build; close it after)."""
        if not self.address:
            raise ServiceError("the report service is not running")
        return RemotePool(self.address, self._authkey, self.workers)

    def close(self) -> None:
        """Stop the service: its workers kill their kernels and end; then it ends."""
        process, self._process = self._process, None
        if process is not None and self._owner == os.getpid():
            if process.is_alive():
                process.terminate()  # its SIGTERM handler stops the workers first
                process.join(STOP_SECONDS)
            if process.is_alive():
                process.kill()
                process.join(STOP_SECONDS)
        if self._folder is not None and self._owner == os.getpid():
            shutil.rmtree(self._folder, ignore_errors=True)
        self._folder, self.address = None, ""

    def __enter__(self) -> ReportService:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()
