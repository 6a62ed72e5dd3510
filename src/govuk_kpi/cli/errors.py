"""The one place the project's errors become one line on stderr and exit status 1.

`OneLineErrors` is the class of the `govuk-kpi` group: every command under it, however deep,
is invoked inside `one_line_errors`, so no command has to remember a wrapper.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.exc import OperationalError

from govuk_kpi.core.errors import GovukKpiError
from govuk_kpi.core.text import one_line


def message(exc: BaseException) -> str | None:
    """The line an error is told in, or None for one that is not the project's to tell.

    The project's own errors (`GovukKpiError`: input, config, not found, no data, invalid
    argument...) and lookups that fail say themselves; a database that is unreachable or gave
    up (down, wrong socket, disk full) says so with the driver's own first line, and whatever
    was being written rolled back.
    """
    if isinstance(exc, GovukKpiError):
        return one_line(str(exc))
    if isinstance(exc, LookupError):  # a KeyError's str() would quote its message
        return one_line(str(exc.args[0] if exc.args else exc))
    if isinstance(exc, OperationalError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return f"the warehouse database failed: {reason}"
    return None


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn the errors `message` tells into `error: ...` on stderr and exit status 1."""
    try:
        yield
    except (GovukKpiError, LookupError, OperationalError) as exc:
        click.echo(f"error: {message(exc)}", err=True)
        sys.exit(1)


class OneLineErrors(click.Group):
    """A click group whose commands' errors are one line each (`one_line_errors`)."""

    def invoke(self, ctx: click.Context) -> Any:
        with one_line_errors():
            return super().invoke(ctx)
