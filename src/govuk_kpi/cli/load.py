"""`govuk-kpi load` and `rollup`: files into the warehouse, and the rollups over them."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from govuk_kpi.cli.group import database_url, engine, main
from govuk_kpi.cli.options import DAY, IsoDateTime
from govuk_kpi.sources.registry import SOURCE_NAMES


@main.command()
@click.argument("kind", type=click.Choice(SOURCE_NAMES))
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
    type=DAY,
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
    from govuk_kpi.warehouse.db import write_lock
    from govuk_kpi.warehouse.load_files import DAILY_KINDS, LOADERS, require_schema

    options = _load_options(kind, len(paths), observed_at, replace, dry_run)
    warehouse = engine(ctx)
    require_schema(warehouse)
    rejected = 0
    # Takes turns with other writers (a pipeline's workers) on a SQLite warehouse: a daily
    # load only while it writes (reading a GA4 export can take minutes), others throughout.
    lock = partial(write_lock, database_url(ctx))
    daily = kind in DAILY_KINDS
    if daily:
        options["lock"] = lock
    for path in tqdm(paths, desc=f"load {kind}", unit="file", disable=None):
        with nullcontext() if daily else lock():
            result = LOADERS[kind](warehouse, path, **options)
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


def _load_options(
    kind: str,
    files: int,
    observed_at: datetime | None,
    replace: tuple[datetime, datetime] | None,
    dry_run: bool,
) -> dict[str, Any]:
    """The loader's keywords for the options given, refused where they do not apply."""
    from govuk_kpi.core.errors import ConfigError
    from govuk_kpi.sources.registry import DAILY_NAMES
    from govuk_kpi.warehouse.load_daily import Replace

    options: dict[str, Any] = {}
    if kind == "content":
        options["observed_at"] = observed_at
    if (replace or dry_run) and kind not in DAILY_NAMES:
        raise ConfigError(f"--replace and --dry-run are for daily kinds ({', '.join(DAILY_NAMES)})")
    if replace:
        if files != 1:
            raise ConfigError("--replace takes exactly one file: the range is that file's")
        options["replace"] = Replace(replace[0].date(), replace[1].date())
    if dry_run:
        options["dry_run"] = True
    return options


@main.command()
@click.option(
    "--full",
    is_flag=True,
    help="Recompute every rollup from the facts instead of folding in the changed days.",
)
@click.pass_context
def rollup(ctx: click.Context, full: bool) -> None:
    """Refresh the monthly and rolling-window rollups."""
    from govuk_kpi.warehouse.db import write_lock
    from govuk_kpi.warehouse.load_files import require_schema
    from govuk_kpi.warehouse.rollups import refresh_rollups

    warehouse = engine(ctx)
    require_schema(warehouse)
    with write_lock(database_url(ctx)):
        result = refresh_rollups(warehouse, full=full)
    click.echo(result.summary())
