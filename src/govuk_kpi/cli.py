"""The one entry point: `govuk-kpi ...`. Errors are one clear line, never a traceback."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from govuk_kpi.core.errors import GovukKpiError
from govuk_kpi.core.metrics import render_markdown


def _one_line_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the project's errors into `error: ...` on stderr and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (GovukKpiError, LookupError) as exc:
            message = exc.args[0] if isinstance(exc, LookupError) and exc.args else exc
            click.echo(f"error: {message}", err=True)
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


@main.command()
@click.argument("kind", type=click.Choice(["content", "organisations", "analytics", "feedback"]))
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--observed-at",
    type=click.DateTime(),
    default=None,
    help="content: when this state of the content was seen (default: now).",
)
@click.pass_context
@_one_line_errors
def load(
    ctx: click.Context, kind: str, paths: tuple[Path, ...], observed_at: datetime | None
) -> None:
    """Load files of KIND, each as one all-or-nothing batch.

    \b
    content        Content API JSON: a file, a .jsonl file or a folder of them
    organisations  an Organisations API response (or a folder of its pages)
    analytics      the daily analytics CSV (docs/formats.md)
    feedback       the daily feedback CSV (docs/formats.md)
    """
    from govuk_kpi.warehouse.load_files import LOADERS, require_schema

    engine = _engine(ctx)
    require_schema(engine)
    options = {"observed_at": observed_at} if kind == "content" else {}
    rejected = 0
    for path in tqdm(paths, desc=f"load {kind}", unit="file", disable=len(paths) < 2 or None):
        result = LOADERS[kind](engine, path, **options)
        rejected += result.rows_rejected
        tqdm.write(result.summary())
    if rejected:
        click.echo(f"warning: {rejected} rows rejected; see `govuk-kpi rejects`", err=True)


@main.command()
@click.option("--full", is_flag=True, help="Recompute every month, not only those loads touched.")
@click.pass_context
@_one_line_errors
def rollup(ctx: click.Context, full: bool) -> None:
    """Refresh the monthly and rolling-window rollups."""
    from govuk_kpi.warehouse.load_files import require_schema
    from govuk_kpi.warehouse.rollups import refresh_rollups

    engine = _engine(ctx)
    require_schema(engine)
    click.echo(refresh_rollups(engine, full=full).summary())


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
@click.pass_context
@_one_line_errors
def sample(
    ctx: click.Context, as_of: datetime | None, seed: int | None, days: int | None, out: Path
) -> None:
    """Build the sample warehouse: real GOV.UK content, generated usage figures."""
    from govuk_kpi.sample.build import GENERATED_NOTICE, build_sample
    from govuk_kpi.sample.generate import DEFAULT_AS_OF, DEFAULT_SEED

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
@click.pass_context
@_one_line_errors
def health(ctx: click.Context, today: datetime | None) -> None:
    """Exit non-zero, with the reason, when yesterday's facts are missing or rollups stale."""
    from govuk_kpi.warehouse.health import check_health

    verdict = check_health(_engine(ctx), today.date() if today else date.today())
    click.echo(verdict.summary(), err=not verdict.ok)
    sys.exit(0 if verdict.ok else 1)


@main.command()
@click.option("--limit", type=int, default=20, show_default=True)
@click.pass_context
@_one_line_errors
def batches(ctx: click.Context, limit: int) -> None:
    """List the newest load batches."""
    from govuk_kpi.kpi import Warehouse

    frame = Warehouse(engine=_engine(ctx)).batches(limit)
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
        "sha256",
        "uri",
    ]
    frame["sha256"] = frame["sha256"].str[:12]
    click.echo(frame[columns].to_string(index=False) if len(frame) else "no load batches yet")


@main.command()
@click.option("--batch", "batch_id", type=int, default=None, help="Only this batch's rejects.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.pass_context
@_one_line_errors
def rejects(ctx: click.Context, batch_id: int | None, limit: int) -> None:
    """List rejected rows with their reasons."""
    from sqlalchemy import select

    from govuk_kpi.warehouse.models import LoadReject

    query = select(LoadReject).order_by(LoadReject.reject_id.desc()).limit(limit)
    if batch_id is not None:
        query = query.where(LoadReject.batch_id == batch_id)
    with _engine(ctx).connect() as connection:
        rows = connection.execute(query).all()
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


if __name__ == "__main__":
    main()
