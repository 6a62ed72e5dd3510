"""Incremental rollups: retractions of replaced days, and monthly sums per organisation."""

import sqlalchemy as sa
from alembic import op

revision = "0004"  # 2026-11-28
down_revision = "0003"

METRICS = "pviews upviews useful_yes useful_no searches feedex entrances exits bounces page_time"


def _metrics() -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in METRICS.split()]


def upgrade() -> None:
    op.create_table(
        "agg_organisation_monthly",
        sa.Column("month_key", sa.Integer(), nullable=False),
        sa.Column("organisation_key", sa.Integer(), autoincrement=False, nullable=False),
        *_metrics(),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["month_key"],
            ["dim_month.month_key"],
            name=op.f("fk_agg_organisation_monthly_month_key_dim_month"),
        ),
        sa.PrimaryKeyConstraint(
            "month_key", "organisation_key", name=op.f("pk_agg_organisation_monthly")
        ),
    )
    op.create_table(
        "rollup_pending_day",
        sa.Column("date_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("date_key", name=op.f("pk_rollup_pending_day")),
    )
    op.create_table(
        "rollup_retraction",
        sa.Column("date_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("page_id", sa.Integer(), autoincrement=False, nullable=False),
        *_metrics(),
        sa.PrimaryKeyConstraint("date_key", "page_id", name=op.f("pk_rollup_retraction")),
    )
    with op.batch_alter_table("rollup_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_batch_id", sa.Integer(), nullable=True))
    # Existing rollups recorded no as-of date for the monthly sums: the next refresh is a full
    # one, and it fills the new organisation rollup.


def downgrade() -> None:
    with op.batch_alter_table("rollup_state", schema=None) as batch_op:
        batch_op.drop_column("content_batch_id")
    op.drop_table("rollup_retraction")
    op.drop_table("rollup_pending_day")
    op.drop_table("agg_organisation_monthly")
