"""star schema"""

import sqlalchemy as sa
from alembic import op

revision = "0001"  # 2026-11-27
down_revision = None

METRICS = "pviews upviews useful_yes useful_no searches feedex entrances exits bounces page_time"
# The partial unique indexes: one live edition per base path, and per page.
LIVE_INDEXES = {"uq_dim_edition_live_base_path": "base_path", "uq_dim_edition_live_page": "page_id"}
LIVE = {"sqlite_where": sa.text("is_live"), "postgresql_where": sa.text("is_live")}


def _metrics() -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in METRICS.split()]


def _create_table(
    name: str,
    *columns: sa.Column,
    key: tuple[str, ...],
    refers: dict[str, str] | None = None,
    unique: tuple[str, ...] = (),
) -> None:
    """`op.create_table` with its constraints named as the metadata names them: a foreign key
    for each of `refers` (column: "table.column"), the primary key, and one unique constraint."""
    constraints: list[sa.Constraint] = [
        sa.ForeignKeyConstraint(
            [column], [target], name=op.f(f"fk_{name}_{column}_{target.split('.')[0]}")
        )
        for column, target in (refers or {}).items()
    ]
    constraints.append(sa.PrimaryKeyConstraint(*key, name=op.f(f"pk_{name}")))
    if unique:
        constraints.append(sa.UniqueConstraint(*unique, name=op.f(f"uq_{name}_{'_'.join(unique)}")))
    op.create_table(name, *columns, *constraints)


def upgrade() -> None:
    _create_table(
        "dim_document_type",
        sa.Column("document_type_key", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        key=("document_type_key",),
        unique=("name",),
    )
    _create_table(
        "dim_month",
        sa.Column("month_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=9), nullable=False),
        sa.Column("slug", sa.String(length=16), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        key=("month_key",),
        unique=("slug",),
    )
    _create_table(
        "dim_page",
        sa.Column("page_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("content_id", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        key=("page_id",),
        unique=("content_id", "locale"),
    )
    _create_table(
        "load_batch",
        sa.Column("batch_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("code_version", sa.String(length=64), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=True),
        sa.Column("date_to", sa.Date(), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_loaded", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("rows_unmatched", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        key=("batch_id",),
    )
    with op.batch_alter_table("load_batch", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_load_batch_source_status"), ["source", "status"], unique=False
        )

    _create_table(
        "rollup_state",
        sa.Column("rollup", sa.String(length=32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("date_from", sa.Date(), nullable=True),
        sa.Column("last_batch_id", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(), nullable=False),
        key=("rollup",),
    )
    _create_table(
        "agg_page_monthly",
        sa.Column("month_key", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        *_metrics(),
        sa.Column("days", sa.Integer(), nullable=False),
        key=("month_key", "page_id"),
        refers={"month_key": "dim_month.month_key", "page_id": "dim_page.page_id"},
    )
    with op.batch_alter_table("agg_page_monthly", schema=None) as batch_op:
        batch_op.create_index("ix_agg_page_monthly_page_id", ["page_id", "month_key"], unique=False)

    _create_table(
        "agg_page_window",
        sa.Column("window", sa.String(length=16), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        *_metrics(),
        sa.Column("days", sa.Integer(), nullable=False),
        key=("window", "page_id"),
        refers={"page_id": "dim_page.page_id"},
    )
    _create_table(
        "dim_date",
        sa.Column("date_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("month_key", sa.Integer(), nullable=False),
        sa.Column("iso_year", sa.Integer(), nullable=False),
        sa.Column("iso_week", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("day_of_week", sa.Integer(), nullable=False),
        sa.Column("day_name", sa.String(length=9), nullable=False),
        sa.Column("is_weekend", sa.Boolean(), nullable=False),
        key=("date_key",),
        refers={"month_key": "dim_month.month_key"},
        unique=("date",),
    )
    _create_table(
        "dim_organisation",
        sa.Column("organisation_key", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("content_id", sa.String(length=64), nullable=False),
        sa.Column("slug", sa.String(length=255), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("acronym", sa.String(length=64), nullable=True),
        sa.Column("organisation_type", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("closed_at", sa.Date(), nullable=True),
        sa.Column("parent_slug", sa.String(length=255), nullable=True),
        sa.Column("superseded_by_slug", sa.String(length=255), nullable=True),
        sa.Column("analytics_identifier", sa.String(length=32), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        key=("organisation_key",),
        refers={"batch_id": "load_batch.batch_id"},
        unique=("content_id",),
    )
    with op.batch_alter_table("dim_organisation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dim_organisation_slug"), ["slug"], unique=False)

    _create_table(
        "load_reject",
        sa.Column("reject_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw_line", sa.Text(), nullable=True),
        key=("reject_id",),
        refers={"batch_id": "load_batch.batch_id"},
    )
    with op.batch_alter_table("load_reject", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_load_reject_batch_id"), ["batch_id"], unique=False)

    _create_table(
        "dim_edition",
        sa.Column("edition_key", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("base_path", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("document_type_key", sa.Integer(), nullable=False),
        sa.Column("schema_name", sa.String(length=64), nullable=False),
        sa.Column("publishing_app", sa.String(length=64), nullable=True),
        sa.Column("primary_organisation_key", sa.Integer(), nullable=True),
        sa.Column("first_published_at", sa.DateTime(), nullable=True),
        sa.Column("public_updated_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=True),
        sa.Column("valid_from", sa.DateTime(), nullable=False),
        sa.Column("valid_to", sa.DateTime(), nullable=True),
        sa.Column("is_live", sa.Boolean(), nullable=False),
        sa.Column("reader_hash", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        key=("edition_key",),
        refers={
            "batch_id": "load_batch.batch_id",
            "document_type_key": "dim_document_type.document_type_key",
            "page_id": "dim_page.page_id",
            "primary_organisation_key": "dim_organisation.organisation_key",
        },
    )
    with op.batch_alter_table("dim_edition", schema=None) as batch_op:
        batch_op.create_index("ix_dim_edition_base_path", ["base_path", "valid_from"], unique=False)
        batch_op.create_index("ix_dim_edition_page_id", ["page_id", "valid_from"], unique=False)
        batch_op.create_index(
            "ix_dim_edition_primary_organisation_key", ["primary_organisation_key"], unique=False
        )
        for index, column in LIVE_INDEXES.items():
            batch_op.create_index(index, [column], unique=True, **LIVE)

    _create_table(
        "fact_unmatched_daily",
        sa.Column("date_key", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        *_metrics(),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        key=("date_key", "path", "source"),
        refers={"batch_id": "load_batch.batch_id", "date_key": "dim_date.date_key"},
    )
    _create_table(
        "fact_edition_metrics",
        sa.Column("edition_key", sa.Integer(), nullable=False),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.Column("sentences", sa.Integer(), nullable=False),
        sa.Column("readability", sa.Float(), nullable=True),
        sa.Column("pdf_count", sa.Integer(), nullable=False),
        sa.Column("doc_count", sa.Integer(), nullable=False),
        sa.Column("reading_time", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        key=("edition_key",),
        refers={"batch_id": "load_batch.batch_id", "edition_key": "dim_edition.edition_key"},
    )
    _create_table(
        "fact_page_daily",
        sa.Column("date_key", sa.Integer(), nullable=False),
        sa.Column("edition_key", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        *_metrics(),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("feedex_batch_id", sa.Integer(), nullable=True),
        key=("date_key", "edition_key"),
        refers={
            "batch_id": "load_batch.batch_id",
            "date_key": "dim_date.date_key",
            "edition_key": "dim_edition.edition_key",
            "feedex_batch_id": "load_batch.batch_id",
            "page_id": "dim_page.page_id",
        },
    )
    with op.batch_alter_table("fact_page_daily", schema=None) as batch_op:
        batch_op.create_index("ix_fact_page_daily_page_id", ["page_id", "date_key"], unique=False)

    _create_table(
        "link_edition_organisation",
        sa.Column("edition_key", sa.Integer(), nullable=False),
        sa.Column("organisation_key", sa.Integer(), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        key=("edition_key", "organisation_key"),
        refers={
            "edition_key": "dim_edition.edition_key",
            "organisation_key": "dim_organisation.organisation_key",
        },
    )
    with op.batch_alter_table("link_edition_organisation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_link_edition_organisation_organisation_key"),
            ["organisation_key"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("link_edition_organisation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_edition_organisation_organisation_key"))

    op.drop_table("link_edition_organisation")
    with op.batch_alter_table("fact_page_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_fact_page_daily_page_id")

    op.drop_table("fact_page_daily")
    op.drop_table("fact_edition_metrics")
    op.drop_table("fact_unmatched_daily")
    with op.batch_alter_table("dim_edition", schema=None) as batch_op:
        for index in reversed(LIVE_INDEXES):
            batch_op.drop_index(index, **LIVE)
        batch_op.drop_index("ix_dim_edition_primary_organisation_key")
        batch_op.drop_index("ix_dim_edition_page_id")
        batch_op.drop_index("ix_dim_edition_base_path")

    op.drop_table("dim_edition")
    with op.batch_alter_table("load_reject", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_load_reject_batch_id"))

    op.drop_table("load_reject")
    with op.batch_alter_table("dim_organisation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dim_organisation_slug"))

    op.drop_table("dim_organisation")
    op.drop_table("dim_date")
    op.drop_table("agg_page_window")
    with op.batch_alter_table("agg_page_monthly", schema=None) as batch_op:
        batch_op.drop_index("ix_agg_page_monthly_page_id")

    op.drop_table("agg_page_monthly")
    op.drop_table("rollup_state")
    with op.batch_alter_table("load_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_load_batch_source_status"))

    op.drop_table("load_batch")
    op.drop_table("dim_page")
    op.drop_table("dim_month")
    op.drop_table("dim_document_type")
