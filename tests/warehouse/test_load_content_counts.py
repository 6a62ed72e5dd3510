"""A content load says what it did with its items: new, changed, unchanged and collapsed."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from govuk_kpi.cli import main
from govuk_kpi.core.data import govuk_data_dir
from govuk_kpi.warehouse.batch import ItemOutcomes
from govuk_kpi.warehouse.db import get_engine, upgrade
from govuk_kpi.warehouse.load_files import load_content_path
from govuk_kpi.warehouse.models import LoadBatch

GUIDES = govuk_data_dir() / "content-items" / "guide"


def guides() -> list[dict]:
    """The real guides, one record per page item (some examples share a content_id)."""
    items: dict[tuple[str, str], dict] = {}
    for file in sorted(GUIDES.glob("*.json")):
        item = json.loads(file.read_text(encoding="utf-8"))
        if item.get("content_id"):
            items.setdefault((item["content_id"], item.get("locale", "en")), item)
    return list(items.values())


def write_jsonl(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return path


def test_a_load_counts_new_changed_unchanged_and_collapsed(db_url: str, tmp_path: Path) -> None:
    items = guides()
    upgrade(db_url)
    engine = get_engine(db_url)
    # The first item twice, the later record an edited title: one page, collapsed into one.
    edited = {**items[0], "title": items[0]["title"] + " (edited)"}
    first = load_content_path(
        engine,
        write_jsonl(tmp_path / "first.jsonl", [items[0], *items[1:], edited]),
        observed_at=datetime(2026, 10, 1),
    )
    pages = len(items)
    assert first.outcomes == ItemOutcomes(new=pages, collapsed=1)
    assert f"({pages} new, 0 changed, 0 unchanged, 1 collapsed)" in first.summary()

    retitled = {**items[1], "title": "A new title"}
    second = load_content_path(
        engine,
        write_jsonl(tmp_path / "second.jsonl", [edited, retitled, *items[2:]]),
        observed_at=datetime(2026, 10, 31, 6),
    )
    assert second.outcomes == ItemOutcomes(changed=1, unchanged=pages - 1)
    assert second.rows_loaded == 1
    assert f"(0 new, 1 changed, {pages - 1} unchanged, 0 collapsed)" in second.summary()

    with engine.connect() as connection:
        stored = connection.execute(
            select(LoadBatch.rows_new, LoadBatch.rows_changed, LoadBatch.rows_unchanged,
                   LoadBatch.rows_collapsed).where(LoadBatch.batch_id == second.batch_id)
        ).one()  # fmt: skip
    assert tuple(stored) == (0, 1, pages - 1, 0)
    listed = CliRunner().invoke(main, ["--database-url", db_url, "batches"])
    assert listed.exit_code == 0, listed.output
    assert f"0 new, 1 changed, {pages - 1} unchanged, 0 collapsed" in listed.output
    assert f"{pages} new, 0 changed, 0 unchanged, 1 collapsed" in listed.output


def test_the_command_line_says_it_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    runner = CliRunner()
    assert runner.invoke(main, ["--database-url", url, "db", "upgrade"]).exit_code == 0
    item = tmp_path / "item.json"
    item.write_text(json.dumps(guides()[0]), "utf-8")
    loaded = runner.invoke(
        main,
        ["--database-url", url, "load", "content", str(item), "--observed-at", "2026-10-31T06:00Z"],
    )
    assert loaded.exit_code == 0, loaded.output
    assert "1 loaded, 0 rejected (1 new, 0 changed, 0 unchanged, 0 collapsed)" in loaded.output
