"""Looking at the warehouse: `govuk-kpi health`, `batches` and `rejects`."""

from __future__ import annotations

import sys
from datetime import date, datetime
from typing import Any, cast

import click

from govuk_kpi.cli.group import engine, main
from govuk_kpi.cli.options import DAY

# A content load's outcome per item, shown together as `items`.
ITEM_COUNTS = ("rows_new", "rows_changed", "rows_unchanged", "rows_collapsed")


@main.command()
@click.option(
    "--today", type=DAY, default=None, help="Check as if today were this day (default: today)."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the verdict as /healthcheck/ready's body."
)
@click.pass_context
def health(ctx: click.Context, today: datetime | None, as_json: bool) -> None:
    """The verdict of /healthcheck/ready: exit 1, with the reasons, when it is critical
    (the database does not answer, an old schema, yesterday's facts missing or all zero,
    stale rollups); warnings are printed but exit 0."""
    import json

    from govuk_kpi.warehouse.health import check_health

    verdict = check_health(engine(ctx), today.date() if today else date.today())
    if as_json:
        click.echo(json.dumps(verdict.as_dict(), indent=2))
    else:
        click.echo(verdict.summary(), err=not verdict.ok)
    sys.exit(0 if verdict.ok else 1)


@main.command()
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--batch", "batch_id", type=int, default=None, help="Every day this batch replaced.")
@click.pass_context
def batches(ctx: click.Context, limit: int, batch_id: int | None) -> None:
    """List the newest load batches, with the days each daily load replaced.

    Each daily load says per day how many of its source's rows it deleted and added
    (`2026-10-30 -195 +200`); `--batch N` lists every day of one batch.
    """
    from govuk_kpi.kpi import Warehouse
    from govuk_kpi.warehouse.calendar import key_to_date

    warehouse = Warehouse(engine=engine(ctx))
    if batch_id is not None:
        days = warehouse.batch_days([batch_id])
        if not len(days):
            click.echo(f"batch {batch_id} replaced no day")
            return
        days.insert(1, "date", days.pop("date_key").map(lambda k: key_to_date(int(k))))
        click.echo(days.to_string(index=False))
        return
    frame = warehouse.batches(limit)
    if not len(frame):
        click.echo("no load batches yet")
        return
    days = warehouse.batch_days(frame["batch_id"].tolist())
    replaced = {
        int(cast(int, batch)): _days_replaced(group)
        for batch, group in days.groupby("batch_id", sort=False)
    }
    frame["days_replaced"] = frame["batch_id"].map(lambda b: replaced.get(int(b), ""))
    frame["items"] = frame.apply(_items_outcome, axis=1)
    frame["sha256"] = frame["sha256"].str[:12]
    frame["message"] = frame["message"].fillna("").str.slice(0, 80)
    # The batch, its days, its row counts (the content items' outcomes as `items`), then where
    # it came from.
    counts = [c for c in frame.columns if c.startswith("rows_") and c not in ITEM_COUNTS]
    columns = [
        *("batch_id", "source", "status", "date_from", "date_to"),
        *counts,
        *("items", "days_replaced", "sha256", "uri", "message"),
    ]
    click.echo(frame[columns].to_string(index=False))


def _items_outcome(batch: Any) -> str:
    """What a content load did with its items (`3 new, 1 changed, 275 unchanged, 2 collapsed`)."""
    from govuk_kpi.warehouse.batch import ItemOutcomes

    counts = [batch[name] for name in ITEM_COUNTS]
    if any(c is None or c != c for c in counts):  # NULL (NaN in a frame): not a content load
        return ""
    return ItemOutcomes(*(int(c) for c in counts)).describe()


def _days_replaced(group: Any) -> str:
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
def rejects(ctx: click.Context, batch_id: int | None, limit: int) -> None:
    """List rejected rows with their reasons."""
    from govuk_kpi.kpi.provenance import rejects as newest_rejects

    with engine(ctx).connect() as connection:
        rows = newest_rejects(connection, batch_id, limit)
    for row in rows:
        where = f"{row.source_file}, row {row.row_number}" if row.row_number else row.source_file
        click.echo(f"batch {row.batch_id}: {where}: {row.reason}")
    if not rows:
        click.echo("no rejected rows")
