"""One exception family for the project, so callers can catch `GovukKpiError` and print one line."""

from __future__ import annotations


class GovukKpiError(Exception):
    """Base of every error the project raises on purpose."""


class InputError(GovukKpiError):
    """Input that cannot be loaded: names the file, the row (1-based) and what was wrong."""

    def __init__(self, path: str, message: str, row: int | None = None) -> None:
        self.path = str(path)
        self.row = row
        self.reason = message
        where = f"{self.path}, row {row}" if row is not None else self.path
        super().__init__(f"{where}: {message}")


class ConfigError(GovukKpiError):
    """A setting (database URL, parameter, option) that is missing or wrong."""


class HealthError(GovukKpiError):
    """The warehouse is not fit to report from: yesterday's data missing, rollups stale."""


class RejectedRecord(InputError):
    """One record of an input that cannot be loaded while the rest can: it becomes a reject."""
