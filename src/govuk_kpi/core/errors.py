"""One exception family for the project, so callers can catch `GovukKpiError` and print one line."""

from __future__ import annotations

from os import PathLike
from typing import Any

MAX_REASON = 1000


class GovukKpiError(Exception):
    """Base of every error the project raises on purpose."""


class InputError(GovukKpiError):
    """Input that cannot be loaded: names the file, the row (1-based) and what was wrong."""

    def __init__(self, path: str | PathLike[str], message: str, row: int | None = None) -> None:
        if len(message) > MAX_REASON:  # it may quote the input: a line, not a megabyte
            message = message[:MAX_REASON] + "… (cut)"
        self.path = str(path)
        self.row = row
        self.reason = message
        where = f"{self.path}, row {row}" if row is not None else self.path
        super().__init__(f"{where}: {message}")


class ConfigError(GovukKpiError):
    """A setting (database URL, parameter, option) that is missing or wrong."""


class NotFound(GovukKpiError, LookupError):
    """Something asked for by name (a page, an organisation) that the warehouse does not hold."""


class NoData(GovukKpiError, LookupError):
    """The warehouse holds nothing for the question asked: no daily facts yet, or none in the
    period asked about. `param` names the argument that asked (when one did) and `reason`
    what was wrong with it; `facts` are what does exist (`first_day`, `last_day`)."""

    def __init__(
        self, message: str, *, param: str | None = None, reason: str | None = None, **facts: Any
    ) -> None:
        self.param = param
        self.reason = reason or message
        self.facts = facts
        super().__init__(message)


class InvalidArgument(ConfigError, ValueError):
    """A caller's argument is wrong: `param` names it, the message says why; `facts` help
    put it right (the `nearest` known values, where they are listed)."""

    def __init__(self, param: str, message: str, **facts: Any) -> None:
        self.param = param
        self.reason = message
        self.facts = facts
        super().__init__(message)


class UnknownOrganisation(NotFound):
    """An organisation slug or content_id the warehouse does not know; `nearest` are the
    known slugs that look most like it."""

    def __init__(self, value: str, nearest: list[str]) -> None:
        self.value = value
        self.nearest = nearest
        hint = f"; did you mean {', '.join(nearest)}?" if nearest else ""
        super().__init__(
            f"no organisation has the slug or content_id {value!r} "
            f"(Warehouse().organisations() lists them){hint}"
        )


class RejectedRecord(InputError):
    """One record of an input that cannot be loaded while the rest can: it becomes a reject."""


def as_input_error(path: str, exc: BaseException) -> GovukKpiError:
    """Any failure while reading or loading `path`, as one line naming the file.

    The project's own errors pass through. Others (a file nested too deeply for the parser,
    a number past Python's digit limit, a database refusing a value, an unreadable file) say
    what was wrong in words, so the caller prints one line instead of a traceback.
    """
    if isinstance(exc, GovukKpiError):
        return exc
    if isinstance(exc, RecursionError):
        return InputError(path, "nested too deeply to read")
    if isinstance(exc, MemoryError):
        return InputError(path, "too large to hold in memory")
    if isinstance(exc, OSError) and exc.strerror:
        return InputError(path, f"cannot read: {exc.strerror}")
    # A database driver's error (wrapped by SQLAlchemy as `orig`) says it best in its first line.
    cause = getattr(exc, "orig", None) or exc
    detail = (str(cause).strip().splitlines() or [""])[0] or type(cause).__name__
    return InputError(path, f"cannot load: {detail}")
