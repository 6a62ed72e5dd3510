"""One page item: its editions, and its daily figures across moves."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Connection, select

from govuk_kpi.core.errors import InvalidArgument, NotFound
from govuk_kpi.core.metrics import EDITION_METRICS
from govuk_kpi.core.paths import normalise_path
from govuk_kpi.kpi.frames import calendar_series, daily_facts, frame
from govuk_kpi.kpi.views import editions
from govuk_kpi.warehouse.models import DimEdition, FactPageDaily

# What `page_editions` shows of each edition, in this order.
EDITION_HISTORY = (
    *("edition_key", "content_id", "locale", "base_path", "title", "description"),
    *("document_type", "schema_name", "withdrawn", "phase"),
    *("first_published_at", "public_updated_at", "valid_from", "valid_to", "is_live"),
    *EDITION_METRICS,
)


def page_id(connection: Connection, base_path: str) -> int:
    """The page item that has, or last had, `base_path` (a live edition first)."""
    path = normalise_path(base_path)
    found = connection.execute(
        select(DimEdition.page_id)
        .where(DimEdition.base_path == path)
        .order_by(DimEdition.is_live.desc(), DimEdition.valid_from.desc())
        .limit(1)
    ).scalar()
    if found is None:
        raise NotFound(f"no page has ever been at {path}")
    return int(found)


def page_editions(connection: Connection, base_path: str) -> pd.DataFrame:
    """Every edition of the page item last seen at `base_path`, oldest first."""
    found = page_id(connection, base_path)
    query = (
        editions(*EDITION_HISTORY)
        .where(DimEdition.page_id == found)
        .order_by(DimEdition.valid_from, DimEdition.edition_key)
    )
    return frame(connection, query)


def page_daily(connection: Connection, base_path: str, first: date, last: date) -> pd.DataFrame:
    """A page item's daily figures from `first` to `last` (every day, zeros where none;
    `date` as datetime64). The page is found by the path it has or had."""
    if last < first:
        raise InvalidArgument("start", f"from {first} is after to {last}")
    found = page_id(connection, base_path)
    facts = (
        daily_facts(first, last, FactPageDaily.page_id == found)
        .group_by(FactPageDaily.date_key)
        .subquery("facts")
    )
    out = frame(connection, calendar_series(facts, first, last))
    out["date"] = pd.to_datetime(out["date"])  # datetime64, as pandas works with days
    out.attrs["period"] = {"start": first.isoformat(), "end": last.isoformat()}
    return out
