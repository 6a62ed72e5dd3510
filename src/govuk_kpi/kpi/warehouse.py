"""`Warehouse`: the analyst's and the API's way in. Tidy DataFrames in two lines.

>>> from govuk_kpi import Warehouse
>>> Warehouse().content(organisation="hm-revenue-customs", period="past-30-days")
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import replace
from datetime import date
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Connection, Engine, Select, String, and_, cast, func, literal, or_, select

from govuk_kpi.core.errors import ConfigError, NotFound, UnknownOrganisation
from govuk_kpi.core.metrics import DAILY_METRICS, DERIVED_METRICS, EDITION_METRICS, derived_value
from govuk_kpi.core.periods import Period, resolve_period
from govuk_kpi.kpi.audit import AuditThresholds
from govuk_kpi.kpi.audit import audit as audit_pages
from govuk_kpi.kpi.coverage import coverage_select, coverage_series, organisation_pages
from govuk_kpi.kpi.expressions import derived_columns, total
from govuk_kpi.kpi.sums import page_sums
from govuk_kpi.warehouse.calendar import date_key, key_to_date
from govuk_kpi.warehouse.db import get_engine
from govuk_kpi.warehouse.models import (
    DimDate,
    DimDocumentType,
    DimEdition,
    DimOrganisation,
    FactEditionMetrics,
    FactPageDaily,
    FactUnmatchedDaily,
    LoadBatch,
    LoadBatchDay,
)
from govuk_kpi.warehouse.rollups import latest_fact_date

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


def _organisation_keys(connection: Connection, organisation: str) -> list[int]:
    """The keys of the organisation with this slug or content_id.

    Raises:
        UnknownOrganisation: the warehouse knows no such organisation (an empty answer would
            look like an organisation with no pages).
    """
    keys = list(
        connection.execute(
            select(DimOrganisation.organisation_key).where(
                or_(
                    DimOrganisation.slug == organisation, DimOrganisation.content_id == organisation
                )
            )
        ).scalars()
    )
    if not keys:
        slugs = connection.execute(select(DimOrganisation.slug)).scalars().all()
        nearest = difflib.get_close_matches(organisation.lower(), slugs, n=3, cutoff=0.6)
        raise UnknownOrganisation(organisation, nearest)
    return keys


def _of_organisation(connection: Connection, organisation: str):
    """The condition "the newest edition's primary organisation is `organisation`" (slug or
    content_id), resolved to keys first so the database starts from that organisation's pages."""
    return DimEdition.primary_organisation_key.in_(_organisation_keys(connection, organisation))


def _number(value: object) -> float | None:
    """A figure as a float, or None where there is none (NULL, NaN: no answers, no data)."""
    return None if value is None or pd.isna(value) else float(value)


def usage_is_generated(connection: Connection) -> bool:
    """True when any loaded usage (analytics or feedback) is generated sample data."""
    return bool(
        connection.execute(
            select(func.count()).where(
                LoadBatch.source.in_(("analytics", "feedback")),
                LoadBatch.status == "loaded",
                LoadBatch.is_generated,
            )
        ).scalar_one()
    )


def _from_the_top(connection: Connection, query: Select, metric, rows: int) -> Select:
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


def _frame(connection: Connection, query: Select, period: Period | None = None) -> pd.DataFrame:
    result = connection.execute(query)
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    frame.attrs["query"] = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
    # Every figure built on generated usage must say so wherever it is shown.
    frame.attrs["generated"] = usage_is_generated(connection)
    if period is not None:
        frame.attrs["period"] = {
            "name": period.name,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        }
    return frame


class Warehouse:
    """Figures from the warehouse at `url` (default: `GOVUK_KPI_DATABASE_URL` or warehouse.db)."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None) -> None:
        self.engine = engine or get_engine(url)

    def usage_is_generated(self) -> bool:
        """True when the usage figures are (at least partly) generated sample data."""
        with self.engine.connect() as connection:
            return usage_is_generated(connection)

    # -- periods ---------------------------------------------------------------------------
    def as_of(self) -> date | None:
        """The newest day with daily facts: where rolling periods end."""
        with self.engine.connect() as connection:
            return latest_fact_date(connection)

    def period(self, name: str, as_of: date | None = None) -> Period:
        """Resolve a period name against `as_of` (default: the newest day with data)."""
        as_of = as_of or self.as_of()
        if as_of is None:
            raise ConfigError("the warehouse has no daily facts yet; load analytics first")
        return resolve_period(name, as_of)

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
        resolved = self.period(period, as_of)
        field, _, direction = sort.partition(":")
        direction = direction or "desc"
        if field not in SORTABLE or direction not in ("asc", "desc"):
            raise ConfigError(
                f"cannot sort by {sort!r}; use one of {', '.join(SORTABLE)} with :asc or :desc"
            )
        asked_for_size = page_size is not None
        every_row = page_size == "all"
        if page_size is None or every_row:
            page_size = DEFAULT_PAGE_SIZE
        if (
            page < 1
            or (every_row and page != 1)
            or not isinstance(page_size, int)
            or not 1 <= page_size <= MAX_PAGE_SIZE
        ):
            raise ConfigError(
                f'page must be ≥ 1 and page_size 1..{MAX_PAGE_SIZE} (or "all", with page 1)'
            )
        with self.engine.connect() as connection:
            sums = page_sums(connection, resolved)
            primary = DimOrganisation.__table__.alias("primary_org")
            metric = {m: func.coalesce(sums.c[m], 0) for m in DAILY_METRICS}
            columns = [
                DimEdition.page_id,
                DimEdition.content_id,
                DimEdition.locale,
                DimEdition.base_path,
                DimEdition.title,
                DimEdition.description,
                DimDocumentType.name.label("document_type"),
                DimDocumentType.label.label("document_type_label"),
                primary.c.slug.label("organisation"),
                primary.c.title.label("organisation_title"),
                DimEdition.withdrawn,
                DimEdition.first_published_at,
                DimEdition.public_updated_at,
                *[metric[m].label(m) for m in DAILY_METRICS],
                *derived_columns(metric),
                *[getattr(FactEditionMetrics, m) for m in EDITION_METRICS],
            ]
            query = (
                select(*columns)
                .select_from(DimEdition)
                .where(DimEdition.is_latest)
                # Every edition has a document type (a required key); an outer join says so
                # to the database, which can then leave the table out of the top's search.
                .outerjoin(
                    DimDocumentType,
                    DimDocumentType.document_type_key == DimEdition.document_type_key,
                )
                .outerjoin(
                    primary, primary.c.organisation_key == DimEdition.primary_organisation_key
                )
                .outerjoin(
                    FactEditionMetrics, FactEditionMetrics.edition_key == DimEdition.edition_key
                )
                .outerjoin(sums, sums.c.page_id == DimEdition.page_id)
            )
            conditions = []
            if organisation:
                # Resolve the organisation first so the database can start from its pages
                # (an index on the newest editions' organisation), not from every page.
                conditions.append(_of_organisation(connection, organisation))
            if document_type:
                conditions.append(DimDocumentType.name == document_type)
            if search:
                # The text is literal: `_` and `%` are escaped, not LIKE wildcards.
                needle = search.lower()
                conditions.append(
                    or_(
                        func.lower(DimEdition.title).contains(needle, autoescape=True),
                        func.lower(DimEdition.base_path).contains(needle, autoescape=True),
                    )
                )
            query = query.where(*conditions)
            # Counted on the editions alone: with the listing's joins in the query, PostgreSQL
            # reads every row of a large organisation (30,000 pages of heap for HMRC) rather
            # than its index alone.
            counted = select(func.count()).select_from(DimEdition).where(DimEdition.is_latest)
            if document_type:
                counted = counted.join(
                    DimDocumentType,
                    DimDocumentType.document_type_key == DimEdition.document_type_key,
                )
            total = connection.execute(counted.where(*conditions)).scalar_one()
            order = next(c for c in columns if c.key == field or getattr(c, "name", None) == field)
            ordering = (
                order.desc().nulls_last() if direction == "desc" else order.asc().nulls_last()
            )
            offset = (page - 1) * page_size
            if every_row:
                page_size = max(1, total)
            elif direction == "desc" and field in DAILY_METRICS:
                query = _from_the_top(connection, query, sums.c[field], offset + page_size)
            query = query.order_by(ordering, DimEdition.base_path)
            if not every_row:
                query = query.limit(page_size).offset(offset)
            frame = _frame(connection, query, resolved)
        truncated = not asked_for_size and total > offset + len(frame)
        frame.attrs.update(
            total_results=total,
            page=page,
            page_size=page_size,
            total_pages=max(1, -(-total // page_size)),
            truncated=truncated,
        )
        if truncated:
            # A listing cut short without being asked to be is a wrong answer read as right.
            warnings.warn(
                f"content() returned the first {len(frame)} of {total} rows; pass "
                'page_size="all" for every row, or page_size= and page= to page through',
                TruncatedWarning,
                stacklevel=2,
            )
        return frame

    # -- one page --------------------------------------------------------------------------
    def page_editions(self, base_path: str) -> pd.DataFrame:
        """Every edition of the page item last seen at `base_path`, oldest first."""
        with self.engine.connect() as connection:
            page_id = self._page_id(connection, base_path)
            query = (
                select(
                    DimEdition.edition_key,
                    DimEdition.content_id,
                    DimEdition.locale,
                    DimEdition.base_path,
                    DimEdition.title,
                    DimEdition.description,
                    DimDocumentType.name.label("document_type"),
                    DimEdition.schema_name,
                    DimEdition.withdrawn,
                    DimEdition.phase,
                    DimEdition.first_published_at,
                    DimEdition.public_updated_at,
                    DimEdition.valid_from,
                    DimEdition.valid_to,
                    DimEdition.is_live,
                    *[getattr(FactEditionMetrics, m) for m in EDITION_METRICS],
                )
                .join(
                    DimDocumentType,
                    DimDocumentType.document_type_key == DimEdition.document_type_key,
                )
                .outerjoin(
                    FactEditionMetrics, FactEditionMetrics.edition_key == DimEdition.edition_key
                )
                .where(DimEdition.page_id == page_id)
                .order_by(DimEdition.valid_from, DimEdition.edition_key)
            )
            return _frame(connection, query)

    def page_daily(self, base_path: str, start: date | str, end: date | str) -> pd.DataFrame:
        """A page item's daily figures from `start` to `end` (every day, zeros where none;
        `date` as datetime64).

        The page is found by the path it has or had; its figures follow it across moves.
        """
        first, last = date.fromisoformat(str(start)), date.fromisoformat(str(end))
        if last < first:
            raise ConfigError(f"from {first} is after to {last}")
        with self.engine.connect() as connection:
            page_id = self._page_id(connection, base_path)
            facts = (
                select(
                    FactPageDaily.date_key,
                    *[total(getattr(FactPageDaily, m)).label(m) for m in DAILY_METRICS],
                )
                .where(
                    FactPageDaily.page_id == page_id,
                    FactPageDaily.date_key.between(date_key(first), date_key(last)),
                )
                .group_by(FactPageDaily.date_key)
                .subquery("facts")
            )
            metric = {m: func.coalesce(facts.c[m], 0) for m in DAILY_METRICS}
            query = (
                select(
                    DimDate.date,
                    *[metric[m].label(m) for m in DAILY_METRICS],
                    *derived_columns(metric),
                )
                .select_from(DimDate)
                .outerjoin(facts, facts.c.date_key == DimDate.date_key)
                .where(DimDate.date_key.between(date_key(first), date_key(last)))
                .order_by(DimDate.date_key)
            )
            frame = _frame(connection, query)
        frame["date"] = pd.to_datetime(frame["date"])  # datetime64, as pandas works with days
        frame.attrs["period"] = {"start": first.isoformat(), "end": last.isoformat()}
        return frame

    def _page_id(self, connection: Connection, base_path: str) -> int:
        from govuk_kpi.core.paths import normalise_path

        path = normalise_path(base_path)
        page_id = connection.execute(
            select(DimEdition.page_id)
            .where(DimEdition.base_path == path)
            .order_by(DimEdition.is_live.desc(), DimEdition.valid_from.desc())
            .limit(1)
        ).scalar()
        if page_id is None:
            raise NotFound(f"no page has ever been at {path}")
        return page_id

    # -- organisations -----------------------------------------------------------------
    def organisations(self) -> pd.DataFrame:
        """Every organisation known, with its status and `pages`: the pages whose newest
        edition names it the primary organisation (0 for most; see `kpi.coverage`)."""
        counted = organisation_pages()
        with self.engine.connect() as connection:
            return _frame(
                connection,
                select(
                    DimOrganisation.content_id,
                    DimOrganisation.slug,
                    DimOrganisation.title,
                    DimOrganisation.acronym,
                    DimOrganisation.organisation_type,
                    DimOrganisation.status,
                    DimOrganisation.closed_at,
                    DimOrganisation.parent_slug,
                    func.coalesce(counted.c.pages, 0).label("pages"),
                )
                .outerjoin(counted, counted.c.organisation_key == DimOrganisation.organisation_key)
                .order_by(DimOrganisation.title),
            )

    def document_types(self) -> pd.DataFrame:
        """Every document type with its display label."""
        with self.engine.connect() as connection:
            return _frame(
                connection,
                select(DimDocumentType.name, DimDocumentType.label).order_by(DimDocumentType.name),
            )

    def organisation_summary(
        self,
        *,
        period: str = "past-30-days",
        organisation: str | None = None,
        as_of: date | None = None,
    ) -> pd.DataFrame:
        """Per primary organisation: pages, sums, derived metrics, and the trend in page views
        and unique page views against the period before (`*_previous`, `*_change` as a ratio)."""
        resolved = self.period(period, as_of)
        current = self._by_organisation(resolved, organisation)
        previous = self._by_organisation(resolved.previous(), organisation)
        keep = previous[["organisation", "pviews", "upviews", "satisfaction"]].rename(
            columns={
                "pviews": "pviews_previous",
                "upviews": "upviews_previous",
                "satisfaction": "satisfaction_previous",
            }
        )
        frame = current.merge(keep, on="organisation", how="left")
        for name in ("pviews", "upviews"):
            before = frame[f"{name}_previous"].astype("float")
            frame[f"{name}_change"] = (frame[name] - before) / before.where(before != 0)
        frame.attrs = {
            **current.attrs,
            "previous_query": previous.attrs["query"],
            "previous_period": previous.attrs["period"],
        }
        return frame

    def _by_organisation(self, period: Period, organisation: str | None) -> pd.DataFrame:
        with self.engine.connect() as connection:
            sums = page_sums(connection, period)
            metric = {m: func.coalesce(total(sums.c[m]), 0) for m in DAILY_METRICS}
            query = (
                select(
                    func.coalesce(DimOrganisation.slug, literal("(none)")).label("organisation"),
                    func.max(DimOrganisation.title).label("organisation_title"),
                    func.count(sums.c.page_id).label("pages"),
                    *[metric[m].label(m) for m in DAILY_METRICS],
                    *derived_columns(metric),
                )
                .select_from(sums)
                .join(DimEdition, and_(DimEdition.page_id == sums.c.page_id, DimEdition.is_latest))
                .outerjoin(
                    DimOrganisation,
                    DimOrganisation.organisation_key == DimEdition.primary_organisation_key,
                )
                .group_by(DimOrganisation.slug)
                .order_by(metric["pviews"].desc())
            )
            if organisation:
                query = query.where(_of_organisation(connection, organisation))
            return _frame(connection, query, period)

    # -- site-wide -------------------------------------------------------------------------
    def headline(self, *, period: str = "past-30-days", as_of: date | None = None) -> pd.Series:
        """Site-wide sums and derived metrics for a period, with unmatched usage beside them."""
        resolved = self.period(period, as_of)
        span = (date_key(resolved.start), date_key(resolved.end))
        with self.engine.connect() as connection:
            metric = {m: func.coalesce(total(getattr(FactPageDaily, m)), 0) for m in DAILY_METRICS}
            query = select(
                *[metric[m].label(m) for m in DAILY_METRICS],
                *derived_columns(metric),
                func.count(func.distinct(FactPageDaily.page_id)).label("pages"),
            ).where(FactPageDaily.date_key.between(*span))
            frame = _frame(connection, query, resolved)
            unmatched = connection.execute(
                select(
                    func.coalesce(total(FactUnmatchedDaily.pviews), 0),
                    func.count(func.distinct(FactUnmatchedDaily.path)),
                ).where(
                    FactUnmatchedDaily.date_key.between(*span),
                    FactUnmatchedDaily.source == "analytics",
                )
            ).one()
        # A row of counts and ratios would be upcast to floats as one Series: counts stay ints.
        row = frame.iloc[0]
        counts = [*DAILY_METRICS, "pages"]
        values: dict[str, Any] = {
            n: int(row[n]) if n in counts else _number(row[n]) for n in row.index
        }
        values["unmatched_pviews"], values["unmatched_paths"] = (int(n) for n in unmatched)
        series = pd.Series(values, dtype=object)
        series.attrs = frame.attrs
        return series

    def unmatched(self, *, period: str = "past-30-days", as_of: date | None = None) -> pd.DataFrame:
        """Paths that matched no edition, with their usage, most viewed first."""
        resolved = self.period(period, as_of)
        with self.engine.connect() as connection:
            query = (
                select(
                    FactUnmatchedDaily.path,
                    *[total(getattr(FactUnmatchedDaily, m)).label(m) for m in DAILY_METRICS],
                    func.count(func.distinct(FactUnmatchedDaily.date_key)).label("days"),
                )
                .where(
                    FactUnmatchedDaily.date_key.between(
                        date_key(resolved.start), date_key(resolved.end)
                    )
                )
                .group_by(FactUnmatchedDaily.path)
                .order_by(total(FactUnmatchedDaily.pviews).desc(), FactUnmatchedDaily.path)
            )
            return _frame(connection, query, resolved)

    def batches(self, limit: int = 50) -> pd.DataFrame:
        """The newest load batches: what was loaded, from where, with which hash and counts."""
        with self.engine.connect() as connection:
            return _frame(
                connection,
                select(
                    LoadBatch.batch_id,
                    LoadBatch.source,
                    LoadBatch.status,
                    LoadBatch.uri,
                    LoadBatch.sha256,
                    LoadBatch.code_version,
                    LoadBatch.date_from,
                    LoadBatch.date_to,
                    LoadBatch.rows_read,
                    LoadBatch.rows_loaded,
                    LoadBatch.rows_rejected,
                    LoadBatch.rows_unmatched,
                    LoadBatch.rows_new,
                    LoadBatch.rows_changed,
                    LoadBatch.rows_unchanged,
                    LoadBatch.rows_collapsed,
                    LoadBatch.started_at,
                    LoadBatch.finished_at,
                    cast(LoadBatch.message, String).label("message"),
                )
                .order_by(LoadBatch.batch_id.desc())
                .limit(limit),
            )

    def batch_days(self, batch_ids: list[int]) -> pd.DataFrame:
        """Per day a daily load replaced: its source's rows deleted and added, by batch."""
        if not batch_ids:
            return pd.DataFrame(columns=["batch_id", "date_key", "rows_deleted", "rows_added"])
        with self.engine.connect() as connection:
            return _frame(
                connection,
                select(
                    LoadBatchDay.batch_id,
                    LoadBatchDay.date_key,
                    LoadBatchDay.rows_deleted,
                    LoadBatchDay.rows_added,
                )
                .where(LoadBatchDay.batch_id.in_(batch_ids))
                .order_by(LoadBatchDay.batch_id, LoadBatchDay.date_key),
            )

    def daily_dates(self) -> tuple[date | None, date | None]:
        """The first and last day with daily facts."""
        with self.engine.connect() as connection:
            low, high = connection.execute(
                select(func.min(FactPageDaily.date_key), func.max(FactPageDaily.date_key))
            ).one()
        return (key_to_date(low) if low else None, key_to_date(high) if high else None)

    # -- reports (issue 4): figures behind the KPI report notebooks ---------------------------
    def daily_totals(
        self,
        *,
        period: str = "past-year",
        organisation: str | None = None,
        as_of: date | None = None,
    ) -> pd.DataFrame:
        """Daily sums over a period, site-wide or of one primary organisation's pages (every
        day, zeros where none), with the derived metrics: the series behind trend charts."""
        resolved = self.period(period, as_of)
        span = (date_key(resolved.start), date_key(resolved.end))
        with self.engine.connect() as connection:
            facts = select(
                FactPageDaily.date_key,
                *[total(getattr(FactPageDaily, m)).label(m) for m in DAILY_METRICS],
            ).where(FactPageDaily.date_key.between(*span))
            if organisation:
                facts = facts.join(
                    DimEdition,
                    and_(DimEdition.page_id == FactPageDaily.page_id, DimEdition.is_latest),
                ).where(_of_organisation(connection, organisation))
            facts = facts.group_by(FactPageDaily.date_key).subquery("facts")
            metric = {m: func.coalesce(facts.c[m], 0) for m in DAILY_METRICS}
            query = (
                select(
                    DimDate.date,
                    *[metric[m].label(m) for m in DAILY_METRICS],
                    *derived_columns(metric),
                )
                .select_from(DimDate)
                .outerjoin(facts, facts.c.date_key == DimDate.date_key)
                .where(DimDate.date_key.between(*span))
                .order_by(DimDate.date_key)
            )
            return _frame(connection, query, resolved)

    def monthly_totals(
        self,
        *,
        period: str = "past-year",
        organisation: str | None = None,
        as_of: date | None = None,
    ) -> pd.DataFrame:
        """`daily_totals` summed by calendar month (`month` is its first day, `days` the days
        of it inside the period), derived metrics from each month's sums."""
        daily = self.daily_totals(period=period, organisation=organisation, as_of=as_of)
        days = pd.to_datetime(daily["date"])
        sums = (
            daily.assign(month=days.dt.to_period("M").dt.start_time.dt.date, days=1)
            .groupby("month", as_index=False)[[*DAILY_METRICS, "days"]]
            .sum()
        )
        rows = sums[list(DAILY_METRICS)].to_dict("records")
        for name in DERIVED_METRICS:
            sums[name] = [derived_value(name, row) for row in rows]
        sums["satisfaction"] = sums["satisfaction"].astype("float")
        sums.attrs = daily.attrs
        return sums

    def headline_trend(
        self, *, period: str = "past-30-days", as_of: date | None = None
    ) -> pd.DataFrame:
        """Site-wide headline figures for the period against the period just before: one row
        per figure with `current`, `previous` and `change` (a ratio; NULL from zero)."""
        resolved = self.period(period, as_of)
        current = self.headline(period=period, as_of=resolved.end)
        before = resolved.previous()
        previous_name = before.name if resolved.kind == "month" else resolved.name
        previous = self.headline(period=previous_name, as_of=before.end)
        names = ["pviews", "upviews", "pages", "satisfaction", "searches_per_user", "feedex"]
        frame = pd.DataFrame(
            {
                "figure": names,
                "current": [_number(current[n]) for n in names],
                "previous": [_number(previous[n]) for n in names],
            }
        )
        frame["change"] = (frame["current"] - frame["previous"]) / frame["previous"].where(
            frame["previous"] != 0
        )
        frame.attrs = {
            **current.attrs,
            "previous_query": previous.attrs["query"],
            "previous_period": previous.attrs["period"],
        }
        return frame

    def document_type_summary(
        self,
        *,
        period: str = "past-30-days",
        organisation: str | None = None,
        as_of: date | None = None,
    ) -> pd.DataFrame:
        """Per document type (of each page's newest edition): pages, sums and derived metrics."""
        resolved = self.period(period, as_of)
        with self.engine.connect() as connection:
            sums = page_sums(connection, resolved)
            metric = {m: func.coalesce(total(sums.c[m]), 0) for m in DAILY_METRICS}
            query = (
                select(
                    DimDocumentType.name.label("document_type"),
                    func.max(DimDocumentType.label).label("document_type_label"),
                    func.count(sums.c.page_id).label("pages"),
                    *[metric[m].label(m) for m in DAILY_METRICS],
                    *derived_columns(metric),
                )
                .select_from(sums)
                .join(DimEdition, and_(DimEdition.page_id == sums.c.page_id, DimEdition.is_latest))
                .join(
                    DimDocumentType,
                    DimDocumentType.document_type_key == DimEdition.document_type_key,
                )
                .group_by(DimDocumentType.name)
                .order_by(metric["pviews"].desc(), DimDocumentType.name)
            )
            if organisation:
                query = query.where(_of_organisation(connection, organisation))
            return _frame(connection, query, resolved)

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
        resolved = self.period(period, as_of)
        year = resolve_period("past-year", resolved.end)
        with self.engine.connect() as connection:
            sums = page_sums(connection, resolved)
            before = page_sums(connection, resolved.previous()).alias("before")
            year_sums = page_sums(connection, year).alias("year_sums")
            primary = DimOrganisation.__table__.alias("primary_org")
            metric = {m: func.coalesce(sums.c[m], 0) for m in DAILY_METRICS}
            query = (
                select(
                    DimEdition.page_id,
                    DimEdition.base_path,
                    DimEdition.title,
                    DimDocumentType.name.label("document_type"),
                    DimDocumentType.label.label("document_type_label"),
                    primary.c.slug.label("organisation"),
                    primary.c.title.label("organisation_title"),
                    DimEdition.withdrawn,
                    DimEdition.first_published_at,
                    DimEdition.public_updated_at,
                    *[metric[m].label(m) for m in DAILY_METRICS],
                    *derived_columns(metric),
                    func.coalesce(before.c.pviews, 0).label("pviews_previous"),
                    func.coalesce(year_sums.c.pviews, 0).label("pviews_year"),
                    FactEditionMetrics.words,
                    FactEditionMetrics.reading_time,
                    FactEditionMetrics.pdf_count,
                )
                .select_from(DimEdition)
                .where(DimEdition.is_latest)
                # Every edition has a document type (a required key); an outer join says so
                # to the database, which can then leave the table out of the top's search.
                .outerjoin(
                    DimDocumentType,
                    DimDocumentType.document_type_key == DimEdition.document_type_key,
                )
                .outerjoin(
                    primary, primary.c.organisation_key == DimEdition.primary_organisation_key
                )
                .outerjoin(
                    FactEditionMetrics, FactEditionMetrics.edition_key == DimEdition.edition_key
                )
                .outerjoin(sums, sums.c.page_id == DimEdition.page_id)
                .outerjoin(before, before.c.page_id == DimEdition.page_id)
                .outerjoin(year_sums, year_sums.c.page_id == DimEdition.page_id)
                .order_by(DimEdition.base_path)
            )
            if organisation:
                query = query.where(_of_organisation(connection, organisation))
            frame = _frame(connection, query, resolved)
        for column in (*DAILY_METRICS, "pviews_previous", "pviews_year"):
            frame[column] = frame[column].astype("int64")
        frame["withdrawn"] = frame["withdrawn"].astype(bool)
        previous = frame["pviews_previous"].astype("float")
        frame["pviews_change"] = (frame["pviews"] - previous) / previous.where(previous != 0)
        frame["responses"] = frame["useful_yes"] + frame["useful_no"]
        updated = pd.to_datetime(frame["public_updated_at"].fillna(frame["first_published_at"]))
        frame["age_days"] = (pd.Timestamp(resolved.end) - updated).dt.days
        frame.attrs["previous_period"] = {
            "start": resolved.previous().start.isoformat(),
            "end": resolved.previous().end.isoformat(),
        }
        frame.attrs["year_period"] = {"start": year.start.isoformat(), "end": year.end.isoformat()}
        return frame

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
            raise ConfigError(f"content_audit: {exc}") from None
        pages = self.page_trends(period=period, organisation=organisation, as_of=as_of)
        end = date.fromisoformat(pages.attrs["period"]["end"])
        reference = self._year_views(end) if organisation else None
        frame = audit_pages(pages, chosen, as_of=end, reference=reference)
        if reference is not None:
            frame.attrs["reference_query"] = reference.attrs["query"]
        return frame

    def _year_views(self, end: date) -> pd.DataFrame:
        """Every page's (newest edition's) document type and page views over the year to
        `end`: what the audit judges document types against."""
        year = resolve_period("past-year", end)
        with self.engine.connect() as connection:
            sums = page_sums(connection, year)
            query = (
                select(
                    DimEdition.page_id,
                    DimDocumentType.name.label("document_type"),
                    func.coalesce(sums.c.pviews, 0).label("pviews_year"),
                )
                .select_from(DimEdition)
                .where(DimEdition.is_latest)
                .outerjoin(
                    DimDocumentType,
                    DimDocumentType.document_type_key == DimEdition.document_type_key,
                )
                .outerjoin(sums, sums.c.page_id == DimEdition.page_id)
                .order_by(DimEdition.page_id)
            )
            frame = _frame(connection, query, year)
        frame["pviews_year"] = frame["pviews_year"].astype("int64")
        return frame

    def source_batches(self, start: date | str, end: date | str) -> pd.DataFrame:
        """The load batches that figures over `start`..`end` come from: every loaded daily
        batch (analytics, feedback) whose days overlap the span, and every loaded content
        and organisations batch (the dimensions), oldest first."""
        first, last = date.fromisoformat(str(start)), date.fromisoformat(str(end))
        daily = LoadBatch.source.in_(("analytics", "feedback"))
        with self.engine.connect() as connection:
            return _frame(
                connection,
                select(
                    LoadBatch.batch_id,
                    LoadBatch.source,
                    LoadBatch.uri,
                    LoadBatch.sha256,
                    LoadBatch.date_from,
                    LoadBatch.date_to,
                    LoadBatch.is_generated,
                )
                .where(
                    LoadBatch.status == "loaded",
                    or_(
                        ~daily,
                        (LoadBatch.date_from <= last) & (LoadBatch.date_to >= first),
                    ),
                )
                .order_by(LoadBatch.batch_id),
            )

    def data_fingerprint(self) -> dict:
        """What the warehouse's data is now: the newest loaded batch id, how many batches are
        loaded, and a SHA-256 over every loaded batch's id, source and input hash. It changes
        whenever a load adds or replaces data, so report builds can skip unchanged inputs."""
        import hashlib

        with self.engine.connect() as connection:
            rows = connection.execute(
                select(LoadBatch.batch_id, LoadBatch.source, LoadBatch.sha256)
                .where(LoadBatch.status == "loaded")
                .order_by(LoadBatch.batch_id)
            ).all()
        digest = hashlib.sha256()
        for batch_id, source, sha256 in rows:
            digest.update(f"{batch_id}\t{source}\t{sha256}\n".encode())
        return {
            "newest_batch_id": rows[-1][0] if rows else None,
            "batches": len(rows),
            "sha256": digest.hexdigest(),
        }

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
        resolved = self.period(period, as_of)
        with self.engine.connect() as connection:
            keys = None
            if organisation:
                keys = _organisation_keys(connection, organisation)
            query = coverage_select(connection, resolved, keys)
            return coverage_series(_frame(connection, query, resolved))
