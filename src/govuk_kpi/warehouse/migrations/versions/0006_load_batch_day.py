"""Per day, what each daily load deleted and added (load_batch_day)."""

import sqlalchemy as sa
from alembic import op

revision = "0006"  # 2026-12-04
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "load_batch_day",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("date_key", sa.Integer(), nullable=False),
        sa.Column("rows_deleted", sa.Integer(), nullable=False),
        sa.Column("rows_added", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["load_batch.batch_id"],
            name=op.f("fk_load_batch_day_batch_id_load_batch"),
        ),
        sa.PrimaryKeyConstraint("batch_id", "date_key", name=op.f("pk_load_batch_day")),
    )


def downgrade() -> None:
    op.drop_table("load_batch_day")
