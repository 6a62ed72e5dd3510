"""`govuk-kpi run`: the daily pipeline as a luigi task graph (docs/operations.md)."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from govuk_kpi.cli.group import database_url, main
from govuk_kpi.cli.options import DAY, http_options, options

_run_options = options(
    click.option("--date", "day", type=DAY, default=None,
                 help="The day to run for (default yesterday); the day before it is looked at "
                 "again."),
    click.option("--from", "first", type=DAY, default=None,
                 help="Backfill from this day (with --to)."),
    click.option("--to", "last", type=DAY, default=None, help="Backfill to this day, included."),
    click.option("--params", "report_sets", multiple=True, type=click.Path(path_type=Path),
                 help="A report set to build (repeatable; default params/*.yaml)."),
    click.option("--no-reports", is_flag=True, help="Load and roll up only."),
    click.option("--workers", type=int, default=1, show_default=True, help="Tasks run at once."),
    click.option("--scheduler-url", default=None,
                 help="A central luigid (e.g. http://127.0.0.1:8082); default: a local "
                 "scheduler."),
    click.option("--landing", type=click.Path(path_type=Path), default=Path("data/landing"),
                 show_default=True, help="Where the daily exports arrive."),
    click.option("--snapshots", type=click.Path(path_type=Path), default=Path("data/snapshots"),
                 show_default=True, help="Where extract snapshots go."),
    click.option("--reports-out", type=click.Path(path_type=Path), default=Path("reports"),
                 show_default=True, help="The report site's folder."),
    click.option("--publish-dir", type=click.Path(path_type=Path), default=None,
                 help="Copy the finished site here (e.g. a web server's root)."),
    click.option("--work-dir", type=click.Path(path_type=Path), default=Path("data/pipeline"),
                 show_default=True, help="Pipeline state: events.jsonl."),
    *http_options("Extract: "),
    click.option("--organisation", "organisations", multiple=True,
                 help="Extract only this organisation's pages (repeatable; default all)."),
    click.option("--snapshot-date", type=DAY, default=None,
                 help="File the extract snapshots under this day (default today, UTC)."),
    click.option("--report-jobs", type=int, default=2, show_default=True,
                 help="Reports built at once within one task."),
    click.option("--ga4-route", type=click.Choice(["local", "bigquery"]), default="local",
                 show_default=True,
                 help="A day's analytics from the landing folder, or from GA4's events in "
                 "BigQuery (`extract ga4`'s settings: GOV.UK's dataset names; "
                 "GOVUK_KPI_BIGQUERY_ENDPOINT)."),
    click.option("--bigquery-flattened", is_flag=True,
                 help="BigQuery: GOV.UK's flattened table."),
    click.option("--quiet", "-q", is_flag=True, help="No JSON event lines on stderr."),
)  # fmt: skip


@main.command("run")
@_run_options
@click.pass_context
def run_command(
    ctx: click.Context,
    day: datetime | None,
    first: datetime | None,
    last: datetime | None,
    report_sets: tuple[Path, ...],
    no_reports: bool,
    publish_dir: Path | None,
    organisations: tuple[str, ...],
    cache_dir: Path,
    no_cache: bool,
    snapshot_date: datetime | None,
    quiet: bool,
    **settings: Any,
) -> None:
    """Run the pipeline: extract, load, roll up, build reports, publish the site.

    Without dates: the daily run for yesterday, and the day before it again (analytics arrive
    late). Finished work is not redone; after a failure only what is left runs. Exit status 1
    when a task failed or an input is missing.
    """
    from govuk_kpi.pipeline import run_pipeline

    first_day, last_day = _days(day, first, last)
    sets = [] if no_reports else (list(report_sets) or sorted(Path("params").glob("*.yaml")))
    if not quiet:
        _log_events()
    result = run_pipeline(
        first_day,
        last_day,
        report_sets=sets,
        snapshot_date=snapshot_date.date() if snapshot_date else None,
        database_url=database_url(ctx) or "",
        publish_dir=publish_dir or "",
        search_organisations=",".join(organisations),
        cache_dir="" if no_cache else cache_dir,
        **settings,  # workers, scheduler_url, landing, snapshots, base_url, rate, ...
    )
    if result.ok:
        click.echo(f"run {first_day} to {last_day}: {len(result.ran)} tasks ran; nothing failed")
        return
    click.echo(result.summary, err=True)
    for event in result.failures:
        click.echo(f"failed: {event['task_id']}: {event.get('error')}", err=True)
    click.echo(f"run {first_day} to {last_day}: {result.status.lower()}", err=True)
    sys.exit(1)


def _days(day: datetime | None, first: datetime | None, last: datetime | None) -> tuple[date, date]:
    """The days to run for: `--date` (default yesterday) and the day before, or `--from`..`--to`."""
    from govuk_kpi.pipeline import daily_range

    if (first is None) != (last is None):
        raise click.UsageError("give both --from and --to")
    if first is not None and day is not None:
        raise click.UsageError("give --date or --from/--to, not both")
    if first is None or last is None:
        return daily_range(day.date() if day else None)
    return first.date(), last.date()


def _log_events() -> None:
    """The pipeline's JSON event lines, on stderr."""
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    events = logging.getLogger("govuk_kpi.pipeline")
    events.addHandler(handler)
    events.setLevel(logging.INFO)
    events.propagate = False
