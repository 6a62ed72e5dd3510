"""The edition readers each backend registers give what SQLAlchemy gives, and the matcher
finds, for each path and day, the newest edition live that day (checked against a plain
search over all the editions of the sample warehouse, whose pages have histories)."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import create_engine

from govuk_kpi.warehouse import load_daily
from govuk_kpi.warehouse.db import make_engine
from govuk_kpi.warehouse.load_daily import (
    EDITION_READERS,
    EditionMatcher,
    Editions,
    _read_editions,
)
from support.editions import live_edition


def _rows(editions: Editions) -> list[tuple]:
    return sorted(
        zip(
            editions.paths.to_pylist(),
            editions.valid_from.tolist(),
            editions.valid_to.tolist(),
            editions.edition_keys.tolist(),
            editions.page_ids.tolist(),
            strict=True,
        )
    )


def _days(editions: Editions) -> list[date]:
    starts = editions.valid_from.astype("datetime64[D]").tolist()
    first, last = min(starts), max(starts)
    middle = first + (last - first) / 2
    return [first, middle, last, last + timedelta(days=3)]


@pytest.mark.parametrize("chunk", [None, 7], ids=["one-chunk", "chunks-of-7"])
def test_registered_readers_give_what_sqlalchemy_gives(
    sample_url: str, chunk: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if chunk is not None:
        monkeypatch.setattr(load_daily, "_SQLITE_CHUNK", chunk)  # SQLite reads in chunks
    engine = make_engine(sample_url)
    with engine.connect() as conn:
        reference = _read_editions(conn, None)
        assert len(reference.paths) > 0
        assert (~np.isnat(reference.valid_to)).any(), "the sample should have ended editions"
        read = EDITION_READERS[conn.dialect.name]
        assert _rows(read(conn, None)) == _rows(reference)
        for day in _days(reference):
            got = _rows(read(conn, day))
            assert got == _rows(_read_editions(conn, day))
            # Everything that can be live on or after the day is there.
            whole = _rows(reference)
            needed = [r for r in whole if r[2] is None or r[2] > np.datetime64(day, "us").item()]
            assert set(needed) <= set(got)
    engine.dispose()


def test_matcher_finds_the_newest_live_edition(
    sample_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load_daily, "_SQLITE_CHUNK", 1000)  # several chunks on SQLite
    engine = make_engine(sample_url)
    with engine.connect() as conn:
        reference = _read_editions(conn, None)
        rows = _rows(reference)
        paths = sorted({r[0] for r in rows})
        rng = np.random.default_rng(7)
        chosen = [paths[i] for i in rng.choice(len(paths), size=min(300, len(paths)))]
        # The paths with the longest histories, and one no edition has.
        by_count: dict[str, int] = {}
        for r in rows:
            by_count[r[0]] = by_count.get(r[0], 0) + 1
        chosen += [*sorted(by_count, key=by_count.get)[-20:], "/no-such-page"]
        for day in _days(reference):
            ordinal = day.toordinal()
            want = [live_edition(rows, ordinal, p) for p in chosen]
            for since in (None, day):
                editions, pages = EditionMatcher(conn, since=since).match(
                    [ordinal] * len(chosen), np.array(chosen, dtype=object)
                )
                assert list(zip(editions.tolist(), pages.tolist(), strict=True)) == want
    engine.dispose()


def test_sqlite_reader_falls_back_when_a_value_holds_the_separator(tmp_path) -> None:
    """A SQLite-only reader, so a SQLite warehouse of its own (no backend to skip)."""
    from datetime import datetime

    from govuk_kpi.core.data import govuk_data_dir
    from govuk_kpi.warehouse.db import get_engine, upgrade
    from govuk_kpi.warehouse.load_files import load_content_path

    copy = tmp_path / "warehouse.db"
    upgrade(f"sqlite:///{copy}")
    for folder in ("guide", "answer", "help_page"):
        load_content_path(
            get_engine(f"sqlite:///{copy}"),
            govuk_data_dir() / "content-items" / folder,
            observed_at=datetime(2026, 1, 1),
        )
    get_engine(f"sqlite:///{copy}").dispose()
    with sqlite3.connect(copy) as raw:
        raw.execute(
            "UPDATE dim_edition SET base_path = base_path || char(10) || 'x'"
            " WHERE edition_key = (SELECT min(edition_key) FROM dim_edition)"
        )
    engine = create_engine(f"sqlite:///{copy}")
    with engine.connect() as conn:
        got = EDITION_READERS["sqlite"](conn, None)
        assert _rows(got) == _rows(_read_editions(conn, None))
        assert any("\n" in p for p in got.paths.to_pylist())
    engine.dispose()
