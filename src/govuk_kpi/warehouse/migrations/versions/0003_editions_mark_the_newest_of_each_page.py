"""Editions mark the newest of each page item, so listings need no GROUP BY over all editions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dim_edition", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_latest", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # Existing editions: the newest of each page is the one with the highest key.
    op.execute(
        "UPDATE dim_edition SET is_latest = (edition_key = "
        "(SELECT max(e2.edition_key) FROM dim_edition e2 WHERE e2.page_id = dim_edition.page_id))"
    )
    with op.batch_alter_table("dim_edition", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dim_edition_latest_organisation",
            ["primary_organisation_key"],
            unique=False,
            sqlite_where=sa.text("is_latest"),
            postgresql_where=sa.text("is_latest"),
        )
        batch_op.create_index(
            "uq_dim_edition_latest_page",
            ["page_id"],
            unique=True,
            sqlite_where=sa.text("is_latest"),
            postgresql_where=sa.text("is_latest"),
        )


def downgrade() -> None:
    with op.batch_alter_table("dim_edition", schema=None) as batch_op:
        batch_op.drop_index("uq_dim_edition_latest_page")
        batch_op.drop_index("ix_dim_edition_latest_organisation")
        batch_op.drop_column("is_latest")
