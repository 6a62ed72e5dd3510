"""`govuk-kpi sample`: the sample warehouse, or a generated one of GOV.UK's size."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click
from tqdm import tqdm

from govuk_kpi.cli.group import database_url, main
from govuk_kpi.cli.options import DAY


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
    "--as-of", type=DAY, default=None, help="Last day of the generated usage (default 2026-10-31)."
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
@click.option("--pages", type=click.IntRange(min=1), default=None,
              help="Instead, generate this many synthetic pages (up to GOV.UK's size, 550000) "
              "straight into an empty warehouse, with daily facts for every page and day; "
              "no files.")  # fmt: skip
@click.pass_context
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

    last = as_of.date() if as_of else DEFAULT_AS_OF
    seed = DEFAULT_SEED if seed is None else seed
    if pages is not None:
        _scaled(database_url(ctx), pages, days, seed, last)
        click.echo(GENERATED_NOTICE)
        return
    with tqdm(desc="sample", unit="step", disable=None) as bar:

        def step(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update()

        build = build_sample(
            database_url(ctx), out_dir=out, as_of=last, seed=seed, days=days, progress=step
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


def _scaled(url: str | None, pages: int, days: int | None, seed: int, last: date) -> None:
    """`sample --pages`: that many generated pages straight into an empty warehouse."""
    from govuk_kpi.sample.generate import date_range
    from govuk_kpi.sample.scale import build_scale

    if days is not None and days < 1:
        raise click.BadParameter("must be at least 1", param_hint="--days")
    total = (last - date_range(last, days)[0]).days + 1
    with _SampleProgress(total) as progress:
        scaled = build_scale(url, pages, total, seed, last, progress=progress)
    click.echo(scaled.summary())
    if scaled.rollup:
        click.echo(scaled.rollup.summary())
