"""load batch marks generated data"""

import sqlalchemy as sa
from alembic import op

revision = "0002"  # 2026-11-27
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("load_batch", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_generated", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("load_batch", schema=None) as batch_op:
        batch_op.drop_column("is_generated")
