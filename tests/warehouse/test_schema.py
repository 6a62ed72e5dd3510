"""The Alembic migration builds exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from govuk_kpi.warehouse.db import current_revision, get_engine, head_revision, upgrade
from govuk_kpi.warehouse.models import Base


def test_migration_matches_models(db_url: str) -> None:
    upgrade(db_url)
    engine = get_engine(db_url)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_star_schema_names(db_url: str) -> None:
    upgrade(db_url)
    tables = set(inspect(get_engine(db_url)).get_table_names())
    assert {
        "dim_date",
        "dim_month",
        "dim_edition",
        "dim_page",
        "dim_organisation",
        "dim_document_type",
        "link_edition_organisation",
        "fact_page_daily",
        "fact_edition_metrics",
        "fact_unmatched_daily",
        "agg_page_monthly",
        "agg_page_window",
        "load_batch",
        "load_reject",
        "rollup_state",
    } <= tables


def test_upgrade_twice_is_harmless(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    assert current_revision(get_engine(db_url)) == head_revision()
