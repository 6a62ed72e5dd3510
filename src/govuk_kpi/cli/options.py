"""Option types and groups more than one command takes, declared once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

Command = TypeVar("Command", bound=Callable[..., Any])


class IsoDateTime(click.ParamType):
    """An ISO 8601 moment, stored as UTC: `2026-10-31T06:00`, with seconds, `Z` or an offset.

    A moment without an offset is taken as UTC, as snapshot times are.
    """

    name = "ISO-8601"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(value.strip())
            if moment.tzinfo is None:
                return moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC)
        except (ValueError, OverflowError):
            self.fail(
                f"{value!r} is not an ISO 8601 date and time in UTC's range "
                "(such as 2026-10-31T06:00, 2026-10-31T06:00:00Z or 2026-10-31T07:00+01:00)",
                param,
                ctx,
            )


DAY = click.DateTime(["%Y-%m-%d"])
"""A day, YYYY-MM-DD."""


def options(*decorators: Callable[[Command], Command]) -> Callable[[Command], Command]:
    """Several click options as one decorator, listed in the order `--help` shows them."""

    def apply(command: Command) -> Command:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return apply


def http_options(context: str = "") -> Sequence[Callable[[Command], Command]]:
    """What fetching from GOV.UK's site needs, `extract`'s and `run`'s: the site and the rate
    to ask it at, then the cache (`context` starts the help of options only one step uses)."""

    def helped(text: str) -> str:
        if not context:
            return text
        return context + (text[0].lower() + text[1:] if text[1:2].islower() else text)

    return (
        click.option("--base-url", envvar="GOVUK_KPI_BASE_URL", default="https://www.gov.uk",
                     show_default=True, help="Site to extract from."),
        click.option("--rate", type=float, default=10.0, show_default=True,
                     help=helped("Requests per second, at most (retries and redirects count).")),
        click.option("--cache-dir", type=click.Path(path_type=Path),
                     default=Path("data/cache/http"), show_default=True,
                     help=helped("ETag/Last-Modified cache for conditional requests.")),
        click.option("--no-cache", is_flag=True, help=helped("Send no conditional requests.")),
    )  # fmt: skip


SNAPSHOT_OPTIONS = (
    click.option("--snapshots", "root", type=click.Path(path_type=Path),
                 default=Path("data/snapshots"), show_default=True,
                 help="Where dated snapshot folders go."),
    click.option("--snapshot", type=click.Path(path_type=Path), default=None,
                 help="Write into this snapshot folder instead of the dated one."),
)  # fmt: skip
"""Where `extract` writes: a dated snapshot folder, or one given."""
