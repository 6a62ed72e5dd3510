"""The one entry point: `govuk-kpi ...`. Errors are one clear line, never a traceback."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import OperationalError
from tqdm import tqdm

from govuk_kpi.core.errors import GovukKpiError
from govuk_kpi.core.metrics import render_markdown
from govuk_kpi.core.text import one_line


def _one_line_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the project's errors into `error: ...` on stderr and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (GovukKpiError, LookupError) as exc:
            message = exc.args[0] if isinstance(exc, LookupError) and exc.args else exc
            click.echo(f"error: {one_line(str(message))}", err=True)
            sys.exit(1)
        except OperationalError as exc:
            # The database is unreachable or gave up (down, wrong socket, disk full): the
            # driver's own first line says which; whatever was being written rolled back.
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            click.echo(f"error: the warehouse database failed: {reason}", err=True)
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    envvar="GOVUK_KPI_DATABASE_URL",
    default=None,
    help="SQLAlchemy URL of the warehouse (default: sqlite:///warehouse.db).",
)
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """govuk-kpi: a data warehouse of facts about GOV.UK pages over time."""
    ctx.obj = {"url": database_url}


def _engine(ctx: click.Context):
    from govuk_kpi.warehouse.db import get_engine

    return get_engine(ctx.obj["url"])


@main.group()
def db() -> None:
    """The warehouse schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_context
@_one_line_errors
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Create or migrate the schema to REVISION."""
    from govuk_kpi.warehouse.db import current_revision, upgrade

    upgrade(ctx.obj["url"], revision)
    click.echo(f"schema at revision {current_revision(_engine(ctx))}")


class IsoDateTime(click.ParamType):
    """An ISO 8601 moment, stored as UTC: `2026-10-31T06:00`, with seconds, `Z` or an offset.

    A moment without an offset is taken as UTC, as snapshot times are.
    """

    name = "ISO-8601"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(value.strip())
            if moment.tzinfo is None:
                return moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC)
        except (ValueError, OverflowError):
            self.fail(
                f"{value!r} is not an ISO 8601 date and time in UTC's range "
                "(such as 2026-10-31T06:00, 2026-10-31T06:00:00Z or 2026-10-31T07:00+01:00)",
                param,
                ctx,
            )


@main.command()
@click.argument(
    "kind",
    type=click.Choice(["content", "organisations", "analytics", "feedback", "ga4", "ga-pages"]),
)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--observed-at",
    type=IsoDateTime(),
    default=None,
    help="content: when this state of the content was seen, ISO 8601 (2026-10-31T06:00; "
    "seconds, Z or an offset allowed; no offset is UTC; default: now).",
)
@click.option(
    "--replace",
    nargs=2,
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    metavar="START END",
    help="Daily kinds: replace every day from START to END, days the file does not hold "
    "included (their figures are deleted). Without it a load replaces only the days it holds.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Daily kinds: print per day the rows the load would delete and add; write nothing.",
)
@click.pass_context
@_one_line_errors
def load(
    ctx: click.Context,
    kind: str,
    paths: tuple[Path, ...],
    observed_at: datetime | None,
    replace: tuple[datetime, datetime] | None,
    dry_run: bool,
) -> None:
    """Load files of KIND, each as one all-or-nothing batch.

    A daily file (analytics, feedback, ga4, ga-pages) replaces its source's figures for
    exactly the days it holds, each wholly, and no other day (docs/formats.md).

    \b
    content        Content API JSON: a file, a .jsonl file or a folder of them
    organisations  an Organisations API response (or a folder of its pages)
    analytics      the daily analytics CSV (docs/formats.md)
    feedback       the daily feedback CSV (docs/formats.md)
    ga4            a GA4 BigQuery export (events_YYYYMMDD: JSON lines, Parquet), or the
                   page rows `extract ga4` wrote (a snapshot folder or its .parquet)
    ga-pages       a "Pages" report exported as CSV from Google Analytics (docs/extract.md)
    """
    from govuk_kpi.core.errors import ConfigError
    from govuk_kpi.warehouse.load_daily import Replace
    from govuk_kpi.warehouse.load_files import DAILY_KINDS, LOADERS, require_schema

    options: dict[str, Any] = {}
    if kind == "content":
        options["observed_at"] = observed_at
    if (replace or dry_run) and kind not in DAILY_KINDS:
        raise ConfigError(f"--replace and --dry-run are for daily kinds ({', '.join(DAILY_KINDS)})")
    if replace:
        if len(paths) != 1:
            raise ConfigError("--replace takes exactly one file: the range is that file's")
        options["replace"] = Replace(replace[0].date(), replace[1].date())
    if dry_run:
        options["dry_run"] = True
    engine = _engine(ctx)
    require_schema(engine)
    rejected = 0
    for path in tqdm(paths, desc=f"load {kind}", unit="file", disable=None):
        result = LOADERS[kind](engine, path, **options)
        rejected += result.rows_rejected
        tqdm.write(result.summary())
        if result.dry_run:
            for change in result.days:
                tqdm.write(
                    f"  {change.day.isoformat()}: would delete {change.rows_deleted} rows, "
                    f"add {change.rows_added}"
                )
    if rejected:
        note = " (dry run: not kept)" if dry_run else "; see `govuk-kpi rejects`"
        click.echo(f"warning: {rejected} rows rejected{note}", err=True)


@main.command()
@click.option(
    "--full",
    is_flag=True,
    help="Recompute every rollup from the facts instead of folding in the changed days.",
)
@click.pass_context
@_one_line_errors
def rollup(ctx: click.Context, full: bool) -> None:
    """Refresh the monthly and rolling-window rollups."""
    from govuk_kpi.warehouse.load_files import require_schema
    from govuk_kpi.warehouse.rollups import refresh_rollups

    engine = _engine(ctx)
    require_schema(engine)
    click.echo(refresh_rollups(engine, full=full).summary())


class _SampleProgress:
    """How far a sample build is, on stderr (stdout keeps only the summary scripts read).

    A bar on a terminal; elsewhere (a pipe, a log, CI) a plain line at each step and at each
    tenth of the days, since a bar there is either hidden or a wall of carriage returns.
    """

    def __init__(self, days: int) -> None:
        self.days = days
        self.bar = tqdm(total=days, desc="sample", unit="day", disable=not sys.stderr.isatty())
        self.said: tuple[str, int] | None = None

    def __enter__(self) -> _SampleProgress:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.bar.close()

    def __call__(self, step: str, done: int, _total: int) -> None:
        if not self.bar.disable:
            self.bar.set_postfix_str(step)
            self.bar.update(done - self.bar.n)
            return
        mark = (step, done * 10 // max(1, self.days))
        if mark != self.said:
            self.said = mark
            click.echo(f"sample: {step}, {done} of {self.days} days", err=True)


@main.command()
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Last day of the generated usage (default 2026-10-31).",
)
@click.option("--seed", type=int, default=None, help="Random seed of the generated usage.")
@click.option("--days", type=int, default=None, help="Fewer days than 13 months (for trials).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("data/generated/sample"),
    show_default=True,
    help="Where the generated usage files go.",
)
@click.option(
    "--pages",
    type=click.IntRange(min=1),
    default=None,
    help="Instead, generate this many synthetic pages (up to GOV.UK's size, 550000) straight "
    "into an empty warehouse, with daily facts for every page and day; no files.",
)
@click.pass_context
@_one_line_errors
def sample(
    ctx: click.Context,
    as_of: datetime | None,
    seed: int | None,
    days: int | None,
    out: Path,
    pages: int | None,
) -> None:
    """Build the sample warehouse: real GOV.UK content, generated usage figures.

    With --pages: a warehouse of that many generated pages over the real organisations.
    """
    from govuk_kpi.sample.build import GENERATED_NOTICE, build_sample
    from govuk_kpi.sample.generate import DEFAULT_AS_OF, DEFAULT_SEED

    if pages is not None:
        from govuk_kpi.sample.generate import date_range
        from govuk_kpi.sample.scale import build_scale

        last = as_of.date() if as_of else DEFAULT_AS_OF
        if days is not None and days < 1:
            raise click.BadParameter("must be at least 1", param_hint="--days")
        total = (last - date_range(last, days)[0]).days + 1
        with _SampleProgress(total) as progress:
            scaled = build_scale(
                ctx.obj["url"],
                pages,
                total,
                DEFAULT_SEED if seed is None else seed,
                last,
                progress=progress,
            )
        click.echo(scaled.summary())
        if scaled.rollup:
            click.echo(scaled.rollup.summary())
        click.echo(GENERATED_NOTICE)
        return
    with tqdm(desc="sample", unit="step", disable=None) as bar:

        def step(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update()

        build = build_sample(
            ctx.obj["url"],
            out_dir=out,
            as_of=as_of.date() if as_of else DEFAULT_AS_OF,
            seed=DEFAULT_SEED if seed is None else seed,
            days=days,
            progress=step,
        )
    loaded = [b for b in build.batches if b.skipped_as is None]
    click.echo(
        f"sample warehouse: {len(loaded)} batches loaded, "
        f"{len(build.batches) - len(loaded)} unchanged; "
        f"{build.manifest.start} to {build.manifest.as_of}"
    )
    if build.rollup:
        click.echo(build.rollup.summary())
    click.echo(GENERATED_NOTICE)


@main.command()
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Check as if today were this day (default: today).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the verdict as /healthcheck/ready's body."
)
@click.pass_context
@_one_line_errors
def health(ctx: click.Context, today: datetime | None, as_json: bool) -> None:
    """The verdict of /healthcheck/ready: exit 1, with the reasons, when it is critical
    (the database does not answer, an old schema, yesterday's facts missing or all zero,
    stale rollups); warnings are printed but exit 0."""
    import json

    from govuk_kpi.warehouse.health import check_health

    verdict = check_health(_engine(ctx), today.date() if today else date.today())
    if as_json:
        click.echo(json.dumps(verdict.as_dict(), indent=2))
    else:
        click.echo(verdict.summary(), err=not verdict.ok)
    sys.exit(0 if verdict.ok else 1)


@main.command()
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--batch", "batch_id", type=int, default=None, help="Every day this batch replaced.")
@click.pass_context
@_one_line_errors
def batches(ctx: click.Context, limit: int, batch_id: int | None) -> None:
    """List the newest load batches, with the days each daily load replaced.

    Each daily load says per day how many of its source's rows it deleted and added
    (`2026-10-30 -195 +200`); `--batch N` lists every day of one batch.
    """
    from govuk_kpi.kpi import Warehouse

    warehouse = Warehouse(engine=_engine(ctx))
    if batch_id is not None:
        days = warehouse.batch_days([batch_id])
        if not len(days):
            click.echo(f"batch {batch_id} replaced no day")
            return
        from govuk_kpi.warehouse.calendar import key_to_date

        days.insert(1, "date", days.pop("date_key").map(lambda k: key_to_date(int(k))))
        click.echo(days.to_string(index=False))
        return
    frame = warehouse.batches(limit)
    if not len(frame):
        click.echo("no load batches yet")
        return
    days = warehouse.batch_days(frame["batch_id"].tolist())
    replaced = {
        int(batch): _days_replaced(group) for batch, group in days.groupby("batch_id", sort=False)
    }
    frame["days_replaced"] = frame["batch_id"].map(lambda b: replaced.get(int(b), ""))
    frame["items"] = frame.apply(_items_outcome, axis=1)
    frame["sha256"] = frame["sha256"].str[:12]
    frame["message"] = frame["message"].fillna("").str.slice(0, 80)
    columns = [
        "batch_id",
        "source",
        "status",
        "date_from",
        "date_to",
        "rows_read",
        "rows_loaded",
        "rows_rejected",
        "rows_unmatched",
        "items",
        "days_replaced",
        "sha256",
        "uri",
        "message",
    ]
    click.echo(frame[columns].to_string(index=False))


def _items_outcome(batch) -> str:
    """What a content load did with its items (`3 new, 1 changed, 275 unchanged, 2 collapsed`)."""
    from govuk_kpi.warehouse.batch import ItemOutcomes

    counts = [batch[f"rows_{n}"] for n in ("new", "changed", "unchanged", "collapsed")]
    if any(c is None or c != c for c in counts):  # NULL (NaN in a frame): not a content load
        return ""
    return ItemOutcomes(*(int(c) for c in counts)).describe()


def _days_replaced(group) -> str:
    from govuk_kpi.warehouse.batch import DayChange, describe_days
    from govuk_kpi.warehouse.calendar import key_to_date

    return describe_days(
        [
            DayChange(key_to_date(int(k)), int(d), int(a))
            for k, d, a in zip(
                group["date_key"], group["rows_deleted"], group["rows_added"], strict=True
            )
        ]
    )


@main.command()
@click.option("--batch", "batch_id", type=int, default=None, help="Only this batch's rejects.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.pass_context
@_one_line_errors
def rejects(ctx: click.Context, batch_id: int | None, limit: int) -> None:
    """List rejected rows with their reasons."""
    from govuk_kpi.kpi.provenance import rejects as newest_rejects

    with _engine(ctx).connect() as connection:
        rows = newest_rejects(connection, batch_id, limit)
    for row in rows:
        where = f"{row.source_file}, row {row.row_number}" if row.row_number else row.source_file
        click.echo(f"batch {row.batch_id}: {where}: {row.reason}")
    if not rows:
        click.echo("no rejected rows")


@main.group()
def docs() -> None:
    """Documentation rendered from code."""


@docs.command("metrics")
@click.option(
    "--output", type=click.Path(path_type=Path), default=Path("docs/metrics.md"), show_default=True
)
@click.option("--check", is_flag=True, help="Exit non-zero if the file is out of date.")
def docs_metrics(output: Path, check: bool) -> None:
    """Render the metrics glossary to docs/metrics.md."""
    text = render_markdown()
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            click.echo(f"{output} is out of date: run `govuk-kpi docs metrics`", err=True)
            sys.exit(1)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8000, show_default=True, help="Port to listen on.")
@click.option("--workers", type=int, default=1, show_default=True, help="Server processes.")
@click.option(
    "--public-url",
    envvar="GOVUK_KPI_PUBLIC_URL",
    default=None,
    help="Scheme and host users reach the service at, e.g. https://data.example.gov.uk: "
    "every absolute link starts with it.",
)
@click.option(
    "--forwarded-allow-ips",
    envvar="GOVUK_KPI_FORWARDED_ALLOW_IPS",
    default=None,
    help="Proxies whose Forwarded / X-Forwarded-* headers are believed: comma-separated "
    "addresses or networks, or * (default: none).",
)
@click.pass_context
@_one_line_errors
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    workers: int,
    public_url: str | None,
    forwarded_allow_ips: str | None,
) -> None:
    """Serve the read-only REST API (/api/v1) and OData feed (/odata) with uvicorn."""
    import os

    import uvicorn

    from govuk_kpi.api import create_app
    from govuk_kpi.api.proxy import (
        FORWARDED_ALLOW_IPS_VARIABLE,
        PUBLIC_URL_VARIABLE,
        public_origin,
    )

    if public_url:
        public_origin(public_url)  # refuse a bad URL here, in one line, not in each worker
    # The app reads forwarded headers itself (api.proxy), from the proxies given here only;
    # uvicorn's own reading, which trusts 127.0.0.1 by default, stays off.
    if workers > 1:
        # Each worker process builds its own app from the environment.
        for variable, value in (
            ("GOVUK_KPI_DATABASE_URL", ctx.obj["url"]),
            (PUBLIC_URL_VARIABLE, public_url),
            (FORWARDED_ALLOW_IPS_VARIABLE, forwarded_allow_ips),
        ):
            if value:
                os.environ[variable] = value
        uvicorn.run(
            "govuk_kpi.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=False,
        )
        return
    app = create_app(ctx.obj["url"], public_url=public_url, forwarded_allow_ips=forwarded_allow_ips)
    uvicorn.run(app, host=host, port=port, proxy_headers=False)


# -- extract: GOV.UK's public APIs into raw, dated, read-only snapshots (docs/extract.md) -----


@main.group()
def extract() -> None:
    """Fetch GOV.UK's APIs into a raw snapshot (data/snapshots/<YYYY-MM-DD>/<kind>/)."""


def _extract_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--base-url", envvar="GOVUK_KPI_BASE_URL", default="https://www.gov.uk",
                     show_default=True, help="Site to extract from."),
        click.option("--rate", type=float, default=10.0, show_default=True,
                     help="Requests per second, at most (retries and redirects count)."),
        click.option("--concurrency", type=int, default=4, show_default=True,
                     help="Requests in flight at once."),
        click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds."),
        click.option("--retries", type=int, default=4, show_default=True),
        click.option("--cache-dir", type=click.Path(path_type=Path),
                     default=Path("data/cache/http"), show_default=True,
                     help="ETag/Last-Modified cache for conditional requests."),
        click.option("--no-cache", is_flag=True, help="Send no conditional requests."),
        click.option("--snapshots", "root", type=click.Path(path_type=Path),
                     default=Path("data/snapshots"), show_default=True,
                     help="Where dated snapshot folders go."),
        click.option("--snapshot", type=click.Path(path_type=Path), default=None,
                     help="Write into this snapshot folder instead of the dated one."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def _run_extract(kind: str, options: dict[str, Any], **what: Any) -> None:
    from govuk_kpi.sources.http.client import HttpSettings
    from govuk_kpi.sources.http.run import run_extract

    settings = HttpSettings(
        base_url=options["base_url"],
        rate=options["rate"],
        concurrency=options["concurrency"],
        timeout=options["timeout"],
        retries=options["retries"],
        cache_dir=None if options["no_cache"] else options["cache_dir"],
    )
    report = run_extract(kind, settings, root=options["root"], snapshot=options["snapshot"], **what)
    click.echo(report.summary())
    for failure in report.failed:
        click.echo(f"not fetched: {failure['url']}: {failure.get('error')}", err=True)
    if report.failed:
        sys.exit(3)


@extract.command("organisations")
@_extract_options
@_one_line_errors
def extract_organisations_command(**options: Any) -> None:
    """Every page of /api/organisations (`load organisations <snapshot>/organisations`)."""
    _run_extract("organisations", options)


@extract.command("search")
@click.option("--organisation", "organisations", multiple=True, help="An organisation slug.")
@click.option("--document-type", "document_types", multiple=True, help="A document type.")
@_extract_options
@_one_line_errors
def extract_search_command(
    organisations: tuple[str, ...], document_types: tuple[str, ...], **options: Any
) -> None:
    """Page through /api/search.json for organisations or document types (default: all)."""
    _run_extract("search", options, organisations=organisations, document_types=document_types)


@extract.command("content")
@click.argument("base_paths", nargs=-1)
@click.option("--from-search", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="A search snapshot folder whose listed pages to fetch.")  # fmt: skip
@click.option("--paths-file", type=click.File("r", encoding="utf-8"), default=None,
              help="A file of base paths, one a line.")  # fmt: skip
@_extract_options
@_one_line_errors
def extract_content_command(
    base_paths: tuple[str, ...],
    from_search: tuple[Path, ...],
    paths_file: Any,
    **options: Any,
) -> None:
    """Fetch /api/content<base_path> for each page (load with `load content <snapshot>/content`).

    Exit status 3 when some pages could not be fetched (listed on stderr and in snapshot.json).
    """
    paths = list(base_paths)
    if paths_file is not None:
        paths += [line.strip() for line in paths_file if line.strip()]
    if not paths and not from_search:
        raise click.UsageError("give base paths, --paths-file or --from-search")
    _run_extract("content", options, base_paths=paths, from_search=from_search)


@extract.command("ga4")
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="The day of events to aggregate (YYYY-MM-DD).",
)
@click.option("--project", default=None, help="Project of the GA4 tables (default: GOV.UK's).")
@click.option("--dataset", default=None, help="Dataset (default: GOV.UK's, by the table kind).")
@click.option(
    "--table", default=None, help="Table (default: events_YYYYMMDD, or GOV.UK's flattened table)."
)
@click.option(
    "--flattened",
    is_flag=True,
    help="Read GOV.UK's flattened, date-partitioned table, not the raw export.",
)
@click.option(
    "--billing-project",
    envvar="GOVUK_KPI_BIGQUERY_BILLING_PROJECT",
    default=None,
    help="Project the query jobs run and are billed in (default: --project).",
)
@click.option("--location", default=None, help="BigQuery location (default: the table's).")
@click.option(
    "--endpoint",
    envvar="GOVUK_KPI_BIGQUERY_ENDPOINT",
    default=None,
    help="BigQuery API URL of a stand-in (anonymous credentials).",
)
@click.option(
    "--page-size",
    type=click.IntRange(min=1),
    default=50_000,
    show_default=True,
    help="Rows a page of results.",
)
@click.option(
    "--snapshots",
    "root",
    type=click.Path(path_type=Path),
    default=Path("data/snapshots"),
    show_default=True,
    help="Where dated snapshot folders go.",
)
@click.option(
    "--snapshot",
    type=click.Path(path_type=Path),
    default=None,
    help="Write into this snapshot folder instead of the dated one.",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the SQL and the bytes BigQuery would scan; run nothing."
)
@_one_line_errors
def extract_ga4_command(
    day: datetime, root: Path, snapshot: Path | None, dry_run: bool, **options: Any
) -> None:
    """Aggregate a day of GA4 events in BigQuery into page rows
    (`<snapshot>/ga4/page-rows-YYYYMMDD.parquet`; load with `load ga4 <that file or folder>`).

    Needs Google credentials (`gcloud auth application-default login`), docs/extract.md.
    """
    from govuk_kpi.sources.ga4_bigquery import BigQuerySettings, dry_run_ga4, extract_ga4

    settings = BigQuerySettings(
        **{key: value for key, value in options.items() if value is not None}
    )
    if dry_run:
        plan = dry_run_ga4(day.date(), settings)
        for purpose, sql, scanned in plan.queries:
            click.echo(f"-- {purpose}: would process {scanned:,} bytes\n{sql.strip()}\n")
        click.echo(f"{plan.table}: would process {plan.total_bytes:,} bytes in all (dry run)")
        return
    result = extract_ga4(day.date(), settings, root=root, snapshot=snapshot)
    click.echo(result.summary())


# -- reports ---------------------------------------------------------------------------
@main.group()
def reports() -> None:
    """KPI reports: build them from notebooks, serve the site."""


@reports.command("build")
@click.argument("params", nargs=-1, type=click.Path(path_type=Path))
@click.option("--jobs", "-j", type=int, default=2, show_default=True, help="Reports at once.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@click.option("--force", is_flag=True, help="Rebuild even unchanged reports.")
@click.pass_context
@_one_line_errors
def reports_build(
    ctx: click.Context, params: tuple[Path, ...], jobs: int, out: Path, force: bool
) -> None:
    """Run the report notebooks of PARAMS (default: params/*.yaml) into reports/<as-of>/."""
    from govuk_kpi.reports.build import build_reports

    files = list(params) or sorted(Path("params").glob("*.yaml"))

    def show(outcome) -> None:
        extra = f" in {outcome.seconds:.1f}s" if outcome.status == "built" else ""
        extra += f": {outcome.error}" if outcome.error else ""
        click.echo(f"{outcome.status:8} {outcome.as_of}/{outcome.name}{extra}")

    result = build_reports(
        files, url=ctx.obj["url"], out_root=out, jobs=jobs, force=force, progress=show
    )
    click.echo(result.summary(), err=bool(result.failed))
    click.echo(f"site: {out / 'index.html'}")
    sys.exit(1 if result.failed else 0)


@reports.command("index")
@click.option("--out", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
def reports_index(out: Path) -> None:
    """Rewrite reports/index.html from the manifests."""
    from govuk_kpi.reports.site import write_index

    click.echo(f"wrote {write_index(out)}")


@reports.command("serve")
@click.option("--port", type=int, default=8001, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
def reports_serve(port: int, out: Path) -> None:
    """Serve the report site on http://127.0.0.1:PORT/ (Ctrl-C stops)."""
    import contextlib
    import http.server
    from functools import partial

    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        click.echo(f"serving {out}/ on http://127.0.0.1:{server.server_address[1]}/")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


@main.command("trace")
@click.argument("report")
@click.argument("figure")
@click.option("--out", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@_one_line_errors
def trace_figure(report: str, figure: str, out: Path, as_json: bool) -> None:
    """Print a report figure's value, the SQL behind it, and its load batches and files."""
    import json

    from govuk_kpi.reports.trace import format_trace, trace

    found = trace(report, figure, out)
    click.echo(json.dumps(found, indent=2) if as_json else format_trace(found))


# -- run: the daily pipeline as a luigi task graph (docs/operations.md) -------------------
@main.command("run")
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="The day to run for (default yesterday); the day before it is looked at again.",
)
@click.option(
    "--from",
    "first",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Backfill from this day (with --to).",
)
@click.option(
    "--to",
    "last",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Backfill to this day, included.",
)
@click.option(
    "--params",
    "report_sets",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A report set to build (repeatable; default params/*.yaml).",
)
@click.option("--no-reports", is_flag=True, help="Load and roll up only.")
@click.option("--workers", type=int, default=1, show_default=True, help="Tasks run at once.")
@click.option(
    "--scheduler-url",
    default=None,
    help="A central luigid (e.g. http://127.0.0.1:8082); default: a local scheduler.",
)
@click.option(
    "--landing",
    type=click.Path(path_type=Path),
    default=Path("data/landing"),
    show_default=True,
    help="Where the daily exports arrive.",
)
@click.option(
    "--snapshots",
    type=click.Path(path_type=Path),
    default=Path("data/snapshots"),
    show_default=True,
    help="Where extract snapshots go.",
)
@click.option(
    "--reports-out",
    type=click.Path(path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="The report site's folder.",
)
@click.option(
    "--publish-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Copy the finished site here (e.g. a web server's root).",
)
@click.option(
    "--work-dir",
    type=click.Path(path_type=Path),
    default=Path("data/pipeline"),
    show_default=True,
    help="Pipeline state: events.jsonl.",
)
@click.option(
    "--base-url",
    envvar="GOVUK_KPI_BASE_URL",
    default="https://www.gov.uk",
    show_default=True,
    help="Site to extract from.",
)
@click.option(
    "--organisation",
    "organisations",
    multiple=True,
    help="Extract only this organisation's pages (repeatable; default all).",
)
@click.option(
    "--rate",
    type=float,
    default=10.0,
    show_default=True,
    help="Extract: requests per second, at most.",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    default=Path("data/cache/http"),
    show_default=True,
    help="Extract: ETag/Last-Modified cache.",
)
@click.option("--no-cache", is_flag=True, help="Extract: send no conditional requests.")
@click.option(
    "--snapshot-date",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="File the extract snapshots under this day (default today, UTC).",
)
@click.option(
    "--report-jobs",
    type=int,
    default=2,
    show_default=True,
    help="Reports built at once within one task.",
)
@click.option(
    "--ga4-route",
    type=click.Choice(["local", "bigquery"]),
    default="local",
    show_default=True,
    help="A day's analytics from the landing folder, or from GA4's events in BigQuery "
    "(`extract ga4`'s settings: GOV.UK's dataset names; GOVUK_KPI_BIGQUERY_ENDPOINT).",
)
@click.option("--bigquery-flattened", is_flag=True, help="BigQuery: GOV.UK's flattened table.")
@click.option("--quiet", "-q", is_flag=True, help="No JSON event lines on stderr.")
@click.pass_context
@_one_line_errors
def run_command(ctx: click.Context, day, first, last, report_sets, no_reports, workers,
                scheduler_url, landing, snapshots, reports_out, publish_dir, work_dir, base_url,
                organisations, rate, cache_dir, no_cache, snapshot_date, report_jobs,
                ga4_route, bigquery_flattened, quiet) -> None:  # fmt: skip
    """Run the pipeline: extract, load, roll up, build reports, publish the site.

    Without dates: the daily run for yesterday, and the day before it again (analytics arrive
    late). Finished work is not redone; after a failure only what is left runs. Exit status 1
    when a task failed or an input is missing.
    """
    import logging

    from govuk_kpi.pipeline import daily_range, run_pipeline

    if (first is None) != (last is None):
        raise click.UsageError("give both --from and --to")
    if first is not None and day is not None:
        raise click.UsageError("give --date or --from/--to, not both")
    if first is None:
        first_day, last_day = daily_range(day.date() if day else None)
    else:
        first_day, last_day = first.date(), last.date()
    sets = [] if no_reports else (list(report_sets) or sorted(Path("params").glob("*.yaml")))
    if not quiet:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        events = logging.getLogger("govuk_kpi.pipeline")
        events.addHandler(handler)
        events.setLevel(logging.INFO)
        events.propagate = False
    result = run_pipeline(
        first_day,
        last_day,
        report_sets=sets,
        workers=workers,
        scheduler_url=scheduler_url,
        snapshot_date=snapshot_date.date() if snapshot_date else None,
        database_url=ctx.obj["url"] or "",
        landing=landing,
        snapshots=snapshots,
        reports_out=reports_out,
        publish_dir=publish_dir or "",
        work_dir=work_dir,
        base_url=base_url,
        search_organisations=",".join(organisations),
        rate=rate,
        cache_dir="" if no_cache else cache_dir,
        report_jobs=report_jobs,
        ga4_route=ga4_route,
        bigquery_flattened=bigquery_flattened,
    )
    ran = len(result.ran)
    if result.ok:
        click.echo(f"run {first_day} to {last_day}: {ran} tasks ran; nothing failed")
        return
    click.echo(result.summary, err=True)
    for event in result.failures:
        click.echo(f"failed: {event['task_id']}: {event.get('error')}", err=True)
    click.echo(f"run {first_day} to {last_day}: {result.status.lower()}", err=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
