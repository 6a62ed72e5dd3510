"""The content listing (content-data-api's `/content`): one row per page item, its newest
edition's properties and its period sums, filtered, sorted and paged in the database."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import pandas as pd
from sqlalchemy import ColumnElement, Connection, func, or_, select

from govuk_kpi.core.errors import InvalidArgument
from govuk_kpi.core.metrics import DAILY_METRICS, DERIVED_METRICS, EDITION_METRICS
from govuk_kpi.kpi.frames import (
    AnySelect,
    edition_metric_columns,
    frame,
    newest_edition_rows,
    of_organisation,
    page_columns,
    primary_organisation,
)
from govuk_kpi.kpi.query import Query
from govuk_kpi.kpi.sums import page_sums
from govuk_kpi.warehouse.models import DimDocumentType, DimEdition

SORTABLE = (
    *DAILY_METRICS,
    *DERIVED_METRICS,
    *EDITION_METRICS,
    "title",
    "base_path",
    "document_type",
    "public_updated_at",
    "first_published_at",
)
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


class TruncatedWarning(UserWarning):
    """A listing returned fewer rows than it holds, without being asked for a page size."""


def parse_sort(sort: str) -> tuple[str, str]:
    """`metric:asc` or `metric:desc` (desc when left out) as (field, direction)."""
    field, _, direction = sort.partition(":")
    direction = direction or "desc"
    if field not in SORTABLE or direction not in ("asc", "desc"):
        raise InvalidArgument(
            "sort", f"cannot sort by {sort!r}; use one of {', '.join(SORTABLE)} with :asc or :desc"
        )
    return field, direction


def check_page(page: int, page_size: int | Literal["all"] | None) -> int:
    """The page size to use (the default when none is given or every row is asked for)."""
    every_row = page_size == "all"
    size = DEFAULT_PAGE_SIZE if page_size is None or every_row else page_size
    if (
        page < 1
        or (every_row and page != 1)
        or not isinstance(size, int)
        or not 1 <= size <= MAX_PAGE_SIZE
    ):
        raise InvalidArgument(
            "page_size",
            f'page must be ≥ 1 and page_size 1..{MAX_PAGE_SIZE} (or "all", with page 1)',
        )
    return size


def _from_the_top(
    connection: Connection, query: AnySelect, metric: ColumnElement[Any], rows: int
) -> AnySelect:
    """Narrow a listing sorted by `metric` (descending) to the rows that can reach its page.

    The lowest value on the page is found by walking the rollup's index on the metric, which
    reads about as many rows as the page needs, even for an organisation with a hundred
    thousand pages; the full sort, with its tie-break on base_path, then runs on those rows
    alone. Pages with nothing recorded sort as 0 and tie with each other, so the shortcut
    holds only while that lowest value is above 0.
    """
    lowest = connection.execute(
        query.with_only_columns(metric)
        .where(metric > 0)
        .order_by(metric.desc())
        .offset(rows - 1)
        .limit(1)
    ).scalar()
    return query if lowest is None else query.where(metric >= lowest)


def _conditions(connection: Connection, query: Query) -> list[ColumnElement[bool]]:
    conditions = []
    if query.organisation:
        # Resolve the organisation first so the database can start from its pages
        # (an index on the newest editions' organisation), not from every page.
        conditions.append(of_organisation(connection, query.organisation))
    if query.document_type:
        conditions.append(DimDocumentType.name == query.document_type)
    if query.search:
        # The text is literal: `_` and `%` are escaped, not LIKE wildcards.
        needle = query.search.lower()
        conditions.append(
            or_(
                func.lower(DimEdition.title).contains(needle, autoescape=True),
                func.lower(DimEdition.base_path).contains(needle, autoescape=True),
            )
        )
    return conditions


def _count(connection: Connection, query: Query, conditions: list[ColumnElement[bool]]) -> int:
    # Counted on the editions alone: with the listing's joins in the query, PostgreSQL
    # reads every row of a large organisation (30,000 pages of heap for HMRC) rather
    # than its index alone.
    counted = select(func.count()).select_from(DimEdition).where(DimEdition.is_latest)
    if query.document_type:
        counted = counted.join(
            DimDocumentType,
            DimDocumentType.document_type_key == DimEdition.document_type_key,
        )
    return int(connection.execute(counted.where(*conditions)).scalar_one())


def _columns(sums: Any, primary: Any) -> list[Any]:
    metric = {m: func.coalesce(sums.c[m], 0) for m in DAILY_METRICS}
    return [*page_columns(primary, metric, described=True), *edition_metric_columns()]


def content(
    connection: Connection,
    query: Query,
    *,
    sort: str = "upviews:desc",
    page: int = 1,
    page_size: int | Literal["all"] | None = None,
) -> pd.DataFrame:
    """One page of the listing (see `Warehouse.content`); `attrs` holds total_results,
    total_pages, page, page_size and truncated besides the query and the period."""
    field, direction = parse_sort(sort)
    size = check_page(page, page_size)
    every_row = page_size == "all"
    sums = page_sums(connection, query.period)
    primary = primary_organisation()
    columns = _columns(sums, primary)
    conditions = _conditions(connection, query)
    select_rows = newest_edition_rows(columns, sums, primary).where(*conditions)
    total = _count(connection, query, conditions)
    order = next(c for c in columns if c.key == field or getattr(c, "name", None) == field)
    ordering = order.desc().nulls_last() if direction == "desc" else order.asc().nulls_last()
    offset = (page - 1) * size
    if every_row:
        size = max(1, total)
    elif direction == "desc" and field in DAILY_METRICS:
        select_rows = _from_the_top(connection, select_rows, sums.c[field], offset + size)
    select_rows = select_rows.order_by(ordering, DimEdition.base_path)
    if not every_row:
        select_rows = select_rows.limit(size).offset(offset)
    out = frame(connection, select_rows, query.period)
    out.attrs.update(
        total_results=total,
        page=page,
        page_size=size,
        total_pages=max(1, -(-total // size)),
        truncated=page_size is None and total > offset + len(out),
    )
    return out


def warn_if_truncated(listing: pd.DataFrame, stacklevel: int) -> None:
    """Warn when a listing was cut short without being asked to be: a wrong answer read as
    right otherwise."""
    if listing.attrs["truncated"]:
        total = listing.attrs["total_results"]
        warnings.warn(
            f"content() returned the first {len(listing)} of {total} rows; pass "
            'page_size="all" for every row, or page_size= and page= to page through',
            TruncatedWarning,
            stacklevel=stacklevel + 1,
        )
