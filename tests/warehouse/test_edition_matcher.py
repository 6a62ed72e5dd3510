"""The edition matcher against a brute-force search, on random edition histories.

The histories are built to hit what the matcher's shortcuts depend on: editions read in any
order (keys not following valid_from, equal valid_from broken by the key), several editions
at one path with gaps between them, editions replaced the moment they arrived or ending before
they start, ends at midnight, and paths whose newest edition is not live on the row's day.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from govuk_kpi.warehouse import load_daily
from govuk_kpi.warehouse.load_daily import EditionMatcher, Editions
from support.editions import live_edition

BASE = datetime(2026, 1, 1)


def _history(rng: random.Random, paths: int) -> list[tuple]:
    """(base_path, valid_from, valid_to, edition_key, page_id) rows, in no particular order."""
    rows = []
    keys = rng.sample(range(1, 100 * paths), 20 * paths)  # unique, unordered
    for p in range(paths):
        path = f"/p/{p}"
        at = BASE + timedelta(hours=rng.randrange(0, 24 * 20))
        for _ in range(rng.randint(1, 8)):
            kind = rng.random()
            if kind < 0.1:  # replaced the moment it arrived
                end = at
            elif kind < 0.15:  # ends before it starts (bad data): live on no day
                end = at - timedelta(hours=1)
            elif kind < 0.3:  # ends at midnight
                end = datetime.combine(
                    at.date() + timedelta(days=rng.randint(1, 4)), datetime.min.time()
                )
            elif kind < 0.4:  # still live (maybe beside later ones: the newest wins)
                end = None
            else:
                end = at + timedelta(hours=rng.randint(1, 24 * 5))
            page = rng.randint(1, 5)
            rows.append((path, at, end, keys.pop(), page))
            if rng.random() < 0.2:  # the same valid_from twice: the key breaks the tie
                rows.append((path, at, end, keys.pop(), page))
            gap = timedelta(hours=rng.choice([0, 0, 1, 30]))
            at = (end if end is not None and end > at else at) + gap
    rng.shuffle(rows)
    return rows


def _editions(rows: list[tuple]) -> Editions:
    paths, starts, ends, keys, pages = zip(*rows, strict=True)
    return Editions(
        pa.array(paths, type=pa.string()),
        np.array(starts, dtype="datetime64[us]"),
        np.array([np.datetime64("NaT") if e is None else e for e in ends], dtype="datetime64[us]"),
        np.array(keys, dtype=np.int64),
        np.array(pages, dtype=np.int64),
    )


def _matcher(rows: list[tuple], monkeypatch: pytest.MonkeyPatch) -> EditionMatcher:
    monkeypatch.setitem(load_daily.EDITION_READERS, "fake", lambda _c, _s: _editions(rows))
    return EditionMatcher(SimpleNamespace(dialect=SimpleNamespace(name="fake")))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("order", ["shuffled", "newest-first", "oldest-first"])
def test_matcher_agrees_with_brute_force(
    seed: int, order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    rows = _history(rng, 40)
    if order != "shuffled":  # the orders the readers usually give, which skip the sort
        rows.sort(key=lambda r: (r[1], r[3]), reverse=order == "newest-first")
    matcher = _matcher(rows, monkeypatch)
    paths = [*sorted({r[0] for r in rows}), "/p/none", "/p/1/"]
    first = BASE.date().toordinal() - 1
    cases = [(first + d, p) for d in range(40) for p in paths]
    rng.shuffle(cases)
    days = [d for d, _ in cases]
    want = [live_edition(rows, d, p) for d, p in cases]
    for given in (
        [p for _, p in cases],
        np.array([p for _, p in cases], dtype=object),
        pd.Series([p for _, p in cases], dtype="str"),
        pa.chunked_array([[p for _, p in cases[:7]], [p for _, p in cases[7:]]]),
    ):
        editions, pages = matcher.match(days, given)
        assert list(zip(editions.tolist(), pages.tolist(), strict=True)) == want


def test_by_path_lists_the_seen_editions_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _history(random.Random(1), 10)
    by_path = _matcher(rows, monkeypatch).by_path
    for path, entries in by_path.items():
        seen = sorted(
            (r for r in rows if r[0] == path and (r[2] is None or r[2] > r[1])),
            key=lambda r: (r[1], r[3]),
        )
        assert [e[2] for e in entries] == [r[3] for r in seen]
    assert set(by_path) == {r[0] for r in rows if r[2] is None or r[2] > r[1]}
