"""`govuk-kpi reports build`: run report notebooks with papermill, render HTML, write manifests.

Each report is `reports/<as-of>/<name>.ipynb` (executed, outputs kept), `<name>.html` (input
hidden, nothing fetched from the network) and `<name>.manifest.json` (parameters, hashes,
versions, the load batches behind its figures, times, and its named figures). A report whose
notebook, parameters, code and warehouse data are unchanged is skipped. Reports run in
parallel in worker processes; each worker keeps one warm kernel (`govuk_kpi.reports.kernel`)
with pandas, matplotlib and SQLAlchemy imported, reset to a fresh state before every report.
A failing notebook keeps its partial output with the error shown (and its worker gets a new
kernel), the others still build, and the build reports the failure.

A report is finished when its manifest is: the manifest goes before anything of the report is
rewritten and comes back, whole (written beside and renamed), only after the notebook and HTML
are. A build stopped part way therefore leaves no half-made report passing as finished, and
the next build makes again exactly the reports without a manifest. SIGTERM, SIGINT or SIGHUP
stop a build within seconds: no new report starts, the workers stop their kernels and end,
the finished reports keep their manifests, and the builder then ends as the signal would have
ended it (status 143 for SIGTERM). The workers and kernels end with the builder however it
ends, SIGKILL included (`govuk_kpi.reports.lifetime`).

The workers are a `ReportPool`. A build makes its own unless it is given one: a pool given to
several builds keeps its workers and their warm kernels from one build to the next (the
pipeline's days of a backfill share one, through `govuk_kpi.reports.service`).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from multiprocessing import get_context, util
from multiprocessing.connection import wait as wait_for_exits
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from govuk_kpi.core.errors import ConfigError, GovukKpiError
from govuk_kpi.core.version import code_version
from govuk_kpi.reports.kernel import WarmKernel, owned_kernel_manager
from govuk_kpi.reports.lifetime import StopSignals, die_with_parent
from govuk_kpi.reports.params import NOTEBOOK_DIR, ReportJob, load_report_set, plan
from govuk_kpi.warehouse.db import URL_VARIABLE, database_url

PACKAGES = (
    "govuk-kpi",
    "papermill",
    "nbconvert",
    "nbformat",
    "nbclient",
    "ipykernel",
    "pandas",
    "numpy",
    "matplotlib",
    "sqlalchemy",
)
MANIFEST_SUFFIX = ".manifest.json"
VOLATILE = ("started_at", "finished_at", "duration_seconds")
STOP_POLL_SECONDS = 0.2  # how often the build loop looks for a stop signal
STOP_SECONDS = 5.0  # how long stopping workers get before they are killed


class BuildStopped(GovukKpiError):
    """A signal stopped the build (raised only when the signal's own handler lets us live)."""


@dataclass
class ReportOutcome:
    """What happened to one report."""

    name: str
    as_of: str
    status: str  # built, skipped, failed, stopped (a signal stopped the build first)
    seconds: float = 0.0
    error: str | None = None


@dataclass
class BuildResult:
    """Every report of a build."""

    outcomes: list[ReportOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[ReportOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def summary(self) -> str:
        counts = {s: sum(o.status == s for o in self.outcomes) for s in ("built", "skipped")}
        lines = [
            f"{len(self.outcomes)} reports: {counts['built']} built, {counts['skipped']} "
            f"unchanged, {len(self.failed)} failed"
        ]
        lines += [f"  FAILED {o.as_of}/{o.name}: {o.error}" for o in self.failed]
        return "\n".join(lines)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def absolute_url(url: str | None) -> str:
    """The warehouse URL with a relative SQLite path made absolute (kernels run elsewhere)."""
    chosen = database_url(url)
    prefix = "sqlite:///"
    if chosen.startswith(prefix) and not chosen.startswith(prefix + "/"):
        path = chosen.removeprefix(prefix)
        if path and path != ":memory:":
            return prefix + str(Path(path).resolve())
    return chosen


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
    ) -> Future: ...

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

    def submit(self, job: dict[str, Any], url: str, out_dir: str, *, warm: bool = True) -> Future:
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


def inputs_key(job: ReportJob, code: str, packages: dict[str, str], data: dict) -> str:
    """The hash of everything a report depends on; unchanged → the report is skipped."""
    blob = json.dumps(
        {
            "notebook": sha256_file(job.notebook),
            "parameters": job.parameters,
            "code": code,
            "packages": packages,
            "data": data,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _provenance(warehouse: Any, figures: dict[str, dict]) -> tuple[list[dict], dict[str, list]]:
    """The load batches behind the figures: all of them, and each figure's batch ids."""
    spans: dict[tuple[str, str], list[int]] = {}
    batches: dict[int, dict] = {}
    per_figure: dict[str, list[int]] = {}
    for name, figure in figures.items():
        period = figure.get("period") or {}
        span = (period.get("start") or "1900-01-01", period.get("end") or "2999-12-31")
        if span not in spans:
            frame = warehouse.source_batches(*span)
            rows = json.loads(frame.to_json(orient="records", date_format="iso"))
            for row in rows:
                for key in ("date_from", "date_to"):
                    if row.get(key):
                        row[key] = row[key][:10]
                batches[row["batch_id"]] = row
            spans[span] = [row["batch_id"] for row in rows]
        per_figure[name] = spans[span]
    return [batches[k] for k in sorted(batches)], per_figure


def write_text_whole(path: Path, text: str) -> None:
    """Write `path` whole or not at all: into a file beside it, then renamed over it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    write_text_whole(path, json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")


def read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def build_reports(
    params_files: Sequence[str | Path],
    *,
    url: str | None = None,
    out_root: str | Path = "reports",
    notebook_dir: str | Path = NOTEBOOK_DIR,
    jobs: int = 2,
    force: bool = False,
    progress: Callable[[ReportOutcome], None] = lambda _o: None,
    warm: bool = True,
    pool: Pool | None = None,
    index: bool = True,
) -> BuildResult:
    """Build every report of the report sets; write the site index. See the module docstring.

    `warm=False` runs every report on a kernel of its own (the cold path, for comparison).
    `pool`: the workers to build on, left running for the next build (`jobs` is then the
    pool's); default: a pool of `jobs` workers made for this build and closed after it.
    `index=False` leaves the site index to the caller (the pipeline's `Publish` writes it).
    """
    from govuk_kpi.kpi import Warehouse
    from govuk_kpi.reports.site import write_index

    notebook_dir, out_root = Path(notebook_dir), Path(out_root)
    report_sets = [load_report_set(p, notebook_dir) for p in params_files]  # all checked first
    if not report_sets:
        raise ConfigError("no report sets given (params/*.yaml)")
    url = absolute_url(url)
    warehouse = Warehouse(url)
    organisations = warehouse.organisations()
    all_jobs = [job for s in report_sets for job in plan(s, organisations, notebook_dir)]
    seen: dict[tuple[str, str], Path] = {}
    for job in all_jobs:
        key = (job.as_of, job.name)
        if key in seen:
            raise ConfigError(
                f"{job.params_file}: report {job.as_of}/{job.name} is also made by {seen[key]}"
            )
        seen[key] = job.params_file
    code, packages, data = code_version(), package_versions(), warehouse.data_fingerprint()
    result = BuildResult()
    todo: list[tuple[ReportJob, str]] = []
    for job in all_jobs:
        key = inputs_key(job, code, packages, data)
        out = out_root / job.as_of
        old = read_manifest(out / f"{job.name}{MANIFEST_SUFFIX}")
        fresh = (
            not force
            and old is not None
            and old.get("inputs_key") == key
            and old.get("status") == "ok"
            and (out / f"{job.name}.html").exists()
        )
        if fresh:
            outcome = ReportOutcome(job.name, job.as_of, "skipped")
            result.outcomes.append(outcome)
            progress(outcome)
        else:
            todo.append((job, key))
    if todo:
        workers = pool or ReportPool(max(1, min(jobs, len(todo))))
        stop = StopSignals()
        futures: dict[Future, tuple[ReportJob, str]] = {}
        pending: set[Future] = set()
        try:
            with stop:
                for job, key in todo:
                    future = workers.submit(
                        {
                            "name": job.name,
                            "notebook": str(job.notebook),
                            "parameters": job.parameters,
                        },
                        url,
                        str(out_root / job.as_of),
                        warm=warm,
                    )
                    futures[future] = (job, key)
                    pending.add(future)
                while pending and not stop.requested:
                    done, pending = wait(pending, STOP_POLL_SECONDS, FIRST_COMPLETED)
                    for future in done:
                        job, key = futures[future]
                        try:
                            run = future.result()
                        except Exception as exc:  # a worker died, the service went away
                            run = _run_lost(exc)
                        outcome = _finish_report(
                            out_root, job, key, run, warehouse, code, packages, data
                        )
                        result.outcomes.append(outcome)
                        progress(outcome)
                if stop.requested:
                    workers.stop()
        finally:
            if pool is None:
                workers.close()
        if stop.requested:
            for future in pending:
                job, _key = futures[future]
                outcome = ReportOutcome(job.name, job.as_of, "stopped")
                result.outcomes.append(outcome)
                progress(outcome)
            sys.stderr.write(
                f"reports build stopped by {stop.name}: {len(pending)} report(s) not built; "
                "run the build again to finish it\n"
            )
            stop.finish()  # ends the process as the signal would have
            raise BuildStopped(f"the report build was stopped by {stop.name}")
    if index:
        write_index(out_root)
    return result


def _finish_report(
    out_root: Path,
    job: ReportJob,
    key: str,
    run: dict[str, Any],
    warehouse: Any,
    code: str,
    packages: dict[str, str],
    data: dict,
) -> ReportOutcome:
    """Write the manifest of a report its worker has run: the report is finished."""
    batches, per_figure = _provenance(warehouse, run["figures"])
    for name, figure in run["figures"].items():
        figure["batches"] = per_figure[name]
    meta = run["meta"]
    manifest = {
        "report": job.name,
        "as_of": job.as_of,
        "title": meta.get("title") or job.name,
        "subtitle": meta.get("subtitle"),
        "generated_usage": bool(meta.get("generated")),
        "status": "failed" if run["error"] else "ok",
        "error": run["error"],
        "notebook": job.notebook.as_posix(),
        "notebook_sha256": sha256_file(job.notebook),
        "params_file": job.params_file.as_posix(),
        "parameters": job.parameters,
        "code_version": code,
        "packages": packages,
        "data": data,
        "batches": batches,
        "inputs_key": key,
        "outputs": {
            "notebook": f"{job.name}.ipynb",
            "html": f"{job.name}.html",
            "files": list(meta.get("files") or []),
        },
        "figures": run["figures"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "duration_seconds": run["duration_seconds"],
    }
    write_manifest(out_root / job.as_of / f"{job.name}{MANIFEST_SUFFIX}", manifest)
    return ReportOutcome(
        job.name,
        job.as_of,
        "failed" if run["error"] else "built",
        run["duration_seconds"],
        run["error"],
    )
