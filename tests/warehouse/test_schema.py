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


def test_fact_page_daily_declares_every_daily_metric_to_the_type_checker() -> None:
    """The metric columns are added from the registry at import; the block the type checker
    reads names them again, and must follow the registry."""
    import ast
    import inspect as source_of

    from govuk_kpi.core.metrics import DAILY_METRICS
    from govuk_kpi.warehouse.models import FactPageDaily

    (cls,) = ast.parse(source_of.getsource(FactPageDaily)).body
    assert isinstance(cls, ast.ClassDef)
    declared = [
        statement.target.id
        for block in cls.body
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
        for statement in block.body
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
    ]
    assert declared == list(DAILY_METRICS)
    assert all(name in FactPageDaily.__table__.columns for name in declared)
