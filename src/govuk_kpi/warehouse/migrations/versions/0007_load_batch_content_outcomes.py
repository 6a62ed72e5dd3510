"""What each content load did with its items: new, changed, unchanged, collapsed."""

import sqlalchemy as sa
from alembic import op

revision = "0007"  # 2026-12-05
down_revision = "0006"

COLUMNS = ("rows_new", "rows_changed", "rows_unchanged", "rows_collapsed")


def upgrade() -> None:
    # NULL for the batches of other sources, and for content batches loaded before.
    for name in COLUMNS:
        op.add_column("load_batch", sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("load_batch") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
