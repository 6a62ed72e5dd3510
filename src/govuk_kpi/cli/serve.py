"""`govuk-kpi serve`: the read-only REST API and OData feed."""

from __future__ import annotations

import click

from govuk_kpi.cli.group import database_url, main


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8000, show_default=True, help="Port to listen on.")
@click.option("--workers", type=int, default=1, show_default=True, help="Server processes.")
@click.option(
    "--public-url",
    envvar="GOVUK_KPI_PUBLIC_URL",
    default=None,
    help="Scheme and host users reach the service at, e.g. https://data.example.gov.uk: "
    "every absolute link starts with it.",
)
@click.option(
    "--forwarded-allow-ips",
    envvar="GOVUK_KPI_FORWARDED_ALLOW_IPS",
    default=None,
    help="Proxies whose Forwarded / X-Forwarded-* headers are believed: comma-separated "
    "addresses or networks, or * (default: none).",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    workers: int,
    public_url: str | None,
    forwarded_allow_ips: str | None,
) -> None:
    """Serve the read-only REST API (/api/v1) and OData feed (/odata) with uvicorn."""
    import os

    import uvicorn

    from govuk_kpi.api import create_app
    from govuk_kpi.api.proxy import (
        FORWARDED_ALLOW_IPS_VARIABLE,
        PUBLIC_URL_VARIABLE,
        public_origin,
    )

    if public_url:
        public_origin(public_url)  # refuse a bad URL here, in one line, not in each worker
    # The app reads forwarded headers itself (api.proxy), from the proxies given here only;
    # uvicorn's own reading, which trusts 127.0.0.1 by default, stays off.
    url = database_url(ctx)
    if workers > 1:
        # Each worker process builds its own app from the environment.
        for variable, value in (
            ("GOVUK_KPI_DATABASE_URL", url),
            (PUBLIC_URL_VARIABLE, public_url),
            (FORWARDED_ALLOW_IPS_VARIABLE, forwarded_allow_ips),
        ):
            if value:
                os.environ[variable] = value
        uvicorn.run(
            "govuk_kpi.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=False,
        )
        return
    app = create_app(url, public_url=public_url, forwarded_allow_ips=forwarded_allow_ips)
    uvicorn.run(app, host=host, port=port, proxy_headers=False)
