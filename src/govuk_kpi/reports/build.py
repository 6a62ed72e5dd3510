"""`govuk-kpi reports build`: run report notebooks with papermill, render HTML, write manifests.

The build is three parts: planning (`govuk_kpi.reports.plan`: which reports, their inputs key,
which are up to date), execution (`govuk_kpi.reports.execute`: the worker pool, warm kernels,
stop signals) and the manifest (`govuk_kpi.reports.manifest`: the typed `Manifest` and
`Figure`, reading and writing them, the provenance of figures). This module puts them together;
`build_reports` returns each report's `Manifest` in memory (`BuildResult`).

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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govuk_kpi.core.version import code_version
from govuk_kpi.reports.execute import (
    STOP_POLL_SECONDS,
    STOP_SECONDS,
    BuildStopped,
    Pool,
    ReportPool,
    execute_report,
    run_reports,
    shutdown_warm_kernel,
)
from govuk_kpi.reports.manifest import (
    MANIFEST_SUFFIX,
    VOLATILE,
    Manifest,
    Outputs,
    manifest_path,
    provenance,
    read_manifest,
    write_manifest,
)
from govuk_kpi.reports.params import NOTEBOOK_DIR, ReportJob, ReportSet
from govuk_kpi.reports.plan import (
    Inputs,
    absolute_url,
    inputs_key,
    load_report_sets,
    package_versions,
    plan_jobs,
    plan_reports,
    sha256_file,
)

__all__ = [
    "MANIFEST_SUFFIX",
    "STOP_POLL_SECONDS",
    "STOP_SECONDS",
    "VOLATILE",
    "BuildResult",
    "BuildStopped",
    "Pool",
    "ReportOutcome",
    "ReportPool",
    "absolute_url",
    "build_reports",
    "execute_report",
    "inputs_key",
    "package_versions",
    "read_manifest",
    "shutdown_warm_kernel",
    "write_manifest",
]


@dataclass(frozen=True)
class ReportOutcome:
    """What happened to one report, and its manifest (None: stopped before it finished)."""

    name: str
    as_of: str
    status: str  # built, skipped, failed, stopped (a signal stopped the build first)
    seconds: float = 0.0
    error: str | None = None
    manifest: Manifest | None = None


@dataclass
class BuildResult:
    """Every report of a build."""

    outcomes: list[ReportOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[ReportOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def manifests(self) -> list[Manifest]:
        """The manifest of every report built, failed or up to date, in the order they ended."""
        return [o.manifest for o in self.outcomes if o.manifest is not None]

    def summary(self) -> str:
        counts = {s: sum(o.status == s for o in self.outcomes) for s in ("built", "skipped")}
        lines = [
            f"{len(self.outcomes)} reports: {counts['built']} built, {counts['skipped']} "
            f"unchanged, {len(self.failed)} failed"
        ]
        lines += [f"  FAILED {o.as_of}/{o.name}: {o.error}" for o in self.failed]
        return "\n".join(lines)


def build_reports(
    report_sets: Sequence[str | Path | ReportSet],
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

    `report_sets`: `params/*.yaml` files, or `ReportSet`s already read (the pipeline's, its
    `as_of` replaced in memory). `warm=False` runs every report on a kernel of its own (the
    cold path, for comparison). `pool`: the workers to build on, left running for the next
    build (`jobs` is then the pool's); default: a pool of `jobs` workers made for this build
    and closed after it. `index=False` leaves the site index to the caller (the pipeline's
    `Publish` writes it).
    """
    from govuk_kpi.kpi import Warehouse
    from govuk_kpi.reports.site import write_index

    notebook_dir, out_root = Path(notebook_dir), Path(out_root)
    sets = load_report_sets(report_sets, notebook_dir)  # all checked first
    url = absolute_url(url)
    warehouse = Warehouse(url)
    planned_jobs = plan_jobs(sets, warehouse.organisations(), notebook_dir)
    inputs = Inputs(code_version(), package_versions(), warehouse.data_fingerprint())
    planned = plan_reports(planned_jobs, inputs, out_root, force=force)
    result = BuildResult()

    def done(outcome: ReportOutcome) -> None:
        result.outcomes.append(outcome)
        progress(outcome)

    keys = {(r.job.as_of, r.job.name): r.key for r in planned if r.fresh is None}
    for report in planned:
        if report.fresh is not None:
            done(ReportOutcome(report.job.name, report.job.as_of, "skipped", manifest=report.fresh))

    def finish(job: ReportJob, run: dict[str, Any]) -> None:
        key = keys[job.as_of, job.name]
        done(_finish_report(out_root, job, key, run, warehouse, inputs))

    if keys:
        run_reports(
            [r.job for r in planned if r.fresh is None],
            url,
            out_root,
            finish,
            lambda job: done(ReportOutcome(job.name, job.as_of, "stopped")),
            pool=pool,
            workers=jobs,
            warm=warm,
        )
    if index:
        write_index(out_root)
    return result


def _manifest(
    job: ReportJob, key: str, run: dict[str, Any], warehouse: Any, inputs: Inputs
) -> Manifest:
    """The manifest of a report its worker has run."""
    batches, figures = provenance(warehouse, run["figures"])
    meta = run["meta"]
    return Manifest(
        report=job.name,
        as_of=job.as_of,
        title=meta.get("title") or job.name,
        subtitle=meta.get("subtitle"),
        generated_usage=bool(meta.get("generated")),
        status="failed" if run["error"] else "ok",
        error=run["error"],
        notebook=job.notebook.as_posix(),
        notebook_sha256=sha256_file(job.notebook),
        params_file=job.params_file.as_posix(),
        parameters=job.parameters,
        code_version=inputs.code,
        packages=inputs.packages,
        data=inputs.data,
        batches=batches,
        inputs_key=key,
        outputs=Outputs(f"{job.name}.ipynb", f"{job.name}.html", tuple(meta.get("files") or ())),
        figures=figures,
        started_at=run["started_at"],
        finished_at=run["finished_at"],
        duration_seconds=run["duration_seconds"],
    )


def _finish_report(
    out_root: Path, job: ReportJob, key: str, run: dict[str, Any], warehouse: Any, inputs: Inputs
) -> ReportOutcome:
    """Write the manifest of a report its worker has run: the report is finished."""
    manifest = _manifest(job, key, run, warehouse, inputs)
    write_manifest(manifest_path(out_root / job.as_of, job.name), manifest)
    status = "failed" if manifest.failed else "built"
    return ReportOutcome(
        job.name, job.as_of, status, run["duration_seconds"], run["error"], manifest
    )
