"""`govuk-kpi db`: the warehouse schema."""

from __future__ import annotations

import click

from govuk_kpi.cli.group import database_url, engine, main


@main.group()
def db() -> None:
    """The warehouse schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Create or migrate the schema to REVISION."""
    from govuk_kpi.warehouse.db import current_revision, upgrade

    upgrade(database_url(ctx), revision)
    click.echo(f"schema at revision {current_revision(engine(ctx))}")
