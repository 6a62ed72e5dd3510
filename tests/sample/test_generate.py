"""Tests of the seeded, calibrated sample generator (govuk_kpi.sample.generate)."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from govuk_kpi.core.data import govuk_data_dir
from govuk_kpi.core.paths import normalise_path
from govuk_kpi.sample.generate import (
    ANALYTICS_COLUMNS,
    FEEDBACK_COLUMNS,
    UNMATCHED_PATHS,
    SampleManifest,
    SamplePage,
    generate_sample,
    pages_from_content_dir,
)

DATA_DIR = govuk_data_dir()  # the project ships the data: no skipping


@pytest.fixture(scope="module")
def pages() -> list[SamplePage]:
    return pages_from_content_dir(DATA_DIR / "content-items")


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory, pages: list[SamplePage]) -> SampleManifest:
    return generate_sample(pages, tmp_path_factory.mktemp("full"))


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _read(files: tuple[Path, ...]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for file in files:
        with file.open(encoding="utf-8", newline="") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def _monthly(rows: list[dict[str, str]]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        totals[normalise_path(row["path"])] += int(row["pviews"])
    return totals


def test_pages_from_content_dir(pages: list[SamplePage]) -> None:
    paths = [p.base_path for p in pages]
    # 251 base paths in the data, less the schema examples that are not real pages.
    assert len(paths) == len(set(paths)) == 244
    assert "/" in paths
    assert "/protected-food-drink-names/example-title" not in paths
    assert not any("boer-war" in p for p in paths)
    assert all(p == normalise_path(p) for p in paths)
    assert any(p.withdrawn for p in pages)
    assert pages == pages_from_content_dir(DATA_DIR / "content-items")


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, pages: list[SamplePage]) -> None:
    generate_sample(pages, tmp_path / "a", days=45)
    generate_sample(pages, tmp_path / "b", days=45)
    generate_sample(pages, tmp_path / "c", days=45, seed=7)
    a, b, c = (_hashes(tmp_path / name) for name in "abc")
    assert a == b
    assert a != c


def test_range_and_files(full: SampleManifest) -> None:
    assert (full.start, full.as_of) == (date(2025, 10, 1), date(2026, 10, 31))
    names = [p.name for p in full.analytics_files]
    assert (names[0], names[-1]) == ("analytics-2025-10.csv", "analytics-2026-10.csv")
    assert len(full.analytics_files) == len(full.feedback_files) == 13
    out = full.analytics_files[0].parent.parent
    text = (out / "GENERATED.txt").read_text(encoding="utf-8")
    assert "generated" in text.lower() and "content-data-2022/table.json" in text
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["generated"] is True and manifest["rows"] == full.rows


def test_heavy_tail(full: SampleManifest) -> None:
    september = _monthly(_read((full.analytics_files[-2],)))
    ordered = sorted(september.values(), reverse=True)
    assert ordered[0] >= 1_000_000
    assert ordered[len(ordered) // 2] < 1_000
    assert september["/"] == ordered[0]


def test_csv_invariants(full: SampleManifest) -> None:
    rows = 0
    for file in full.analytics_files:
        lines = file.read_bytes().split(b"\n")
        assert lines[0].decode() == ",".join(ANALYTICS_COLUMNS)
        assert b"\r" not in file.read_bytes()
        seen: set[tuple[str, str]] = set()
        keys: list[tuple[str, str]] = []
        for row in _read((file,)):
            assert list(row) == list(ANALYTICS_COLUMNS)
            day = date.fromisoformat(row["date"])
            assert full.start <= day <= full.as_of
            n = {k: int(row[k]) for k in ANALYTICS_COLUMNS[2:]}
            assert all(v >= 0 for v in n.values())
            assert n["upviews"] <= n["pviews"] and n["exits"] <= n["pviews"]
            assert n["bounces"] <= n["entrances"] <= n["upviews"]
            assert n["useful_yes"] + n["useful_no"] <= n["upviews"]
            assert n["pviews"] > 0
            key = (row["date"], row["path"])
            assert key not in seen
            seen.add(key)
            keys.append(key)
        assert keys == sorted(keys)
        rows += len(keys)
    assert rows == full.rows
    for file in full.feedback_files:
        assert file.read_text(encoding="utf-8").split("\n")[0] == ",".join(FEEDBACK_COLUMNS)
        for row in _read((file,)):
            assert int(row["feedex"]) > 0


def test_path_variants(full: SampleManifest, pages: list[SamplePage]) -> None:
    rows = _read(full.analytics_files)
    variants = [r for r in rows if r["path"] != normalise_path(r["path"])]
    assert 0.01 < len(variants) / len(rows) < 0.03
    kinds = {
        "upper": any(r["path"] != r["path"].lower() for r in variants),
        "query": any("?" in r["path"] for r in variants),
        "slash": any(r["path"].endswith("/") and r["path"] != "/" for r in variants),
        "url": any(r["path"].startswith("https://www.gov.uk/") for r in variants),
    }
    assert all(kinds.values()), kinds
    # A page appears at most once a day, whatever its raw spelling.
    per_day: set[tuple[str, str]] = set()
    for row in rows:
        key = (row["date"], normalise_path(row["path"]))
        assert key not in per_day
        per_day.add(key)


def test_edition_changes(full: SampleManifest, pages: list[SamplePage]) -> None:
    kinds = [c.kind for c in full.changes]
    assert kinds.count("title") >= 3
    assert kinds.count("move") >= 2
    assert kinds.count("withdrawal") >= 2
    assert [d for d, _ in full.content_updates] == sorted(d for d, _ in full.content_updates)
    by_path = {p.base_path: p for p in pages}
    for change in full.changes:
        assert full.start <= change.on <= full.as_of
        assert change.file.parent.name == change.on.isoformat()
        doc = json.loads(change.file.read_text(encoding="utf-8"))
        original = json.loads(by_path[change.base_path].source_file.read_text(encoding="utf-8"))
        assert doc["updated_at"] == f"{change.on.isoformat()}T09:00:00Z"
        assert doc["content_id"] == original["content_id"]
        assert doc["locale"] == original["locale"]
        if change.kind == "title":
            assert doc["title"] == change.new_title != original["title"]
        elif change.kind == "move":
            assert doc["base_path"] == change.new_base_path != original["base_path"]
            assert change.new_base_path not in by_path
            assert doc["public_updated_at"] == doc["updated_at"]
        else:
            assert doc["withdrawn_notice"] and not original.get("withdrawn_notice")
            assert doc["public_updated_at"] == doc["updated_at"]
    # The months are spread: not all changes in one month.
    assert len({(c.on.year, c.on.month) for c in full.changes}) >= 4


def test_move_sends_traffic_to_the_new_path(full: SampleManifest) -> None:
    rows = _read(full.analytics_files)
    for move in (c for c in full.changes if c.kind == "move"):
        after = [r for r in rows if date.fromisoformat(r["date"]) >= move.on]
        before = [r for r in rows if date.fromisoformat(r["date"]) < move.on]
        new = sum(
            int(r["pviews"]) for r in after if normalise_path(r["path"]) == move.new_base_path
        )
        old = sum(int(r["pviews"]) for r in after if normalise_path(r["path"]) == move.base_path)
        assert new > 0
        assert old < 0.15 * new
        assert not any(normalise_path(r["path"]) == move.new_base_path for r in before)


def test_unmatched_paths_present(full: SampleManifest, pages: list[SamplePage]) -> None:
    known = {p.base_path for p in pages} | {c.new_base_path for c in full.changes}
    seen = {normalise_path(r["path"]) for r in _read(full.analytics_files)}
    unmatched = seen - known
    assert set(UNMATCHED_PATHS) <= unmatched
    # The old paths of moved pages still get a little traffic, and match nothing after the move.
    assert {c.base_path for c in full.changes if c.kind == "move"} <= seen


def test_pages_published_in_range_start_at_zero(tmp_path: Path, pages: list[SamplePage]) -> None:
    as_of = date(2026, 10, 31)
    published = as_of - timedelta(days=20)
    target = next(p for p in pages if p.base_path == "/")
    changed = [
        dataclasses.replace(p, first_published=published) if p is target else p for p in pages
    ]
    manifest = generate_sample(changed, tmp_path, as_of=as_of, days=60)
    dates = [
        date.fromisoformat(r["date"]) for r in _read(manifest.analytics_files) if r["path"] == "/"
    ]
    assert dates and min(dates) >= published


def test_rejects_bad_input(tmp_path: Path, pages: list[SamplePage]) -> None:
    with pytest.raises(ValueError):
        generate_sample([], tmp_path)
    with pytest.raises(ValueError):
        generate_sample(pages, tmp_path, days=0)
