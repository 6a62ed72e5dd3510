"""The `govuk-kpi` group every command hangs from, and what commands share of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from govuk_kpi.cli.errors import OneLineErrors

if TYPE_CHECKING:
    from sqlalchemy import Engine


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
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


def database_url(ctx: click.Context) -> str | None:
    """The `--database-url` given (None: `GOVUK_KPI_DATABASE_URL` or the default)."""
    url: str | None = ctx.find_root().obj["url"]
    return url


def engine(ctx: click.Context) -> Engine:
    """The warehouse's engine."""
    from govuk_kpi.warehouse.db import get_engine

    return get_engine(database_url(ctx))
