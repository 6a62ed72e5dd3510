"""Limits on what an input may hold, so that no file can exhaust memory or reach back in time.

Every reader applies the same limits, with defaults that real GOV.UK files never reach; an
operator raises one with its environment variable (bytes for sizes, an ISO date for the day).
A file past a limit is refused as a whole with one line naming the file, the row and the limit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date

from govuk_kpi.core.errors import ConfigError

# GOV.UK launched on 2012-10-17: no page of it has usage from before that day.
GOVUK_LAUNCH = date(2012, 10, 17)

EARLIEST_DAY_ENV = "GOVUK_KPI_EARLIEST_DAY"
MAX_LINE_BYTES_ENV = "GOVUK_KPI_MAX_LINE_BYTES"
MAX_FILE_BYTES_ENV = "GOVUK_KPI_MAX_FILE_BYTES"
MAX_JSON_DEPTH_ENV = "GOVUK_KPI_MAX_JSON_DEPTH"

# A GA4 event line is a few KiB and a daily CSV line well under 2 KiB (paths stop at 1,500
# characters); 16 MiB is far beyond both and still cheap to hold.
DEFAULT_MAX_LINE_BYTES = 16 * 2**20
# The whole of one input once decompressed: GOV.UK's daily CSV of every page is about 60 MB,
# its biggest content item a few MB. A day of GA4 events is larger and is read line by line.
DEFAULT_MAX_FILE_BYTES = 512 * 2**20
# Content items nest about 10 levels deep; Python's own parser gives up near 1,000.
DEFAULT_MAX_JSON_DEPTH = 200


@dataclass(frozen=True)
class Limits:
    """The limits in force: the earliest day a usage row may have, and input sizes."""

    earliest_day: date = GOVUK_LAUNCH
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH

    @classmethod
    def from_environment(cls) -> Limits:
        """The defaults, each overridden by its environment variable when set."""
        return cls(
            earliest_day=_day(EARLIEST_DAY_ENV, GOVUK_LAUNCH),
            max_line_bytes=_positive(MAX_LINE_BYTES_ENV, DEFAULT_MAX_LINE_BYTES),
            max_file_bytes=_positive(MAX_FILE_BYTES_ENV, DEFAULT_MAX_FILE_BYTES),
            max_json_depth=_positive(MAX_JSON_DEPTH_ENV, DEFAULT_MAX_JSON_DEPTH),
        )


def limits() -> Limits:
    """The limits in force now (read from the environment each time: tests and the CLI set it)."""
    return Limits.from_environment()


def _day(variable: str, default: date) -> date:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{variable}={raw!r} is not a YYYY-MM-DD date") from None


def _positive(variable: str, default: int) -> int:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ConfigError(f"{variable}={raw!r} is not a positive whole number")
    return int(raw)


def too_early(day: date, earliest: date) -> str:
    """The reject reason for a usage row dated before the earliest day."""
    return f"date {day.isoformat()} is before the earliest day {earliest.isoformat()}"
