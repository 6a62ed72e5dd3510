"""Running reports: worker processes, their warm kernels, and stopping a build.

Reports run in parallel in worker processes (`ReportPool`); each worker keeps one warm kernel
(`govuk_kpi.reports.kernel`) with pandas, matplotlib and SQLAlchemy imported, reset to a fresh
state before every report. A failing notebook keeps its partial output with the error shown
(and its worker gets a new kernel). SIGTERM, SIGINT or SIGHUP stop a build within seconds
(`run_reports`): no new report starts and the workers stop their kernels and end. The workers
and kernels end with the builder however it ends, SIGKILL included
(`govuk_kpi.reports.lifetime`).
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from datetime import UTC, datetime
from multiprocessing import get_context, util
from multiprocessing.connection import wait as wait_for_exits
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from govuk_kpi.core.errors import GovukKpiError
from govuk_kpi.reports.kernel import WarmKernel, owned_kernel_manager
from govuk_kpi.reports.lifetime import StopSignals, die_with_parent
from govuk_kpi.reports.manifest import MANIFEST_SUFFIX, write_text_whole
from govuk_kpi.reports.params import ReportJob
from govuk_kpi.warehouse.db import URL_VARIABLE

STOP_POLL_SECONDS = 0.2  # how often the build loop looks for a stop signal
STOP_SECONDS = 5.0  # how long stopping workers get before they are killed


class BuildStopped(GovukKpiError):
    """A signal stopped the build (raised only when the signal's own handler lets us live)."""


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


_WARM: WarmKernel | None = None
_EXIT_HOOKS: list[Callable[[], None]] = []


def shutdown_warm_kernel() -> None:
    """Stop this process's warm kernel, if it has one (run when a worker exits)."""
    global _WARM
    kernel, _WARM = _WARM, None
    if kernel is not None:
        kernel.shutdown()


def _stop_worker(signum: int = signal.SIGTERM, _frame: FrameType | None = None) -> None:
    """End this worker now, its kernel first (the builder asked, or the builder is gone)."""
    kernel = _WARM
    if kernel is not None:
        kernel.kill()
    os._exit(128 + signum)


def _ignore(_signum: int, _frame: FrameType | None) -> None:
    """A handler that does nothing (unlike SIG_IGN, a kernel started here does not inherit it)."""


def start_worker(builder: int) -> None:
    """(In a worker, as it starts.) Stop on SIGTERM, and when the builder `builder` ends
    however it ends; leave SIGINT and SIGHUP from a terminal to the builder, which stops
    the workers itself."""
    signal.signal(signal.SIGINT, _ignore)
    signal.signal(signal.SIGHUP, _ignore)
    signal.signal(signal.SIGTERM, _stop_worker)
    die_with_parent(builder, signal.SIGTERM, on_orphan=_stop_worker)


def warm_kernel(cwd: Path, environ: dict[str, str]) -> WarmKernel:
    """This process's warm kernel, reset for a report run in `cwd`; started when there is
    none, restarted when it died or will not reset."""
    global _WARM
    if _WARM is None:
        if not _EXIT_HOOKS:
            atexit.register(shutdown_warm_kernel)
            util.Finalize(None, shutdown_warm_kernel, exitpriority=10)  # a pool worker's exit
            _EXIT_HOOKS.append(shutdown_warm_kernel)
        _WARM = WarmKernel()
    if _WARM.km is not None:
        try:
            if _WARM.is_alive():
                _WARM.reset(cwd, environ)
                return _WARM
        except Exception:  # a kernel that will not reset is replaced
            pass
        _WARM.shutdown()
    _WARM.start(cwd)
    _WARM.reset(cwd, environ)
    return _WARM


def execute_report(
    job: dict[str, Any], url: str, out_dir: str, *, warm: bool = True
) -> dict[str, Any]:
    """Run one notebook and render its HTML (in a worker process). Never raises.

    `warm`: on this process's warm kernel (see `govuk_kpi.reports.kernel`), else on a kernel
    of its own that papermill starts and stops (the cold path).
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from govuk_kpi.reports.figures import read_report_outputs
    from govuk_kpi.reports.render import remote_assets, render_html

    os.environ[URL_VARIABLE] = url
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Unfinished from here until the builder writes the manifest again.
    (out / f"{job['name']}{MANIFEST_SUFFIX}").unlink(missing_ok=True)
    for stale in out.glob(f".{job['name']}.*.tmp"):  # left by a build killed mid-write
        stale.unlink(missing_ok=True)
    output = out / f"{job['name']}.ipynb"
    started, clock = _now(), time.perf_counter()
    error = None
    parameters = {**job["parameters"], "output_dir": str(out.resolve())}
    kernel = None
    if warm:
        try:
            kernel = warm_kernel(out.resolve(), {URL_VARIABLE: url})
        except Exception:  # no warm kernel to be had: papermill starts one, as it would
            shutdown_warm_kernel()
    try:
        if kernel is not None:
            kernel.execute_notebook(job["notebook"], str(output), parameters, out.resolve())
        else:
            papermill.execute_notebook(
                job["notebook"],
                str(output),
                parameters=parameters,
                kernel_name="python3",
                progress_bar=False,
                log_output=False,
                cwd=str(out.resolve()),
                kernel_manager_class=owned_kernel_manager(),
            )
    except PapermillExecutionError as exc:
        error = f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
    except Exception as exc:  # the kernel died, the notebook is unreadable...
        error = f"{type(exc).__name__}: {exc}"
    if error is not None and kernel is not None:
        kernel.shutdown()  # the next report gets a new kernel
    figures: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    if output.exists():
        notebook = nbformat.read(output, as_version=4)
        figures, meta = read_report_outputs(notebook)
        html = render_html(notebook, str(meta.get("title") or job["name"]))
        remote = remote_assets(html)
        if remote and error is None:
            error = f"the HTML would load from the network: {remote[0]}"
        write_text_whole(out / f"{job['name']}.html", html)
    return {
        "started_at": started,
        "finished_at": _now(),
        "duration_seconds": round(time.perf_counter() - clock, 3),
        "error": error,
        "figures": figures,
        "meta": meta,
    }


class Pool(Protocol):
    """What a build needs of its workers: `ReportPool` here, or a pool in another process
    (`govuk_kpi.reports.service.RemotePool`)."""

    workers: int

    def submit(
        self, job: dict[str, Any], url: str, out_dir: str, *, warm: bool = True
    ) -> Future[dict[str, Any]]: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class ReportPool:
    """Worker processes that run `execute_report`, each keeping one warm kernel across the
    reports it builds, for one build or for many.

    The workers start as reports arrive (spawned, never forked) and end with the process that
    made the pool however it ends (`start_worker`); their kernels end with them. `close` lets
    them finish and end; `stop` ends them now. A pool whose worker died, or that was stopped,
    starts new workers for the next report. Used only in the process that made it: a process
    forked from it (a luigi task) gets a pool of its own. Submit from one thread that lives as
    long as the pool (the main thread): workers start in the thread that submits, and their
    parent-death signal fires when that thread ends, not only the process.
    """

    def __init__(self, workers: int = 2) -> None:
        self.workers = max(1, int(workers))
        self._executor: ProcessPoolExecutor | None = None
        self._owner = os.getpid()
        self._lock = threading.RLock()  # re-entered by a signal handler that stops the pool

    def _running(self) -> ProcessPoolExecutor:
        if self._owner != os.getpid():  # forked: the executor is the parent's
            self._executor, self._owner, self._lock = None, os.getpid(), threading.RLock()
        executor = self._executor
        if executor is not None and getattr(executor, "_broken", False):
            self._executor = None
            executor.shutdown(wait=False, cancel_futures=True)
            executor = None
        if executor is None:
            executor = self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=get_context("spawn"),
                initializer=start_worker,
                initargs=(os.getpid(),),
            )
        return executor

    def submit(
        self, job: dict[str, Any], url: str, out_dir: str, *, warm: bool = True
    ) -> Future[dict[str, Any]]:
        """Run one report (`execute_report`) on the next free worker."""
        with self._lock:
            return self._running().submit(execute_report, job, url, out_dir, warm=warm)

    def _take(self) -> ProcessPoolExecutor | None:
        with self._lock:
            executor, self._executor = self._executor, None
        return executor if self._owner == os.getpid() else None

    def stop(self) -> None:
        """End the workers now: SIGTERM (each kills its kernel and ends), SIGKILL for any
        still there after `STOP_SECONDS`; the reports not started are cancelled."""
        executor = self._take()
        if executor is None:
            return
        workers = list((getattr(executor, "_processes", None) or {}).values())
        for worker in workers:
            worker.terminate()
        waiting = {worker.sentinel: worker for worker in workers}
        deadline = time.monotonic() + STOP_SECONDS
        while waiting and (left := deadline - time.monotonic()) > 0:
            for ready in wait_for_exits(list(waiting), left):
                waiting.pop(ready)
        for worker in waiting.values():
            worker.kill()
        executor.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """Let the workers finish the reports they have, then end (their kernels with them)."""
        executor = self._take()
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ReportPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _run_lost(error: BaseException) -> dict[str, Any]:
    """What `execute_report` would have said of a report whose worker was lost."""
    stamp = _now()
    return {
        "started_at": stamp,
        "finished_at": stamp,
        "duration_seconds": 0.0,
        "error": f"the report's worker was lost: {type(error).__name__}: {error}",
        "figures": {},
        "meta": {},
    }


def _job_message(job: ReportJob) -> dict[str, Any]:
    """What a worker is sent of a job (plain values: it may cross to another process)."""
    return {"name": job.name, "notebook": str(job.notebook), "parameters": job.parameters}


def run_reports(
    jobs: Sequence[ReportJob],
    url: str,
    out_root: Path,
    finish: Callable[[ReportJob, dict[str, Any]], None],
    stopped: Callable[[ReportJob], None],
    *,
    pool: Pool | None = None,
    workers: int = 2,
    warm: bool = True,
) -> None:
    """Run the jobs into `<out_root>/<as-of>/`, calling `finish` with each job and what its run
    said (`execute_report`) as it ends.

    `pool`: the workers, left running; default: a pool of `workers` made and closed here. A
    stop signal ends the workers, calls `stopped` for each job not finished, and ends the
    process as the signal would have (or raises `BuildStopped` when its handler lets us live).
    """
    running = pool or ReportPool(max(1, min(workers, len(jobs))))
    stop = StopSignals()
    futures: dict[Future[dict[str, Any]], ReportJob] = {}
    pending: set[Future[dict[str, Any]]] = set()
    try:
        with stop:
            for job in jobs:
                out_dir = str(out_root / job.as_of)
                future = running.submit(_job_message(job), url, out_dir, warm=warm)
                futures[future] = job
                pending.add(future)
            while pending and not stop.requested:
                done, pending = wait(pending, STOP_POLL_SECONDS, FIRST_COMPLETED)
                for future in done:
                    try:
                        run = future.result()
                    except Exception as exc:  # a worker died, the service went away
                        run = _run_lost(exc)
                    finish(futures[future], run)
            if stop.requested:
                running.stop()
    finally:
        if pool is None:
            running.close()
    if stop.requested:
        _stopped(stop, [futures[f] for f in pending], stopped)


def _stopped(
    stop: StopSignals, left: Sequence[ReportJob], stopped: Callable[[ReportJob], None]
) -> None:
    for job in left:
        stopped(job)
    sys.stderr.write(
        f"reports build stopped by {stop.name}: {len(left)} report(s) not built; "
        "run the build again to finish it\n"
    )
    stop.finish()  # ends the process as the signal would have
    raise BuildStopped(f"the report build was stopped by {stop.name}")
