"""The window rollup indexed by page views and unique page views, for listings' top pages."""

from alembic import op

revision = "0005"  # 2026-11-28
down_revision = "0004"

SORTED_BY = ("pviews", "upviews")


def upgrade() -> None:
    for metric in SORTED_BY:
        op.create_index(
            f"ix_agg_page_window_{metric}",
            "agg_page_window",
            ["window", metric],  # read backwards for the top pages
        )


def downgrade() -> None:
    for metric in SORTED_BY:
        op.drop_index(f"ix_agg_page_window_{metric}", table_name="agg_page_window")
