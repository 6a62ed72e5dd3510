"""`govuk-kpi docs`: documentation rendered from code."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from govuk_kpi.cli.group import main
from govuk_kpi.core.metrics import render_markdown


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
