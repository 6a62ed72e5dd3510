"""Incremental rollups equal a full recomputation after every refresh, on both backends.

A small warehouse gets 13 months of facts in bulk (so every window's start moves over days
with facts), one full refresh, then 40 days through the real loaders with an incremental
refresh after each step: late reloads, feedback for an old day, a missing day filled in
later, a day reloaded twice between refreshes, several days at once, and a content change
that moves pages to other organisations.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.core.periods import WINDOWS, window_start
from govuk_kpi.sources.records import EditionRecord, OrganisationRef, TextMetrics
from govuk_kpi.warehouse.bulk import bulk_insert, move_key_sequences
from govuk_kpi.warehouse.calendar import date_key, date_range, ensure_dates
from govuk_kpi.warehouse.db import make_engine, upgrade
from govuk_kpi.warehouse.load_content import load_content
from govuk_kpi.warehouse.load_files import load_daily_path
from govuk_kpi.warehouse.models import (
    AggOrganisationMonthly,
    AggPageMonthly,
    AggPageWindow,
    RollupPendingDay,
    RollupRetraction,
    RollupState,
)
from govuk_kpi.warehouse.rollups import (
    MONTHLY,
    ORGANISATION_MONTHLY,
    folded_through,
    latest_fact_date,
    monthly_select,
    organisation_monthly_select,
    refresh_rollups,
    stale_rollups,
    window_select,
)

EVERYTHING = (MONTHLY, ORGANISATION_MONTHLY, *WINDOWS)
PAGES = 300
ORGANISATIONS = 4
HISTORY = (date(2025, 9, 1), date(2026, 9, 25))  # bulk-loaded, then one full refresh
TODAY = date(2026, 12, 31)
ANALYTICS = ("pviews", "upviews", "useful_yes", "useful_no", "searches", "entrances", "exits")
ANALYTICS += ("bounces", "page_time")
# Pages whose history lies where a window's start passes during the test, so that they leave
# it altogether: the past year's, the past 6 and 3 months' and the past 30 days' starts.
LEAVERS = {
    0: (date(2025, 9, 1), date(2025, 10, 20)),
    1: (date(2026, 3, 20), date(2026, 4, 10)),
    2: (date(2026, 6, 20), date(2026, 7, 20)),
    3: (date(2026, 8, 20), date(2026, 9, 5)),
    4: (date(2025, 9, 1), date(2026, 8, 31)),
}
# Pages with no facts since August but on one day each, dropped when that day is reloaded with
# fewer pages: their month's row, and window rows, must go.
RARE = {4: date(2026, 9, 28), 29: date(2026, 10, 15), 54: date(2026, 10, 2)}
MOVED = {7: "/page-7-moved", 33: "/page-33-moved"}


def _content_id(page: int) -> str:
    return str(uuid.UUID(int=(7 << 64) + page))


def _organisation_id(organisation: int) -> str:
    return str(uuid.UUID(int=organisation))


def _organisation_of(page: int) -> int | None:
    return None if page % 11 == 0 else page % ORGANISATIONS + 1


def _history_has(page: int, day: date) -> bool:
    kind = page % 25
    if kind in LEAVERS:
        first, last = LEAVERS[kind]
        return first <= day <= last
    return (page * 7 + day.toordinal()) % 5 != 0  # most days, not all


def _figures(rng: random.Random) -> tuple[int, ...]:
    pviews = rng.randint(0, 500)
    return (pviews, pviews * 3 // 4, pviews // 50, pviews // 90, pviews // 20, pviews // 3)


def build(url: str) -> Engine:
    """Dimensions and 13 months of facts, straight into the tables; then a full refresh."""
    upgrade(url)
    engine = make_engine(url)
    then = datetime(2020, 1, 1)
    with engine.begin() as conn:
        batch = (
            "INSERT INTO load_batch (source, uri, sha256, code_version, date_from, date_to,"
            " rows_read, rows_loaded, rows_rejected, rows_unmatched, started_at, finished_at,"
            " status, is_generated) VALUES (:source, 'test', :sha, 'test', :first, :last,"
            " 0, 0, 0, 0, :at, :at, 'loaded', false) RETURNING batch_id"
        )
        content = conn.execute(
            text(batch), {"source": "content", "sha": "c", "first": None, "last": None, "at": then}
        ).scalar_one()
        analytics = conn.execute(
            text(batch),
            {"source": "analytics", "sha": "a", "first": HISTORY[0], "last": HISTORY[1],
             "at": then},
        ).scalar_one()  # fmt: skip
        bulk_insert(conn, "dim_document_type", ("document_type_key", "name", "label"),
                    [(1, "guide", "Guide")])  # fmt: skip
        bulk_insert(
            conn,
            "dim_organisation",
            ("organisation_key", "content_id", "slug", "title", "status", "batch_id"),
            [
                (o, _organisation_id(o), f"org-{o}", f"Organisation {o}", "live", content)
                for o in range(1, ORGANISATIONS + 1)
            ],
        )
        bulk_insert(
            conn,
            "dim_page",
            ("page_id", "content_id", "locale"),
            [(p, _content_id(p), "en") for p in range(1, PAGES + 1)],
        )
        columns = (
            "edition_key", "page_id", "content_id", "locale", "base_path", "title",
            "document_type_key", "schema_name", "primary_organisation_key", "withdrawn",
            "valid_from", "is_live", "is_latest", "reader_hash", "batch_id",
        )  # fmt: skip
        bulk_insert(
            conn,
            "dim_edition",
            columns,
            [
                (p, p, _content_id(p), "en", f"/page-{p}", f"Page {p}", 1, "guide",
                 _organisation_of(p), False, then, True, True, f"h{p}", content)
                for p in range(1, PAGES + 1)
            ],
        )  # fmt: skip
        days = date_range(*HISTORY)
        ensure_dates(conn, days)
        rng = random.Random(1)
        facts = []
        for day in days:
            for page in range(1, PAGES + 1):
                if _history_has(page, day):
                    pv, upv, yes, no, searches, rest = _figures(rng)
                    metrics = (pv, upv, yes, no, searches, rng.randint(0, 2), rest, rest, rest,
                               pv * 40)  # fmt: skip
                    facts.append((date_key(day), page, page, *metrics, analytics))
        bulk_insert(
            conn,
            "fact_page_daily",
            ("date_key", "edition_key", "page_id", *DAILY_METRICS, "batch_id"),
            facts,
        )
        move_key_sequences(
            conn,
            {
                "dim_document_type": "document_type_key",
                "dim_organisation": "organisation_key",
                "dim_page": "page_id",
                "dim_edition": "edition_key",
            },
        )
    refresh_rollups(engine, full=True)
    return engine


class Loads:
    """Daily CSVs in the documented formats, loaded by the real loader."""

    def __init__(self, engine: Engine, folder: Path) -> None:
        self.engine = engine
        self.folder = folder
        self.files = 0

    def _write(self, header: str, lines: list[str]) -> Path:
        self.files += 1
        path = self.folder / f"{self.files:03d}.csv"
        path.write_text(header + "\n" + "".join(f"{line}\n" for line in lines))
        return path

    def analytics(self, days: list[date], seed: int, share: float = 0.8) -> None:
        lines = []
        for day in days:
            rng = random.Random(f"{day}-{seed}")
            for page in range(1, PAGES + 1):
                if page % 25 == 4:
                    wanted = RARE.get(page) == day and share >= 0.8
                else:
                    wanted = rng.random() < share
                # A page that moved is still seen at its old path (matched until it moved).
                paths = [f"/page-{page}", MOVED[page]] if page in MOVED else [f"/page-{page}"]
                for path in paths if wanted else ():
                    pv, upv, yes, no, searches, rest = _figures(rng)
                    lines.append(
                        f"{day},{path},{pv},{upv},{yes},{no},{searches},{rest},{rest},"
                        f"{rest},{pv * 40}"
                    )
            lines.append(f"{day},/no-such-page,5,5,0,0,0,0,0,0,0")  # unmatched: not rolled up
        header = "date,path," + ",".join(ANALYTICS)
        self._load(self._write(header, lines), "analytics")

    def feedback(self, day: date, seed: int) -> None:
        rng = random.Random(f"feedback-{day}-{seed}")
        pages = rng.sample(range(1, PAGES + 1), 60)  # some without analytics that day
        lines = [f"{day},/page-{page},{rng.randint(1, 9)}" for page in pages]
        self._load(self._write("date,path,feedex", lines), "feedback")

    def _load(self, path: Path, source: str) -> None:
        result = load_daily_path(self.engine, path, source, today=TODAY)
        assert result.batch_id is not None and result.rows_rejected == 0, result.summary()


def move_pages(engine: Engine, pages: list[int], observed: datetime) -> None:
    """A content load in which `pages` get a new edition with another primary organisation.

    Those in MOVED move path too: on the day they move, the page has two editions with facts.
    """
    records = []
    for page in pages:
        old = _organisation_of(page)
        new = None if old == 1 else (old or 0) % ORGANISATIONS + 1
        ref = OrganisationRef(_organisation_id(new)) if new else None
        records.append(
            EditionRecord(
                content_id=_content_id(page),
                locale="en",
                base_path=MOVED.get(page, f"/page-{page}"),
                title=f"Page {page}",
                description=None,
                document_type="guide",
                schema_name="guide",
                publishing_app=None,
                primary_organisation=ref,
                organisations=(ref,) if ref else (),
                first_published_at=datetime(2020, 1, 1, tzinfo=UTC),
                public_updated_at=None,
                updated_at=None,
                withdrawn=False,
                phase="live",
                metrics=TextMetrics(100, 600, 5, 60.0, 0, 0),
            )
        )
    result = load_content(engine, records, uri="test:move", sha256="move", observed_at=observed)
    assert result.rows_loaded == len(pages), result.summary()


def _rows(connection, query) -> set[tuple]:
    # Sums come back as Decimal on PostgreSQL: equal, and hashed alike, to the ints.
    return set(map(tuple, connection.execute(query).all()))


def assert_equals_full_recomputation(engine: Engine) -> None:
    """Every rollup table holds what the full-recomputation queries give now."""
    with engine.connect() as connection:
        as_of = latest_fact_date(connection)
        assert folded_through(connection) == as_of
        monthly = AggPageMonthly.__table__
        expected = _rows(connection, monthly_select())
        assert _rows(connection, select(*monthly.c)) == expected
        organisations = AggOrganisationMonthly.__table__
        assert _rows(connection, select(*organisations.c)) == _rows(
            connection, organisation_monthly_select(monthly_select().subquery())
        )
        window = AggPageWindow.__table__
        for name in WINDOWS:
            actual = _rows(connection, select(*window.c).where(window.c.window == name))
            assert actual == _rows(connection, window_select(name, as_of)), name
            state = connection.execute(select(RollupState).where(RollupState.rollup == name)).one()
            assert (state.as_of, state.date_from) == (as_of, window_start(name, as_of))
        for table in (RollupPendingDay, RollupRetraction):
            assert connection.execute(select(func.count()).select_from(table)).scalar_one() == 0
        assert stale_rollups(connection) == []


def _nothing_retracted(engine: Engine) -> bool:
    with engine.connect() as connection:
        return connection.execute(select(func.count(RollupPendingDay.date_key))).scalar_one() == 0


def _refresh(engine: Engine, recomputed: tuple[str, ...] = ()) -> list[int]:
    """An incremental refresh (recomputing only `recomputed`); returns the months it changed."""
    result = refresh_rollups(engine)
    assert result.recomputed == list(recomputed), result.summary()
    assert_equals_full_recomputation(engine)
    return result.months


def test_incremental_refresh_equals_full_recomputation(db_url: str, tmp_path: Path) -> None:
    engine = build(db_url)
    assert_equals_full_recomputation(engine)
    loads = Loads(engine, tmp_path)
    day = HISTORY[1]

    def next_days(count: int) -> list[date]:
        nonlocal day
        days = date_range(day + timedelta(days=1), day + timedelta(days=count))
        day = days[-1]
        return days

    # New days one by one, into October; one day is missing.
    for new in next_days(8):  # 26 September .. 3 October
        if new == date(2026, 10, 2):
            continue
        loads.analytics([new], seed=1)
        assert _nothing_retracted(engine)  # a first-time load of a new day keeps nothing
        assert _refresh(engine) == [new.year * 100 + new.month]
    # The missing day arrives late.
    loads.analytics([date(2026, 10, 2)], seed=1)
    assert not _nothing_retracted(engine)
    assert _refresh(engine) == [202610]
    # A late reload with different figures, and fewer pages; feedback for an old day.
    loads.analytics([date(2026, 9, 28)], seed=2, share=0.5)
    loads.feedback(date(2026, 9, 27), seed=1)
    assert _refresh(engine) == [202609]
    # A day reloaded twice between refreshes, with a new day; and feedback that is on time.
    loads.analytics([date(2026, 9, 30)], seed=3)
    loads.analytics([date(2026, 9, 30)], seed=4, share=0.9)
    loads.analytics(next_days(1), seed=1)
    loads.feedback(day, seed=2)
    assert _refresh(engine) == [202609, 202610]
    # Several new days at once: one by one, then three in one file.
    for new in next_days(3):
        loads.analytics([new], seed=1)
    loads.analytics(next_days(3), seed=1)
    _refresh(engine)
    # A file over folded and new days at once.
    loads.analytics([day - timedelta(days=1), *next_days(1)], seed=5)
    _refresh(engine)
    # Old days: out of the past 30 days, and out of every window.
    loads.analytics([date(2026, 9, 1)], seed=7)
    loads.feedback(date(2025, 9, 10), seed=3)
    assert _refresh(engine) == [202509, 202609]
    # A content change moves pages to other organisations (and one to none).
    move_pages(engine, [5, 6, 7, 12, 33], datetime.combine(day + timedelta(days=1), time(9)))
    with engine.connect() as connection:
        assert ORGANISATION_MONTHLY in stale_rollups(connection)
    loads.analytics(next_days(1), seed=1)
    _refresh(engine, recomputed=(ORGANISATION_MONTHLY,))
    # A refresh with nothing new is harmless.
    assert _refresh(engine) == []
    # The rest of the 40 days, day by day across the end of October.
    while day < date(2026, 11, 4):
        loads.analytics(next_days(1), seed=1)
        _refresh(engine)
    # An old day reloaded with no page of it matched: the newest day still has facts.
    loads.analytics([date(2026, 10, 15)], seed=6, share=0.0)
    _refresh(engine)
    # A full refresh gives the same tables.
    refresh_rollups(engine, full=True)
    assert_equals_full_recomputation(engine)


def test_falls_back_to_a_full_refresh(db_url: str, tmp_path: Path) -> None:
    """No as-of date (rollups from before 0004), and facts gone from the newest day."""
    engine = build(db_url)
    loads = Loads(engine, tmp_path)
    with engine.begin() as connection:
        connection.execute(
            RollupState.__table__.update().where(RollupState.rollup == "monthly").values(as_of=None)
        )
    loads.analytics([date(2026, 9, 26)], seed=1)
    _refresh(engine, recomputed=EVERYTHING)
    # The newest day's only matched rows go: the newest fact date moves back.
    loads.analytics([date(2026, 9, 27)], seed=1)
    _refresh(engine)
    loads.analytics([date(2026, 9, 27)], seed=2, share=0.0)
    with engine.connect() as connection:
        assert latest_fact_date(connection) == date(2026, 9, 26)
    _refresh(engine, recomputed=EVERYTHING)


@pytest.mark.parametrize(
    ("gap", "recomputed"),
    [(40, ("past-30-days",)), (60, ("past-30-days", "past-3-months"))],
)
def test_a_long_gap_recomputes_the_windows_it_outran(
    db_url: str, tmp_path: Path, gap: int, recomputed: tuple[str, ...]
) -> None:
    """Windows whose moved-out and moved-in days outnumber their own are read afresh."""
    engine = build(db_url)
    loads = Loads(engine, tmp_path)
    loads.analytics([HISTORY[1] + timedelta(days=gap)], seed=1)
    _refresh(engine, recomputed=recomputed)
