"""`govuk-kpi reports` (build, index, serve) and `trace`: the KPI reports and their figures."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from govuk_kpi.cli.group import database_url, main

OUT = click.option(
    "--out", type=click.Path(path_type=Path), default=Path("reports"), show_default=True
)
"""The report site's folder."""


@main.group()
def reports() -> None:
    """KPI reports: build them from notebooks, serve the site."""


@reports.command("build")
@click.argument("params", nargs=-1, type=click.Path(path_type=Path))
@click.option("--jobs", "-j", type=int, default=2, show_default=True, help="Reports at once.")
@OUT
@click.option("--force", is_flag=True, help="Rebuild even unchanged reports.")
@click.pass_context
def reports_build(
    ctx: click.Context, params: tuple[Path, ...], jobs: int, out: Path, force: bool
) -> None:
    """Run the report notebooks of PARAMS (default: params/*.yaml) into reports/<as-of>/."""
    from govuk_kpi.reports.build import build_reports

    files = list(params) or sorted(Path("params").glob("*.yaml"))

    def show(outcome: Any) -> None:
        extra = f" in {outcome.seconds:.1f}s" if outcome.status == "built" else ""
        extra += f": {outcome.error}" if outcome.error else ""
        click.echo(f"{outcome.status:8} {outcome.as_of}/{outcome.name}{extra}")

    result = build_reports(
        files, url=database_url(ctx), out_root=out, jobs=jobs, force=force, progress=show
    )
    click.echo(result.summary(), err=bool(result.failed))
    click.echo(f"site: {out / 'index.html'}")
    sys.exit(1 if result.failed else 0)


@reports.command("index")
@OUT
def reports_index(out: Path) -> None:
    """Rewrite reports/index.html from the manifests."""
    from govuk_kpi.reports.site import write_index

    click.echo(f"wrote {write_index(out)}")


@reports.command("serve")
@click.option("--port", type=int, default=8001, show_default=True)
@OUT
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
@OUT
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
def trace_figure(report: str, figure: str, out: Path, as_json: bool) -> None:
    """Print a report figure's value, the SQL behind it, and its load batches and files."""
    import json

    from govuk_kpi.reports.trace import format_trace, trace

    found = trace(report, figure, out)
    click.echo(json.dumps(found, indent=2) if as_json else format_trace(found))
