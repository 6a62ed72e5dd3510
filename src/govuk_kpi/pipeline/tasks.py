"""The daily pipeline as luigi tasks: extract, load, roll up, build reports, publish the site.

    DailyRun(first, last, report_sets, snapshot_date)
      └ Publish ── Reports(day, report_set) per day and set
          └ Rollups(first, last)   ── LoadAnalytics(day), LoadFeedback(day) per day
              LoadFeedback(day)     ── LoadAnalytics(day), LandingFile(feedback, day)
              LoadAnalytics(day)    ── LoadContent, LandingFile(analytics, day)
              LoadContent           ── ExtractContent, LoadOrganisations
              LoadOrganisations     ── ExtractOrganisations

Every task says it is done by something real, never by "it ran": an extract by its snapshot's
`snapshot.json` (written last, in a folder renamed into place); a load by a loaded batch of
its input's SHA-256 (`BatchTarget`); rollups by `rollup_state` having seen the newest daily
batch (and every load below them being done); reports and the site by a stamp holding the
fingerprint of their inputs — for the days of the run, the landing files' hashes, so a
changed file is noticed before anything runs. Each task checks its input before it changes
anything and its output after, failing with a `CheckFailed` that names the check and the
data. Each run logs one JSON event line (`events.py`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import luigi

from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.core.periods import resolve_period
from govuk_kpi.core.version import code_version
from govuk_kpi.kpi.checks import (
    day_totals,
    days_with_views,
    live_edition_count,
    organisation_count,
    window_totals,
)
from govuk_kpi.kpi.provenance import daily_batch_inputs
from govuk_kpi.pipeline.checks import Checks, examples
from govuk_kpi.pipeline.context import current
from govuk_kpi.pipeline.events import emit, now
from govuk_kpi.pipeline.targets import BatchTarget, RollupsTarget, StampTarget
from govuk_kpi.sources.hashing import file_sha256
from govuk_kpi.sources.records import Reject
from govuk_kpi.warehouse.batch import already_loaded
from govuk_kpi.warehouse.calendar import date_key

if TYPE_CHECKING:  # imported by the tasks when they run (`TASK_MODULES`)
    import pandas as pd

    from govuk_kpi.reports.params import ReportSet
    from govuk_kpi.sources.daily_csv import DailyRows
    from govuk_kpi.sources.http.extract import ExtractReport
    from govuk_kpi.warehouse.batch import BatchResult

NAMESPACE = "govuk_kpi"


def days_between(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@cache
def _sha_cached(path: str, mtime_ns: int, size: int) -> str:
    return file_sha256(Path(path))


def _file_sha(path: Path) -> str | None:
    """A file's SHA-256, cached while its modification time and size stay the same."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return _sha_cached(str(path), stat.st_mtime_ns, stat.st_size)


def is_complete(task: luigi.Task) -> bool:
    """Whether luigi counts `task` as done (typed: luigi's own calls are not)."""
    return bool(task.complete())  # type: ignore[no-untyped-call, unused-ignore]


def requirements(task: luigi.Task) -> list[luigi.Task]:
    """The tasks `task` requires, as a list."""
    return list(luigi.task.flatten(task.requires()))  # type: ignore[no-untyped-call, unused-ignore]


class PipelineTask(luigi.Task):
    """A task whose `run` times `execute`, and logs one JSON event line with what it did.

    Its settings are the run's, frozen (`current()`), never luigi's config read anew."""

    task_namespace = NAMESPACE

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # typed: luigi's is not
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call, unused-ignore]

    def execute(self) -> None:  # pragma: no cover - every task defines it
        raise NotImplementedError

    def run(self) -> None:
        self.rows: dict[str, Any] = {}
        self.checks: Checks | None = None
        context = current()
        started, clock = now(), time.perf_counter()
        event: dict[str, Any] = {
            "event": "task",
            "task": self.get_task_family(),  # type: ignore[no-untyped-call, unused-ignore]
            "task_id": self.task_id,
            "params": self.to_str_params(only_significant=True),  # type: ignore[no-untyped-call, unused-ignore]
            "run_id": context.run_id,
            "pid": os.getpid(),
            "started_at": started,
        }
        try:
            self.execute()
        except Exception as exc:
            event.update(status="failed", error=str(exc), error_type=type(exc).__name__)
            raise
        else:
            event["status"] = "done"
        finally:
            event["duration_seconds"] = round(time.perf_counter() - clock, 3)
            event["finished_at"] = now()
            event["rows"] = self.rows
            event["checks"] = self.checks.passed if self.checks else []
            emit(event, context.events_file)


# -- inputs that arrive from outside ------------------------------------------------------------


class LandingFile(luigi.ExternalTask):
    """A daily export in the landing folder: `<landing>/<kind>/<kind>-YYYY-MM-DD.csv`."""

    task_namespace = NAMESPACE
    kind = luigi.ChoiceParameter(choices=["analytics", "feedback"])
    date = luigi.DateParameter()

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # typed: luigi's is not
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call, unused-ignore]

    def output(self) -> luigi.LocalTarget:
        path = current().landing_file(self.kind, self.date)
        return luigi.LocalTarget(str(path))  # type: ignore[no-untyped-call, unused-ignore]


# -- extract ------------------------------------------------------------------------------------


class _Extract(PipelineTask):
    """Extract into a staging folder, check it, then rename it into place (all or nothing)."""

    snapshot_date = luigi.DateParameter()
    name = ""

    def folder(self) -> Path:
        return current().snapshots / self.snapshot_date.isoformat() / f"pipeline-{self.name}"

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(self.folder() / "snapshot.json"))  # type: ignore[no-untyped-call, unused-ignore]

    def execute(self) -> None:
        final = self.folder()
        staging = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.partial")
        checks = self.checks = Checks(
            f"{self.name} extract {self.snapshot_date} from {current().base_url}"
        )
        try:
            self.extract(staging, checks)
            if final.exists():  # an earlier, unchecked or interrupted attempt: keep it aside
                final.rename(final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.old"))
            staging.rename(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def extract(self, staging: Path, checks: Checks) -> None:  # pragma: no cover
        raise NotImplementedError


def _fetched(report: ExtractReport) -> int:
    return report.counts.get("ok", 0) + report.counts.get("not_modified", 0)


class ExtractOrganisations(_Extract):
    """Every page of GOV.UK's Organisations API into `<snapshots>/<day>/pipeline-organisations`."""

    name = "organisations"

    def extract(self, staging: Path, checks: Checks) -> None:
        from govuk_kpi.sources.http.run import run_extract

        report = run_extract("organisations", current().http(), snapshot=staging, progress=False)
        self.rows = {"requests": report.requests, **report.counts}
        checks.require(
            "every organisations page fetched",
            not report.failed,
            "not fetched: " + examples(f"{f['url']}: {f.get('error')}" for f in report.failed),
        )
        count = 0
        for page in sorted((staging / "organisations").glob("*.json")):
            doc = json.loads(page.read_bytes())
            count += len(doc.get("results", []) if isinstance(doc, dict) else doc)
        self.rows["organisations"] = count
        checks.require("organisations listed", count > 0, "no organisations in the answer")


class ExtractContent(_Extract):
    """Search lists the pages (all, or `search_organisations`'), then the Content API for each."""

    name = "content"

    def extract(self, staging: Path, checks: Checks) -> None:
        from govuk_kpi.sources.http.run import run_extract

        context = current()
        slugs = list(context.search_organisations)
        http = context.http()
        search = run_extract("search", http, snapshot=staging, organisations=slugs, progress=False)
        checks.require(
            "every search page fetched",
            not search.failed,
            f"not fetched: {examples(f['url'] for f in search.failed)}",
        )
        listed = len(set(search.paths))
        checks.require("search lists pages", listed > 0, "search listed no pages")
        content = run_extract(
            "content", http, snapshot=staging, from_search=[staging / "search"], progress=False
        )
        fetched = _fetched(content)
        self.rows = {"listed": listed, "requests": search.requests + content.requests}
        self.rows.update(content.counts)
        checks.require("content fetched", fetched > 0, "no content item fetched")
        checks.at_most_share(
            "pages not fetched",
            len(content.failed),
            listed,
            context.max_unfetched_share,
            f"pages not fetched ({examples(f['url'] for f in content.failed)})",
        )


class ExtractGa4(_Extract):
    """A day's GA4 events aggregated in BigQuery (`ga4_route = bigquery`), into
    `<snapshots>/<snapshot day>/pipeline-ga4-YYYYMMDD/ga4/page-rows-YYYYMMDD.parquet`."""

    date = luigi.DateParameter()
    name = "ga4"

    def folder(self) -> Path:
        return super().folder().with_name(f"pipeline-ga4-{self.date:%Y%m%d}")

    def page_rows(self) -> Path:
        from govuk_kpi.sources.ga4_page_rows import KIND, page_rows_name

        return self.folder() / KIND / page_rows_name(self.date)

    def extract(self, staging: Path, checks: Checks) -> None:
        from govuk_kpi.sources.ga4_bigquery import extract_ga4

        result = extract_ga4(self.date, current().bigquery(), snapshot=staging)
        self.rows = {
            "page_rows": result.rows,
            "events_read": result.events_read,
            "rejected": result.rejected,
            "bytes_billed": result.bytes_billed,
            "jobs": [run.job_id for run in result.runs],
        }
        checks.require("page rows extracted", result.rows > 0, f"no page rows in {result.table}")


# -- load ---------------------------------------------------------------------------------------


class _LoadSnapshot(PipelineTask):
    """One kind of the day's extracted snapshot (its extract's `name`), as one load batch."""

    snapshot_date = luigi.DateParameter()
    extracted_by: ClassVar[type[_Extract]] = _Extract

    def extract_task(self) -> _Extract:
        return self.extracted_by(snapshot_date=self.snapshot_date)

    def data(self) -> Path:
        return self.extract_task().folder() / self.extracted_by.name

    def output(self) -> BatchTarget:
        return BatchTarget(current(), self.extracted_by.name, self.data())


class LoadOrganisations(_LoadSnapshot):
    """The day's organisations snapshot, as one load batch."""

    extracted_by = ExtractOrganisations

    def requires(self) -> _Extract:
        return self.extract_task()

    def execute(self) -> None:
        from govuk_kpi.warehouse.load_files import load_organisations_path

        context = current()
        checks = self.checks = Checks(f"organisations {self.data()}")
        with context.writing(check_schema=True) as engine:
            result = load_organisations_path(engine, self.data())
        self.rows = _batch_rows(result)
        with context.reading() as connection:
            count = organisation_count(connection)
        self.rows["organisations_in_warehouse"] = count
        checks.require("organisations in the warehouse", bool(count), "none")


class LoadContent(_LoadSnapshot):
    """The day's content snapshot, observed when it was extracted, as one load batch."""

    extracted_by = ExtractContent

    def requires(self) -> dict[str, luigi.Task]:
        return {
            "extract": self.extract_task(),
            "organisations": LoadOrganisations(snapshot_date=self.snapshot_date),
        }

    def observed_at(self) -> datetime:
        manifest = json.loads((self.data().parent / "snapshot.json").read_text("utf-8"))
        started = datetime.fromisoformat(manifest["kinds"]["content"]["started_at"])
        return started.astimezone(UTC).replace(tzinfo=None)

    def execute(self) -> None:
        from govuk_kpi.warehouse.load_files import load_content_path

        context = current()
        checks = self.checks = Checks(f"content {self.data()}")
        with context.writing() as engine:
            result = load_content_path(engine, self.data(), observed_at=self.observed_at())
        self.rows = _batch_rows(result)
        checks.at_most_share(
            "rejected items",
            result.rows_rejected,
            result.rows_read,
            max(context.max_reject_share, 0.01),
            "items rejected (see `govuk-kpi rejects`)",
        )
        with context.reading() as connection:
            live = live_edition_count(connection)
        self.rows["live_editions"] = live
        checks.require("live editions in the warehouse", bool(live), "no live edition")


def _batch_rows(result: BatchResult) -> dict[str, Any]:
    counts = ("read", "loaded", "rejected", "unmatched")
    return {
        "batch_id": result.batch_id,
        "skipped_as": result.skipped_as,
        **{name: getattr(result, f"rows_{name}") for name in counts},
    }


class _LoadDaily(PipelineTask):
    """One day's export from the landing folder, checked, then loaded as one batch."""

    date = luigi.DateParameter()
    snapshot_date = luigi.DateParameter()
    source = ""

    def path(self) -> Path:
        return current().landing_file(self.source, self.date)

    def output(self) -> BatchTarget:
        return BatchTarget(current(), self.source, self.path(), self.date)

    def execute(self) -> None:
        from govuk_kpi.warehouse.load_files import load_landed

        context = current()
        path = self.path()
        checks = self.checks = Checks(f"{self.source} {self.date} ({path})")
        totals: dict[str, int] = {}

        def check(rows: DailyRows) -> None:  # before anything is written
            totals.update(self.check_rows(checks, rows, context.max_reject_share))

        with context.engine() as engine:
            result = load_landed(engine, path, self.source, check=check, lock=context.lock)
        self.rows.update(_batch_rows(result))
        self.rows["totals"] = totals
        self.check_output(checks, totals)

    def check_rows(
        self, checks: Checks, rows: DailyRows, max_reject_share: float
    ) -> dict[str, int]:
        """The checks of the rows read, before anything is loaded; the file's totals."""
        frame = rows.frame
        self.rows = {"read": rows.rows_read, "rejected": len(rows.rejects)}
        checks.require("rows present", not frame.empty, f"{rows.rows_read} rows, none usable")
        days = sorted({d.date() for d in frame["date"]})
        checks.require(
            "dates match the file's day",
            days == [self.date],
            f"the file holds {examples(str(d) for d in days if d != self.date)}",
        )
        checks.at_most_share(
            "rejected rows",
            len(rows.rejects),
            rows.rows_read,
            max_reject_share,
            f"rows rejected ({examples(_rejected(r) for r in rows.rejects)})",
        )
        totals = {m: int(frame[m].sum()) for m in rows.metrics}
        checks.not_negative("totals not negative", totals)
        self.check_input(checks, frame, totals)
        return totals

    def check_input(self, checks: Checks, frame: pd.DataFrame, totals: dict[str, int]) -> None:
        """Source-specific checks of the rows read, before anything is loaded."""

    def check_output(self, checks: Checks, totals: dict[str, int]) -> None:
        """The warehouse's facts and unmatched rows for the day add up to the file's totals."""
        metrics = list(totals)
        with current().reading() as connection:
            facts, unmatched = day_totals(connection, self.date, metrics, self.source)
        warehouse = {m: int(f) + int(u) for m, f, u in zip(metrics, facts, unmatched, strict=True)}
        differ = [f"{m} {warehouse[m]} ≠ {totals[m]}" for m in metrics if warehouse[m] != totals[m]]
        checks.require(
            "warehouse totals equal the file's",
            not differ,
            f"warehouse vs file: {examples(differ)}",
        )


def _rejected(reject: Reject) -> str:
    return f"row {reject.row}: {reject.reason}" if reject.row is not None else reject.reason


class LoadAnalytics(_LoadDaily):
    """`<landing>/analytics/analytics-YYYY-MM-DD.csv` (or the day's GA4 export,
    `events_YYYYMMDD.parquet|.json.gz|.json`) into the daily facts."""

    source = "analytics"

    def _bigquery(self) -> bool:
        return current().ga4_route == "bigquery"

    def path(self) -> Path:
        if self._bigquery():
            return ExtractGa4(date=self.date, snapshot_date=self.snapshot_date).page_rows()
        return super().path()

    def requires(self) -> dict[str, luigi.Task]:
        return {
            "file": ExtractGa4(date=self.date, snapshot_date=self.snapshot_date)
            if self._bigquery()
            else LandingFile(kind="analytics", date=self.date),
            "content": LoadContent(snapshot_date=self.snapshot_date),
        }

    def check_input(self, checks: Checks, frame: pd.DataFrame, totals: dict[str, int]) -> None:
        for check, small, large in (
            ("unique views ≤ page views", "upviews", "pviews"),
            ("bounces ≤ entrances", "bounces", "entrances"),
        ):
            bad = frame[frame[small] > frame[large]]
            checks.require(
                check,
                bad.empty,
                f"{len(bad)} rows where {small} > {large}: "
                + examples(
                    f"{r.path} ({small} {getattr(r, small)}, {large} {getattr(r, large)})"
                    for r in bad.itertuples()
                ),
            )
        answers = totals["useful_yes"] + totals["useful_no"]
        checks.ratio_in_unit_interval(
            "satisfaction within 0..1",
            "the day's satisfaction",
            totals["useful_yes"] / answers if answers else None,
        )


class LoadFeedback(_LoadDaily):
    """`<landing>/feedback/feedback-YYYY-MM-DD.csv` into the daily facts (after the analytics)."""

    source = "feedback"

    def requires(self) -> dict[str, luigi.Task]:
        # After the day's analytics: both write the same fact rows.
        return {
            "file": LandingFile(kind="feedback", date=self.date),
            "analytics": LoadAnalytics(date=self.date, snapshot_date=self.snapshot_date),
        }


# -- rollups ------------------------------------------------------------------------------------


class Rollups(PipelineTask):
    """Monthly and rolling-window rollups, once every day of the run is loaded."""

    first = luigi.DateParameter()
    last = luigi.DateParameter()
    snapshot_date = luigi.DateParameter()

    def requires(self) -> list[luigi.Task]:
        return list(self.loads())

    def loads(self) -> list[_LoadDaily]:
        loads: list[_LoadDaily] = []
        for day in days_between(self.first, self.last):
            loads.append(LoadAnalytics(date=day, snapshot_date=self.snapshot_date))
            loads.append(LoadFeedback(date=day, snapshot_date=self.snapshot_date))
        return loads

    def output(self) -> RollupsTarget:
        return RollupsTarget(current())

    def complete(self) -> bool:
        # Fresh rollups are not enough: a changed landing file makes a load below incomplete.
        # luigi asks this before every report task runs: the loads are checked on one
        # connection, with the landing files' hashes cached (`_file_sha`), as `BatchTarget`
        # would check each on an engine of its own.
        if not self.output().exists():
            return False
        loads = self.loads()
        with current().reading() as connection:
            for load in loads:
                sha = _file_sha(load.path())
                if sha is None or not already_loaded(
                    connection, load.source, sha, load.date, load.date
                ):
                    return False
        return True

    def execute(self) -> None:
        from govuk_kpi.warehouse.rollups import refresh_rollups, stale_rollups

        context = current()
        checks = self.checks = Checks(f"rollups after {self.first}..{self.last}")
        with context.writing() as engine:
            result = refresh_rollups(engine)
        self.rows = {
            "as_of": result.as_of,
            "months": result.months,
            "window_rows": result.window_rows,
            "last_batch_id": result.last_batch_id,
        }
        wanted = days_between(self.first, self.last)
        with context.reading() as connection:
            present = days_with_views(connection, self.first, self.last)
            missing = [d for d in wanted if date_key(d) not in present]
            checks.require(
                "no date missing in the range",
                not missing,
                f"no page views on {examples(str(d) for d in missing)}",
            )
            checks.require("rollups fresh", not stale_rollups(connection), "still stale")
            windows = window_totals(connection)
        for window, *sums in windows:
            totals = dict(zip(DAILY_METRICS, sums, strict=True))
            checks.not_negative(f"{window} totals not negative", totals)
            answers = (totals["useful_yes"] or 0) + (totals["useful_no"] or 0)
            checks.ratio_in_unit_interval(
                f"{window} satisfaction within 0..1",
                f"{window} satisfaction",
                (totals["useful_yes"] or 0) / answers if answers else None,
            )


# -- reports and the site -----------------------------------------------------------------------


def _report_set(path: str) -> ReportSet:
    """The checked report set (cached while the file and the notebooks folder are unchanged)."""
    notebooks = current().notebooks
    stamps = tuple(p.stat().st_mtime_ns if p.exists() else 0 for p in (Path(path), notebooks))
    return _load_report_set(path, str(notebooks), stamps)


@cache
def _load_report_set(path: str, notebooks: str, _stamps: tuple[int, ...]) -> ReportSet:
    from govuk_kpi.reports.params import load_report_set

    return load_report_set(Path(path), Path(notebooks))


def _day_hashes(first: date, last: date, period_start: date, period_end: date) -> dict[str, Any]:
    """Per day of a report's period, the hash of each daily input its figures rest on.

    Days of the run: the landing files (known before anything loads, so a changed file shows
    at once). Other days: the newest loaded batch covering the day, which this run leaves be.
    """
    hashes: dict[str, dict[str, str | None]] = {}
    outside = [d for d in days_between(period_start, period_end) if not first <= d <= last]
    context = current()
    if outside:
        with context.reading() as connection:
            batches = daily_batch_inputs(connection, period_start, period_end)
        for source, sha, date_from, date_to in batches:  # newest last, so it wins
            for day in outside:
                if date_from is not None and date_to is not None and date_from <= day <= date_to:
                    hashes.setdefault(day.isoformat(), {})[source] = sha
    for day in days_between(max(first, period_start), min(last, period_end)):
        hashes[day.isoformat()] = {
            kind: _file_sha(context.landing_file(kind, day)) for kind in ("analytics", "feedback")
        }
    return dict(sorted(hashes.items()))


class Reports(PipelineTask):
    """Every report of a report set (`params/*.yaml`) as of one day, into `reports/<day>/`."""

    date = luigi.DateParameter()
    report_set = luigi.Parameter(description="a params/*.yaml report set; its as_of is replaced")
    first = luigi.DateParameter()
    last = luigi.DateParameter()
    snapshot_date = luigi.DateParameter()

    def requires(self) -> Rollups:
        return Rollups(first=self.first, last=self.last, snapshot_date=self.snapshot_date)

    def stamp_path(self) -> Path:
        name = Path(self.report_set).stem
        return current().reports_out / self.date.isoformat() / f".pipeline-{name}.json"

    def inputs(self) -> dict[str, Any]:
        """What the reports are made from: the set, its notebooks, the code and the data."""
        report_set = _report_set(self.report_set)
        period = resolve_period(report_set.period, self.date)
        notebooks = current().notebooks
        return {
            "report_set": _file_sha(Path(self.report_set)),
            "notebooks": {n: _file_sha(notebooks / f"{n}.ipynb") for n in report_set.notebooks},
            "code": code_version(),
            "days": _day_hashes(self.first, self.last, period.start, period.end),
        }

    def fingerprint(self) -> str:
        blob = json.dumps(self.inputs(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def output(self) -> StampTarget:
        return StampTarget(self.stamp_path(), self.fingerprint)

    def execute(self) -> None:
        from govuk_kpi.reports.build import build_reports

        checks = self.checks = Checks(f"reports {Path(self.report_set).name} as of {self.date}")
        context = current()
        fingerprint = self.fingerprint()
        out_root = context.reports_out
        # The run's warm workers when it has them (`report_workers`); else the build's own.
        pool = _REPORT_SERVICE.connect() if _REPORT_SERVICE is not None else None
        try:
            result = build_reports(
                [_report_set(self.report_set).on(self.date)],  # as of this day, in memory
                url=context.database_url,
                out_root=out_root,
                notebook_dir=context.notebooks,
                jobs=context.report_jobs,
                pool=pool,
                index=False,  # the site index is Publish's, once, not every day's
            )
        finally:
            if pool is not None:
                pool.close()
        self.rows = {
            status: sum(o.status == status for o in result.outcomes)
            for status in ("built", "skipped", "failed")
        }
        checks.require(
            "every report built",
            not result.failed,
            examples(f"{o.as_of}/{o.name}: {o.error}" for o in result.failed),
        )
        names = sorted(o.name for o in result.outcomes)
        manifests = {m.report: m for m in result.manifests}
        for name in names:
            manifest = manifests.get(name)
            checks.require(f"{name} manifest ok", manifest is not None and manifest.ok, "not ok")
            for figure_name, figure in manifest.figures.items() if manifest else ():
                value = figure.value
                # The ratio itself (`site.satisfaction`), not its change on the period before.
                if figure_name.endswith("satisfaction") and isinstance(value, int | float):
                    checks.ratio_in_unit_interval(
                        "report satisfaction within 0..1", f"{name} {figure_name}", value
                    )
        self.output().write(
            {
                "fingerprint": fingerprint,
                "inputs": self.inputs(),
                "report_set": self.report_set,
                "as_of": self.date.isoformat(),
                "reports": names,
                "written_at": now(),
            }
        )


class Publish(PipelineTask):
    """The site index over every dated report set, copied to `publish_dir` when one is set."""

    first = luigi.DateParameter()
    last = luigi.DateParameter()
    report_sets = luigi.ListParameter()
    snapshot_date = luigi.DateParameter()

    def requires(self) -> list[Reports]:
        return [
            Reports(
                date=day,
                report_set=report_set,
                first=self.first,
                last=self.last,
                snapshot_date=self.snapshot_date,
            )
            for day in days_between(self.first, self.last)
            for report_set in self.report_sets
        ]

    def fingerprint(self) -> str:
        publish_dir = current().publish_dir
        parts = [r.fingerprint() for r in self.requires()] + [str(publish_dir or "")]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def output(self) -> StampTarget:
        name = f"published-{self.first}-{self.last}.json"
        return StampTarget(current().reports_out / ".pipeline" / name, self.fingerprint)

    def execute(self) -> None:
        from govuk_kpi.reports.site import write_index

        context = current()
        out_root = context.reports_out
        checks = self.checks = Checks(f"site {out_root}")
        fingerprint = self.fingerprint()
        index = write_index(out_root)
        html = index.read_text(encoding="utf-8")
        expected = [
            f"{r.date.isoformat()}/{name}.html"
            for r in self.requires()
            for name in (r.output().read() or {}).get("reports", [])
        ]
        missing = [link for link in expected if link not in html]
        checks.require("index links every report", not missing, examples(missing))
        self.rows = {"reports_linked": len(expected)}
        if context.publish_dir is not None:
            published = _publish(out_root, context.publish_dir)
            checks.require(
                "site published", (published / "index.html").is_file(), f"{published} has no index"
            )
            self.rows["published_to"] = str(published)
        self.output().write({"fingerprint": fingerprint, "written_at": now(), "links": expected})


def _publish(out_root: Path, target: Path) -> Path:
    """Copy the site to `target`, swapping the whole folder in at once."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    fresh = target.with_name(f".{target.name}.{tag}.new")
    shutil.copytree(out_root, fresh, ignore=shutil.ignore_patterns(".pipeline", ".pipeline-*"))
    old = target.with_name(f".{target.name}.{tag}.old")
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target


class DailyRun(luigi.WrapperTask):
    """Everything for the days `first`..`last`: loads, rollups, and reports when sets are given."""

    task_namespace = NAMESPACE
    first = luigi.DateParameter()
    last = luigi.DateParameter()
    report_sets = luigi.ListParameter(default=())
    snapshot_date = luigi.DateParameter()

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # typed: luigi's is not
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call, unused-ignore]

    def requires(self) -> luigi.Task:
        if self.report_sets:
            return Publish(
                first=self.first,
                last=self.last,
                report_sets=self.report_sets,
                snapshot_date=self.snapshot_date,
            )
        return Rollups(first=self.first, last=self.last, snapshot_date=self.snapshot_date)


# -- what a run shares between its tasks -----------------------------------------------------------

# The report workers of this process's run, and of the task processes luigi forks from it.
_REPORT_SERVICE: Any = None

# Imported by tasks when they run. With several workers luigi forks a process per task, and a
# module a task imports there is imported again by every task: the run imports them first
# (`prepared_forks`).
TASK_MODULES = (
    "govuk_kpi.sources.daily_csv",
    "govuk_kpi.warehouse.batch",
    "govuk_kpi.warehouse.load_daily",
    "govuk_kpi.warehouse.load_files",
    "govuk_kpi.warehouse.rollups",
    "govuk_kpi.sources.http.run",
    "govuk_kpi.kpi",
    "govuk_kpi.reports.build",
    "govuk_kpi.reports.params",
    "govuk_kpi.reports.site",
)


@contextmanager
def prepared_forks() -> Iterator[None]:
    """While luigi forks a process per task: what the tasks import when they run is imported
    once, here, the code version worked out once (else a `git` call in every task), and what
    this process holds is frozen (`gc.freeze`), so that a garbage collection in a task does
    not visit, and so copy, the whole heap it shares with this process."""
    import gc
    import importlib

    for name in TASK_MODULES:
        importlib.import_module(name)
    code_version()
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def reports_pending(root: luigi.Task) -> bool:
    """Whether any `Reports` task below `root` has reports to build."""
    return any(isinstance(t, Reports) and not is_complete(t) for t in walk(root))


@contextmanager
def report_workers(workers: int) -> Iterator[None]:
    """While open, every `Reports` task of this process, and of the processes forked from it,
    builds on one pool of `workers` report workers with warm kernels
    (`govuk_kpi.reports.service`), kept from one day's reports to the next. The workers and
    their kernels end when it closes, or with this process however it ends."""
    global _REPORT_SERVICE
    from govuk_kpi.reports.service import ReportService

    service = ReportService(workers).start()
    _REPORT_SERVICE = service
    try:
        yield
    finally:
        _REPORT_SERVICE = None
        service.close()


def walk(task: luigi.Task) -> Iterator[luigi.Task]:
    """A task and everything below it, each once."""
    seen: set[str] = set()
    todo = [task]
    while todo:
        task = todo.pop()
        if task.task_id in seen:
            continue
        seen.add(task.task_id)
        yield task
        todo.extend(requirements(task))
