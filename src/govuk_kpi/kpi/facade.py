"""`Warehouse`: the analyst's and the API's way in. Tidy DataFrames in two lines.

>>> from govuk_kpi import Warehouse
>>> Warehouse().content(organisation="hm-revenue-customs", period="past-30-days")

Each method resolves its keywords (a period name against the newest day with data, the
filters) into a `kpi.query.Query`, opens a connection and asks the question module that
answers it: `listing`, `page`, `organisations`, `document_types`, `site`, `trends`, `audit`,
`provenance`. The SQL lives there, not here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Engine

from govuk_kpi.core.errors import InvalidArgument, NoData
from govuk_kpi.core.periods import Period, resolve_period
from govuk_kpi.kpi import document_types as _document_types
from govuk_kpi.kpi import listing, organisations, page, provenance, site, trends
from govuk_kpi.kpi.audit import AuditThresholds
from govuk_kpi.kpi.audit import audit as audit_pages
from govuk_kpi.kpi.query import Query
from govuk_kpi.warehouse.db import get_engine
from govuk_kpi.warehouse.rollups import latest_fact_date


class Warehouse:
    """Figures from the warehouse at `url` (default: `GOVUK_KPI_DATABASE_URL` or warehouse.db)."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None) -> None:
        self.engine = engine or get_engine(url)

    def usage_is_generated(self) -> bool:
        """True when the usage figures are (at least partly) generated sample data."""
        with self.engine.connect() as connection:
            return provenance.usage_is_generated(connection)

    # -- periods ---------------------------------------------------------------------------
    def as_of(self) -> date | None:
        """The newest day with daily facts: where rolling periods end."""
        with self.engine.connect() as connection:
            return latest_fact_date(connection)

    def period(self, name: str, as_of: date | None = None) -> Period:
        """Resolve a period name against `as_of` (default: the newest day with data)."""
        as_of = as_of or self.as_of()
        if as_of is None:
            raise NoData("the warehouse has no daily facts yet; load analytics first")
        return resolve_period(name, as_of)

    def _query(self, period: str, as_of: date | None, **filters: str | None) -> Query:
        return Query(self.period(period, as_of), **filters)

    # -- the content listing -------------------------------------------------------------
    def content(
        self,
        *,
        period: str = "past-30-days",
        organisation: str | None = None,
        document_type: str | None = None,
        search: str | None = None,
        sort: str = "upviews:desc",
        page: int = 1,
        page_size: int | Literal["all"] | None = None,
        as_of: date | None = None,
    ) -> pd.DataFrame:
        """content-data-api's `/content`: one row per page item with its period sums.

        A page of rows, as the API serves it: without `page_size`, the first
        `DEFAULT_PAGE_SIZE` (100), with a `TruncatedWarning` and `attrs["truncated"]` true
        when there are more. `page_size="all"` returns every row.

        Args:
            period: past-30-days, last-month, past-3-months, past-6-months, past-year or a
                month like `march-2026`.
            organisation: primary organisation slug or content_id.
            document_type: machine name, e.g. `guide`.
            search: case-insensitive text in the title or the base path.
            sort: `metric:asc` or `metric:desc` (any metric, title, base_path...).
            page: 1-based page number.
            page_size: rows per page, at most 1000; "all" for every row on one page.
            as_of: the day rolling periods end (default: newest day with data).

        Returns:
            A DataFrame; `attrs` holds total_results, total_pages, page, page_size,
            truncated (rows beyond this page exist and no page_size was given), query, period.
        """
        query = self._query(
            period, as_of, organisation=organisation, document_type=document_type, search=search
        )
        listing.parse_sort(sort)
        listing.check_page(page, page_size)
        with self.engine.connect() as connection:
            frame = listing.content(connection, query, sort=sort, page=page, page_size=page_size)
        listing.warn_if_truncated(frame, stacklevel=2)
        return frame

    # -- one page --------------------------------------------------------------------------
    def page_editions(self, base_path: str) -> pd.DataFrame:
        """Every edition of the page item last seen at `base_path`, oldest first."""
        with self.engine.connect() as connection:
            return page.page_editions(connection, base_path)

    def page_daily(self, base_path: str, start: date | str, end: date | str) -> pd.DataFrame:
        """A page item's daily figures from `start` to `end` (every day, zeros where none;
        `date` as datetime64).

        The page is found by the path it has or had; its figures follow it across moves.
        """
        first, last = date.fromisoformat(str(start)), date.fromisoformat(str(end))
        with self.engine.connect() as connection:
            return page.page_daily(connection, base_path, first, last)

    # -- organisations -----------------------------------------------------------------
    def organisations(self) -> pd.DataFrame:
        """Every organisation known, with its status and `pages`: the pages whose newest
        edition names it the primary organisation (0 for most; see `kpi.coverage`)."""
        with self.engine.connect() as connection:
            return organisations.organisations(connection)

    def document_types(self) -> pd.DataFrame:
        """Every document type with its display label."""
        with self.engine.connect() as connection:
            return _document_types.document_types(connection)

    def organisation_summary(
        self,
        *,
        period: str = "past-30-days",
        organisation: str | None = None,
        as_of: date | None = None,
    ) -> pd.DataFrame:
        """Per primary organisation: pages, sums, derived metrics, and the trend in page views
        and unique page views against the period before (`*_previous`, `*_change` as a ratio)."""
        query = self._query(period, as_of, organisation=organisation)
        with self.engine.connect() as connection:
            return organisations.organisation_summary(connection, query)

    # -- site-wide -------------------------------------------------------------------------
    def headline(self, *, period: str = "past-30-days", as_of: date | None = None) -> pd.Series:
        """Site-wide sums and derived metrics for a period, with unmatched usage beside them."""
        resolved = self.period(period, as_of)
        with self.engine.connect() as connection:
            return site.headline(connection, resolved)

    def unmatched(self, *, period: str = "past-30-days", as_of: date | None = None) -> pd.DataFrame:
        """Paths that matched no edition, with their usage, most viewed first."""
        resolved = self.period(period, as_of)
        with self.engine.connect() as connection:
            return site.unmatched(connection, resolved)

    def batches(self, limit: int = 50) -> pd.DataFrame:
        """The newest load batches: what was loaded, from where, with which hash and counts."""
        with self.engine.connect() as connection:
            return provenance.batches(connection, limit)

    def batch_days(self, batch_ids: list[int]) -> pd.DataFrame:
        """Per day a daily load replaced: its source's rows deleted and added, by batch."""
        with self.engine.connect() as connection:
            return provenance.batch_days(connection, batch_ids)

    def daily_dates(self) -> tuple[date | None, date | None]:
        """The first and last day with daily facts."""
        with self.engine.connect() as connection:
            return site.daily_dates(connection)

    # -- reports: figures behind the KPI report notebooks --------------------------------------
    def daily_totals(
        self,
        *,
        period: str = "past-year",
        organisation: str | None = None,
        as_of: date | None = None,
    ) -> pd.DataFrame:
        """Daily sums over a period, site-wide or of one primary organisation's pages (every
        day, zeros where none), with the derived metrics: the series behind trend charts."""
        query = self._query(period, as_of, organisation=organisation)
        with self.engine.connect() as connection:
            return trends.daily_totals(connection, query)

    def monthly_totals(
        self,
        *,
        period: str = "past-year",
        organisation: str | None = None,
        as_of: date | None = None,
    ) -> pd.DataFrame:
        """`daily_totals` summed by calendar month (`month` is its first day, `days` the days
        of it inside the period), derived metrics from each month's sums."""
        query = self._query(period, as_of, organisation=organisation)
        with self.engine.connect() as connection:
            return trends.monthly_totals(connection, query)

    def headline_trend(
        self, *, period: str = "past-30-days", as_of: date | None = None
    ) -> pd.DataFrame:
        """Site-wide headline figures for the period against the period just before: one row
        per figure with `current`, `previous` and `change` (a ratio; NULL from zero)."""
        resolved = self.period(period, as_of)
        with self.engine.connect() as connection:
            return trends.headline_trend(connection, resolved)

    def document_type_summary(
        self,
        *,
        period: str = "past-30-days",
        organisation: str | None = None,
        as_of: date | None = None,
    ) -> pd.DataFrame:
        """Per document type (of each page's newest edition): pages, sums and derived metrics."""
        query = self._query(period, as_of, organisation=organisation)
        with self.engine.connect() as connection:
            return _document_types.document_type_summary(connection, query)

    def page_trends(
        self,
        *,
        period: str = "past-30-days",
        organisation: str | None = None,
        as_of: date | None = None,
    ) -> pd.DataFrame:
        """Every page item (newest edition) with its sums for the period, page views in the
        period before (`pviews_previous`, `pviews_change` as a ratio), page views over the past
        year (`pviews_year`), answers to "Is this page useful?" (`responses`), age in days
        since its last public update (`age_days`, at the period's end), its document type's
        label and its edition's `words`, `reading_time` and `pdf_count`."""
        query = self._query(period, as_of, organisation=organisation)
        with self.engine.connect() as connection:
            return trends.page_trends(connection, query)

    def content_audit(
        self,
        *,
        period: str = "past-30-days",
        organisation: str | None = None,
        as_of: date | None = None,
        thresholds: AuditThresholds | None = None,
        **overrides: Any,
    ) -> pd.DataFrame:
        """The content audit: every page (of `organisation`, or of the site) in exactly one
        category, with the reason codes that put it there. The rules and their order of
        precedence are `govuk_kpi.kpi.audit` (docs/audit.md says why).

        Args:
            thresholds: the rules' thresholds (default `AuditThresholds()`); keywords named
                as its fields (`low_satisfaction=0.4`) override single ones.

        Returns:
            One row per page: `category`, `rank` (1, 2, 3... within the category, most in
            need of action first), `reason_codes` (a tuple of codes, no English), the columns
            of `page_trends` and the figures that explain the codes. Organisations are
            judged against their own pages, document types against every page of the site,
            so a page gets the same category in an organisation's audit and the site's.
            `attrs` holds the query, the period, `thresholds` and (for an organisation)
            `reference_query`.
        """
        try:
            chosen = replace(thresholds or AuditThresholds(), **overrides)
        except TypeError as exc:
            raise InvalidArgument("thresholds", f"content_audit: {exc}") from None
        query = self._query(period, as_of, organisation=organisation)
        with self.engine.connect() as connection:
            pages = trends.page_trends(connection, query)
            end = query.period.end
            reference = trends.year_views(connection, end) if organisation else None
        frame = audit_pages(pages, chosen, as_of=end, reference=reference)
        if reference is not None:
            frame.attrs["reference_query"] = reference.attrs["query"]
        return frame

    # -- provenance ------------------------------------------------------------------------
    def source_batches(self, start: date | str, end: date | str) -> pd.DataFrame:
        """The load batches that figures over `start`..`end` come from: every loaded daily
        batch (analytics, feedback) whose days overlap the span, and every loaded content
        and organisations batch (the dimensions), oldest first."""
        first, last = date.fromisoformat(str(start)), date.fromisoformat(str(end))
        with self.engine.connect() as connection:
            return provenance.source_batches(connection, first, last)

    def data_fingerprint(self) -> dict[str, Any]:
        """What the warehouse's data is now: the newest loaded batch id, how many batches are
        loaded, and a SHA-256 over every loaded batch's id, source and input hash. It changes
        whenever a load adds or replaces data, so report builds can skip unchanged inputs."""
        with self.engine.connect() as connection:
            return provenance.data_fingerprint(connection)

    def coverage(
        self,
        *,
        period: str = "past-30-days",
        organisation: str | None = None,
        as_of: date | None = None,
    ) -> pd.Series:
        """What the figures cover (`govuk_kpi.kpi.coverage`): the pages the warehouse holds,
        the organisations with pages, and the period's page views in three parts: on pages
        with a primary organisation, on pages with none, and on paths that matched no page,
        each with its share of them all.

        With `organisation` (slug or content_id): also its name, its pages
        (`organisation_pages`, of them `organisation_withdrawn_pages`), the pages naming it
        that another organisation (or none) leads (`organisation_other_pages`), and its pages
        viewed in the period (`organisation_pages_viewed`).

        Returns:
            A Series; `attrs` holds the query (one SQL statement for every figure), period.
        """
        query = self._query(period, as_of, organisation=organisation)
        with self.engine.connect() as connection:
            return site.coverage(connection, query)
