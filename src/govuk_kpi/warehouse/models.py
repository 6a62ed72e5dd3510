"""The star schema as typed SQLAlchemy 2 models.

Dimensions (`dim_*`), facts (`fact_*`), rollups (`agg_*`), and the audit of every load
(`load_batch`, `load_reject`). Timestamps are naive UTC so SQLite and PostgreSQL agree.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from govuk_kpi.core.metrics import DAILY_METRICS

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _partial_index(name: str, column: str, *, where: str, unique: bool = False) -> Index:
    """An index over the rows where `where` holds, on both dialects the warehouse runs on."""
    return Index(
        name, column, unique=unique, sqlite_where=text(where), postgresql_where=text(where)
    )


class Base(DeclarativeBase):
    """Declarative base with constraint names that are the same on every backend."""

    metadata = MetaData(naming_convention=NAMING)


class LoadBatch(Base):
    """One load of one input: what, from where, its hash, the code version and the counts."""

    __tablename__ = "load_batch"

    batch_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))  # content, organisations, analytics, feedback
    uri: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    code_version: Mapped[str] = mapped_column(String(64))
    date_from: Mapped[date | None] = mapped_column(Date)
    date_to: Mapped[date | None] = mapped_column(Date)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_unmatched: Mapped[int] = mapped_column(Integer, default=0)
    # Content loads: items that made a new page, changed one, changed nothing, or were
    # collapsed into a later record of the same item in the same input (NULL elsewhere).
    rows_new: Mapped[int | None] = mapped_column(Integer)
    rows_changed: Mapped[int | None] = mapped_column(Integer)
    rows_unchanged: Mapped[int | None] = mapped_column(Integer)
    rows_collapsed: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))  # loaded, failed
    message: Mapped[str | None] = mapped_column(Text)
    # Generated sample data, not real usage: every figure built on it must say so.
    is_generated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (Index(None, "source", "status"),)


class LoadReject(Base):
    """A row a load refused, with the reason and the raw line, so nothing is silently lost."""

    __tablename__ = "load_reject"

    reject_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("load_batch.batch_id"), index=True)
    source_file: Mapped[str] = mapped_column(Text)
    row_number: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    raw_line: Mapped[str | None] = mapped_column(Text)


class LoadBatchDay(Base):
    """What a daily load did to one day it replaced: its source's rows deleted and added.

    A load replaces only the days its file holds (or the range `--replace` names), so these
    rows say exactly what each load took away and put back.
    """

    __tablename__ = "load_batch_day"

    batch_id: Mapped[int] = mapped_column(ForeignKey("load_batch.batch_id"), primary_key=True)
    date_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    rows_deleted: Mapped[int] = mapped_column(Integer)
    rows_added: Mapped[int] = mapped_column(Integer)


class DimDate(Base):
    """One row per calendar day that facts refer to."""

    __tablename__ = "dim_date"

    date_key: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=False
    )  # YYYYMMDD
    date: Mapped[date] = mapped_column(Date, unique=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    month_key: Mapped[int] = mapped_column(ForeignKey("dim_month.month_key"))
    iso_year: Mapped[int] = mapped_column(Integer)
    iso_week: Mapped[int] = mapped_column(Integer)
    week_start: Mapped[dt.date] = mapped_column(Date)  # `date` in here is the column above
    day_of_week: Mapped[int] = mapped_column(Integer)  # ISO: Monday 1 .. Sunday 7
    day_name: Mapped[str] = mapped_column(String(9))
    is_weekend: Mapped[bool] = mapped_column(Boolean)


class DimMonth(Base):
    """One row per calendar month, named as the API names periods (`march-2026`)."""

    __tablename__ = "dim_month"

    month_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # YYYYMM
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(9))
    slug: Mapped[str] = mapped_column(String(16), unique=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer)


class DimOrganisation(Base):
    """An organisation (type 1: the latest known facts about it overwrite the old)."""

    __tablename__ = "dim_organisation"

    organisation_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    content_id: Mapped[str] = mapped_column(String(64), unique=True)
    slug: Mapped[str | None] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(Text)
    acronym: Mapped[str | None] = mapped_column(String(64))
    organisation_type: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[date | None] = mapped_column(Date)
    parent_slug: Mapped[str | None] = mapped_column(String(255))
    superseded_by_slug: Mapped[str | None] = mapped_column(String(255))
    analytics_identifier: Mapped[str | None] = mapped_column(String(32))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("load_batch.batch_id"))


class DimDocumentType(Base):
    """A document type: machine name and the label readers see."""

    __tablename__ = "dim_document_type"

    document_type_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(128))


class DimPage(Base):
    """A page item, `content_id:locale`: stable across title and path changes."""

    __tablename__ = "dim_page"

    page_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    content_id: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(16))

    __table_args__ = (UniqueConstraint("content_id", "locale"),)


class DimEdition(Base):
    """A version of a page as readers saw it: a type 2 slowly changing dimension.

    A new row only when something a reader would notice changed (`reader_hash`); the old
    row's `valid_to` is set to the new row's `valid_from`. Exactly one live row per page item
    and per base_path, enforced by partial unique indexes.
    """

    __tablename__ = "dim_edition"

    edition_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("dim_page.page_id"))
    content_id: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(16))
    base_path: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    document_type_key: Mapped[int] = mapped_column(
        ForeignKey("dim_document_type.document_type_key")
    )
    schema_name: Mapped[str] = mapped_column(String(64))
    publishing_app: Mapped[str | None] = mapped_column(String(64))
    primary_organisation_key: Mapped[int | None] = mapped_column(
        ForeignKey("dim_organisation.organisation_key")
    )
    first_published_at: Mapped[datetime | None] = mapped_column(DateTime)
    public_updated_at: Mapped[datetime | None] = mapped_column(DateTime)
    withdrawn: Mapped[bool] = mapped_column(Boolean)
    phase: Mapped[str | None] = mapped_column(String(16))
    valid_from: Mapped[datetime] = mapped_column(DateTime)
    valid_to: Mapped[datetime | None] = mapped_column(DateTime)
    is_live: Mapped[bool] = mapped_column(Boolean)
    # The page item's newest edition, live or not: the row listings show its metadata from.
    is_latest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reader_hash: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[int] = mapped_column(ForeignKey("load_batch.batch_id"))

    __table_args__ = (
        Index("ix_dim_edition_page_id", "page_id", "valid_from"),
        Index("ix_dim_edition_base_path", "base_path", "valid_from"),
        Index("ix_dim_edition_primary_organisation_key", "primary_organisation_key"),
        _partial_index("uq_dim_edition_live_page", "page_id", where="is_live", unique=True),
        _partial_index("uq_dim_edition_latest_page", "page_id", where="is_latest", unique=True),
        _partial_index(
            "ix_dim_edition_latest_organisation", "primary_organisation_key", where="is_latest"
        ),
        _partial_index("uq_dim_edition_live_base_path", "base_path", where="is_live", unique=True),
    )


class EditionOrganisation(Base):
    """Which organisations an edition belongs to; `is_primary` marks the publishing one."""

    __tablename__ = "link_edition_organisation"

    edition_key: Mapped[int] = mapped_column(
        ForeignKey("dim_edition.edition_key"), primary_key=True
    )
    organisation_key: Mapped[int] = mapped_column(
        ForeignKey("dim_organisation.organisation_key"), primary_key=True
    )
    is_primary: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index(None, "organisation_key"),)


class FactEditionMetrics(Base):
    """Figures about one edition's text and attachments."""

    __tablename__ = "fact_edition_metrics"

    edition_key: Mapped[int] = mapped_column(
        ForeignKey("dim_edition.edition_key"), primary_key=True
    )
    words: Mapped[int] = mapped_column(Integer)
    chars: Mapped[int] = mapped_column(Integer)
    sentences: Mapped[int] = mapped_column(Integer)
    readability: Mapped[float | None] = mapped_column(Float)
    pdf_count: Mapped[int] = mapped_column(Integer)
    doc_count: Mapped[int] = mapped_column(Integer)
    reading_time: Mapped[int] = mapped_column(Integer)
    batch_id: Mapped[int] = mapped_column(ForeignKey("load_batch.batch_id"))


def _metric_columns() -> dict[str, Mapped[int]]:
    return {name: mapped_column(BigInteger, nullable=False, default=0) for name in DAILY_METRICS}


class FactPageDaily(Base):
    """One row per edition live that day per day: the ten daily metrics.

    `batch_id` is the analytics batch, `feedex_batch_id` the feedback batch: the two sources
    load independently into the same row.
    """

    __tablename__ = "fact_page_daily"

    date_key: Mapped[int] = mapped_column(ForeignKey("dim_date.date_key"), primary_key=True)
    edition_key: Mapped[int] = mapped_column(
        ForeignKey("dim_edition.edition_key"), primary_key=True
    )
    page_id: Mapped[int] = mapped_column(ForeignKey("dim_page.page_id"))
    locals().update(_metric_columns())
    if TYPE_CHECKING:  # the metric columns just added, as the type checker sees them
        pviews: Mapped[int]
        upviews: Mapped[int]
        useful_yes: Mapped[int]
        useful_no: Mapped[int]
        searches: Mapped[int]
        feedex: Mapped[int]
        entrances: Mapped[int]
        exits: Mapped[int]
        bounces: Mapped[int]
        page_time: Mapped[int]
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("load_batch.batch_id"))
    feedex_batch_id: Mapped[int | None] = mapped_column(ForeignKey("load_batch.batch_id"))

    __table_args__ = (Index("ix_fact_page_daily_page_id", "page_id", "date_key"),)


class FactUnmatchedDaily(Base):
    """Usage of paths that matched no edition that day: kept, counted and reported."""

    __tablename__ = "fact_unmatched_daily"

    date_key: Mapped[int] = mapped_column(ForeignKey("dim_date.date_key"), primary_key=True)
    path: Mapped[str] = mapped_column(Text, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    locals().update(_metric_columns())
    batch_id: Mapped[int] = mapped_column(ForeignKey("load_batch.batch_id"))


class AggPageMonthly(Base):
    """Monthly sums per page item, refreshed for the months a load touched."""

    __tablename__ = "agg_page_monthly"

    month_key: Mapped[int] = mapped_column(ForeignKey("dim_month.month_key"), primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("dim_page.page_id"), primary_key=True)
    locals().update(_metric_columns())
    days: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_agg_page_monthly_page_id", "page_id", "month_key"),)


class AggPageWindow(Base):
    """Sums per page item over each rolling window ending on the warehouse's as-of date."""

    __tablename__ = "agg_page_window"

    window: Mapped[str] = mapped_column(String(16), primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("dim_page.page_id"), primary_key=True)
    locals().update(_metric_columns())
    days: Mapped[int] = mapped_column(Integer)

    # A listing's top pages by (unique) page views are read in index order, backwards
    # (kpi's content()).
    __table_args__ = tuple(
        Index(f"ix_agg_page_window_{metric}", "window", metric) for metric in ("pviews", "upviews")
    )


class AggOrganisationMonthly(Base):
    """Monthly sums per organisation of the page items' newest editions (0: no organisation).

    `pages` counts the page items with facts that month. No foreign key on the organisation:
    0 stands for none.
    """

    __tablename__ = "agg_organisation_monthly"

    month_key: Mapped[int] = mapped_column(ForeignKey("dim_month.month_key"), primary_key=True)
    organisation_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    locals().update(_metric_columns())
    pages: Mapped[int] = mapped_column(Integer)


class RollupState(Base):
    """What each rollup was last refreshed from: its as-of date and the newest batch it saw.

    Every rollup holds the facts of the days up to `as_of` and none after. `content_batch_id`
    is the newest content or organisations batch the organisation rollup saw.
    """

    __tablename__ = "rollup_state"

    rollup: Mapped[str] = mapped_column(String(32), primary_key=True)
    as_of: Mapped[date | None] = mapped_column(Date)
    date_from: Mapped[date | None] = mapped_column(Date)
    last_batch_id: Mapped[int] = mapped_column(Integer)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime)
    content_batch_id: Mapped[int | None] = mapped_column(Integer)


class RollupPendingDay(Base):
    """A day already in the rollups whose facts a load has replaced since: refolded next."""

    __tablename__ = "rollup_pending_day"

    date_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class RollupRetraction(Base):
    """What the rollups hold of a pending day, per page item: taken back out when refolded.

    A work table, emptied by every refresh; no foreign keys, so the copy costs little.
    """

    __tablename__ = "rollup_retraction"

    date_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    page_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    locals().update(_metric_columns())
