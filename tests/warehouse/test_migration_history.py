"""The migration scripts are history that deployed warehouses have run: what each step builds,
up and down, stays what it was when the step was written.

`migration_steps/<backend>.json` holds, for every step up to the head, back down to nothing and
up again, each table's columns, keys, foreign keys, unique constraints and indexes (partial
ones with their condition) as the database reports them. A change to a script that changes
what it builds fails here; a new step adds its entries (`GOVUK_KPI_WRITE_MIGRATION_STEPS=1`
rewrites the file, to be read in review).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from govuk_kpi.warehouse.db import alembic_config

STEPS = Path(__file__).with_name("migration_steps")


def _described(url: str) -> dict[str, Any]:
    """Every table as the database reports it, in a stable order."""
    engine = create_engine(url)
    try:
        found = inspect(engine)
        return {
            table: {
                "columns": [
                    [c["name"], str(c["type"]), c["nullable"], str(c.get("default"))]
                    for c in found.get_columns(table)
                ],
                "primary_key": found.get_pk_constraint(table),
                "foreign_keys": sorted(
                    (
                        fk["name"],
                        fk["constrained_columns"],
                        fk["referred_table"],
                        fk["referred_columns"],
                    )
                    for fk in found.get_foreign_keys(table)
                ),
                "unique": sorted(
                    (u["name"], u["column_names"]) for u in found.get_unique_constraints(table)
                ),
                "indexes": sorted(
                    (
                        i["name"],
                        i["column_names"],
                        bool(i["unique"]),
                        str(i.get("dialect_options", {}).get(f"{engine.dialect.name}_where")),
                    )
                    for i in found.get_indexes(table)
                ),
            }
            for table in sorted(found.get_table_names())
            if table != "alembic_version"
        }
    finally:
        engine.dispose()


def _step(url: str, move: Any, revision: str) -> None:
    config = alembic_config(url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            move(config, revision)
    finally:
        engine.dispose()


def test_each_migration_step_builds_what_it_always_built(db_url: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(db_url))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    steps: dict[str, Any] = {}
    for revision in revisions:
        _step(db_url, command.upgrade, revision)
        steps[f"up to {revision}"] = _described(db_url)
    for revision in [*reversed(revisions[:-1]), "base"]:
        _step(db_url, command.downgrade, revision)
        steps[f"down to {revision}"] = _described(db_url)
    _step(db_url, command.upgrade, "head")
    steps["up again to head"] = _described(db_url)
    # JSON's own round trip, so tuples compare with the stored lists
    found = json.loads(json.dumps(steps))
    stored = STEPS / f"{create_engine(db_url).dialect.name}.json"
    if os.environ.get("GOVUK_KPI_WRITE_MIGRATION_STEPS"):
        stored.write_text(json.dumps(found, indent=1) + "\n", encoding="utf-8")
    expected = json.loads(stored.read_text(encoding="utf-8"))
    assert list(found) == list(expected)
    for step, tables in expected.items():
        assert found[step] == tables, f"{step}: the schema differs from what it was"
