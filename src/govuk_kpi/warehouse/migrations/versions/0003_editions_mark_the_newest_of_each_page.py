"""Editions mark the newest of each page item, so listings need no GROUP BY over all editions."""

import sqlalchemy as sa
from alembic import op

revision = "0003"  # 2026-11-27
down_revision = "0002"

# Partial indexes over the newest editions: (column, unique) by index name.
LATEST_INDEXES = {
    "ix_dim_edition_latest_organisation": ("primary_organisation_key", False),
    "uq_dim_edition_latest_page": ("page_id", True),
}
LATEST = {"sqlite_where": sa.text("is_latest"), "postgresql_where": sa.text("is_latest")}


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
        for index, (column, unique) in LATEST_INDEXES.items():
            batch_op.create_index(index, [column], unique=unique, **LATEST)


def downgrade() -> None:
    with op.batch_alter_table("dim_edition", schema=None) as batch_op:
        for index in reversed(LATEST_INDEXES):
            batch_op.drop_index(index)
        batch_op.drop_column("is_latest")
