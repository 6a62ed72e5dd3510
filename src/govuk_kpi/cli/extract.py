"""`govuk-kpi extract`: GOV.UK's public APIs (and GA4 in BigQuery) into raw, dated, read-only
snapshots (docs/extract.md)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from govuk_kpi.cli.group import main
from govuk_kpi.cli.options import DAY, SNAPSHOT_OPTIONS, http_options, options


@main.group()
def extract() -> None:
    """Fetch GOV.UK's APIs into a raw snapshot (data/snapshots/<YYYY-MM-DD>/<kind>/)."""


_HTTP = http_options()
_extract_options = options(
    *_HTTP[:2],  # the site, and how fast to ask it
    click.option("--concurrency", type=int, default=4, show_default=True,
                 help="Requests in flight at once."),
    click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds."),
    click.option("--retries", type=int, default=4, show_default=True),
    *_HTTP[2:],  # its cache
    *SNAPSHOT_OPTIONS,
)  # fmt: skip
"""What every extract over HTTP takes: the site, how hard to ask it, and where to write."""


def _run_extract(kind: str, settings: dict[str, Any], **what: Any) -> None:
    from govuk_kpi.sources.http.client import HttpSettings
    from govuk_kpi.sources.http.run import run_extract

    http = HttpSettings(
        base_url=settings["base_url"],
        rate=settings["rate"],
        concurrency=settings["concurrency"],
        timeout=settings["timeout"],
        retries=settings["retries"],
        cache_dir=None if settings["no_cache"] else settings["cache_dir"],
    )
    report = run_extract(kind, http, root=settings["root"], snapshot=settings["snapshot"], **what)
    click.echo(report.summary())
    for failure in report.failed:
        click.echo(f"not fetched: {failure['url']}: {failure.get('error')}", err=True)
    if report.failed:
        sys.exit(3)


@extract.command("organisations")
@_extract_options
def extract_organisations_command(**settings: Any) -> None:
    """Every page of /api/organisations (`load organisations <snapshot>/organisations`)."""
    _run_extract("organisations", settings)


@extract.command("search")
@click.option("--organisation", "organisations", multiple=True, help="An organisation slug.")
@click.option("--document-type", "document_types", multiple=True, help="A document type.")
@_extract_options
def extract_search_command(
    organisations: tuple[str, ...], document_types: tuple[str, ...], **settings: Any
) -> None:
    """Page through /api/search.json for organisations or document types (default: all)."""
    _run_extract("search", settings, organisations=organisations, document_types=document_types)


@extract.command("content")
@click.argument("base_paths", nargs=-1)
@click.option("--from-search", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="A search snapshot folder whose listed pages to fetch.")  # fmt: skip
@click.option("--paths-file", type=click.File("r", encoding="utf-8"), default=None,
              help="A file of base paths, one a line.")  # fmt: skip
@_extract_options
def extract_content_command(
    base_paths: tuple[str, ...],
    from_search: tuple[Path, ...],
    paths_file: Any,
    **settings: Any,
) -> None:
    """Fetch /api/content<base_path> for each page (load with `load content <snapshot>/content`).

    Exit status 3 when some pages could not be fetched (listed on stderr and in snapshot.json).
    """
    paths = list(base_paths)
    if paths_file is not None:
        paths += [line.strip() for line in paths_file if line.strip()]
    if not paths and not from_search:
        raise click.UsageError("give base paths, --paths-file or --from-search")
    _run_extract("content", settings, base_paths=paths, from_search=from_search)


@extract.command("ga4")
@click.option(
    "--date", "day", type=DAY, required=True, help="The day of events to aggregate (YYYY-MM-DD)."
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
@options(*SNAPSHOT_OPTIONS)
@click.option(
    "--dry-run", is_flag=True, help="Print the SQL and the bytes BigQuery would scan; run nothing."
)
def extract_ga4_command(
    day: datetime, root: Path, snapshot: Path | None, dry_run: bool, **settings: Any
) -> None:
    """Aggregate a day of GA4 events in BigQuery into page rows
    (`<snapshot>/ga4/page-rows-YYYYMMDD.parquet`; load with `load ga4 <that file or folder>`).

    Needs Google credentials (`gcloud auth application-default login`), docs/extract.md.
    """
    from govuk_kpi.sources.ga4_bigquery import BigQuerySettings, dry_run_ga4, extract_ga4

    bigquery = BigQuerySettings(
        **{key: value for key, value in settings.items() if value is not None}
    )
    if dry_run:
        plan = dry_run_ga4(day.date(), bigquery)
        for purpose, sql, scanned in plan.queries:
            click.echo(f"-- {purpose}: would process {scanned:,} bytes\n{sql.strip()}\n")
        click.echo(f"{plan.table}: would process {plan.total_bytes:,} bytes in all (dry run)")
        return
    result = extract_ga4(day.date(), bigquery, root=root, snapshot=snapshot)
    click.echo(result.summary())
