"""A load or a rollup killed part way leaves the warehouse exactly as it was; a rerun completes it.

The load runs as the real command line in a child process. The test waits until the child is
inside its load transaction, observed from outside without any hook in the product code: on
SQLite the child holds the WAL write lock (a POSIX lock on byte 120 of `warehouse.db-shm`,
read from /proc/locks); on PostgreSQL its backend holds a row-exclusive lock on `load_batch`.
Then it waits about half of the transaction's length (measured by a clean load of the same file
into an identical warehouse) and sends SIGKILL.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, Integer, func, select, text

from govuk_kpi.sources.daily_csv import FORMATS
from govuk_kpi.warehouse.db import get_engine, upgrade
from govuk_kpi.warehouse.load_files import load_content_path, load_daily_path
from govuk_kpi.warehouse.models import Base, FactPageDaily, FactUnmatchedDaily, LoadBatch

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
GUIDES = REPO / "data" / "govuk" / "content-items" / "guide"
CLI = Path(sys.executable).with_name("govuk-kpi")
FIRST_DAY = date(2024, 3, 1)
SMALL_DAYS = 3
SQLITE_WRITE_LOCK = 120  # byte of the -shm file SQLite locks while a WAL write transaction runs


def build_small(url: str, folder: Path) -> Engine:
    """A small warehouse: the guide content items and a few days of analytics."""
    upgrade(url)
    engine = get_engine(url)
    load_content_path(engine, GUIDES, observed_at=datetime(2024, 1, 1))
    with engine.connect() as connection:
        paths = sorted(connection.execute(text("SELECT DISTINCT base_path FROM dim_edition")))
    rows = [
        f"{FIRST_DAY + timedelta(days=d)},{path},{10 + d},{5 + d},1,0,2,1,1,0,30"
        for d in range(SMALL_DAYS)
        for (path,) in [*paths, ("/not-a-page",)]
    ]
    small = folder / "small.csv"
    small.write_text(",".join(FORMATS["analytics"]) + "\n" + "\n".join(rows) + "\n")
    load_daily_path(engine, small, "analytics")
    return engine


def write_big_csv(path: Path, engine: Engine, rows: int, days: int = 8) -> Path:
    """An analytics CSV of `rows` rows over `days` days (overlapping the small warehouse's
    days, so the load must replace facts), for every edition path and many unmatched ones."""
    with engine.connect() as connection:
        found = connection.execute(text("SELECT DISTINCT base_path FROM dim_edition"))
        matched = sorted(path for (path,) in found)
    per_day = rows // days
    paths = [*matched, *(f"/generated/page-{i}" for i in range(per_day - len(matched)))]
    with path.open("w", encoding="utf-8") as out:
        out.write(",".join(FORMATS["analytics"]) + "\n")
        for d in range(days):
            day = (FIRST_DAY + timedelta(days=d - 1)).isoformat()
            for i, page in enumerate(paths):
                out.write(f"{day},{page},{i % 97 + d},{i % 89},{i % 7},{i % 5},{i % 3},1,1,0,{i}\n")
    return path


def snapshot(engine: Engine) -> dict[str, object]:
    """Every table's row count and integer column sums, and a hash of the fact rows."""
    picture: dict[str, object] = {}
    with engine.connect() as connection:
        for name, table in Base.metadata.tables.items():
            picture[name] = connection.execute(select(func.count()).select_from(table)).scalar_one()
            for column in table.columns:
                if isinstance(column.type, Integer):
                    total = connection.execute(select(func.sum(column))).scalar_one()
                    picture[f"{name}.{column.name}"] = int(total or 0)
    picture["facts"] = fact_hash(engine, with_batch=True)
    return picture


def fact_hash(engine: Engine, *, with_batch: bool) -> str:
    """SHA-256 of the daily fact rows (matched and unmatched) in key order."""
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for table, order in (
            (FactPageDaily.__table__, ("date_key", "edition_key")),
            (FactUnmatchedDaily.__table__, ("date_key", "source", "path")),
        ):
            columns = [
                c
                for c in table.columns
                if with_batch or c.name not in ("batch_id", "feedex_batch_id")
            ]
            query = select(*columns).order_by(*(table.c[name] for name in order))
            for row in connection.execute(query):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def sqlite_writer(db_file: Path, pid: int) -> bool:
    """Whether process `pid` holds SQLite's WAL write lock on `db_file` (see /proc/locks)."""
    shm = Path(f"{db_file}-shm")
    try:
        inode = shm.stat().st_ino
        locks = Path("/proc/locks").read_text().splitlines()
    except FileNotFoundError:
        return False
    for entry in locks:
        fields = entry.split()
        if "->" in fields:  # a waiter, not a holder
            continue
        # "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 120 120"
        if (
            len(fields) >= 8
            and fields[1] == "POSIX"
            and fields[3] == "WRITE"
            and int(fields[4]) == pid
            and int(fields[5].rsplit(":", 1)[1]) == inode
            and int(fields[6]) <= SQLITE_WRITE_LOCK <= int(fields[7])
        ):
            return True
    return False


def postgres_writer(engine: Engine) -> Callable[[int], bool]:
    """A probe: whether another backend holds a write lock on load_batch (a load has begun)."""

    def probe(_pid: int) -> bool:
        with engine.connect() as connection:
            return bool(
                connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                        "WHERE c.relname = 'load_batch' AND l.mode = 'RowExclusiveLock' "
                        "AND l.granted AND l.pid <> pg_backend_pid() AND l.database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())"
                    )
                ).scalar_one()
            )

    return probe


def start_load(url: str, csv: Path) -> subprocess.Popen[bytes]:
    """The command line loading `csv`, as a child process."""
    return subprocess.Popen(
        [str(CLI), "--database-url", url, "load", "analytics", str(csv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def timed_load(url: str, csv: Path, in_transaction: Callable[[int], bool]) -> float:
    """Load `csv` to the end; return how long the child was inside its transaction."""
    child = start_load(url, csv)
    began = None
    while child.poll() is None:
        if began is None and in_transaction(child.pid):
            began = time.perf_counter()
        time.sleep(0.002)
    _, err = child.communicate()
    assert child.returncode == 0, err.decode()
    assert began is not None, "never saw the load inside its transaction"
    return time.perf_counter() - began


@pytest.fixture
def fresh_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second empty database on the same backend as `db_url`."""
    if db_url.startswith("sqlite"):
        (tmp_path / "probe").mkdir()
        yield f"sqlite:///{tmp_path}/probe/warehouse.db"
        return
    cluster = request.getfixturevalue("postgres_cluster")
    name = f"t_{uuid.uuid4().hex}"
    url = cluster.create_database(name)
    try:
        yield url
    finally:
        cluster.drop_database(name)


def test_killed_load_leaves_the_warehouse_unchanged(
    db_url: str, fresh_url: str, tmp_path: Path
) -> None:
    """SIGKILL in the middle of a big analytics load: no trace of it (no batch, no facts, no
    dates), the database is sound, and rerunning the load gives what a clean load gives."""
    engine = build_small(db_url, tmp_path)
    reference = build_small(fresh_url, tmp_path)
    before = snapshot(engine)
    assert before == snapshot(reference)
    sqlite = db_url.startswith("sqlite")

    def probe_for(url: str, eng: Engine) -> Callable[[int], bool]:
        if sqlite:
            db_file = Path(url.removeprefix("sqlite:///"))
            return lambda pid: sqlite_writer(db_file, pid)
        return postgres_writer(eng)

    rows = 200_000
    for attempt in range(4):
        if attempt:
            # The last load finished before the kill: start both warehouses again, bigger file.
            rows *= 2
            engine, reference = _rebuild(db_url, tmp_path), _rebuild(fresh_url, tmp_path)
            before = snapshot(engine)
        big = write_big_csv(tmp_path / f"big-{rows}.csv", engine, rows)
        # A clean load of the same file into the identical warehouse: the expected result,
        # and how long a load stays inside its transaction.
        inside = timed_load(fresh_url, big, probe_for(fresh_url, reference))
        clean = fact_hash(reference, with_batch=False)

        child = start_load(db_url, big)
        probe = probe_for(db_url, engine)
        deadline = time.perf_counter() + 120
        while child.poll() is None and not probe(child.pid):
            assert time.perf_counter() < deadline, "the load never began its transaction"
            time.sleep(0.002)
        if child.poll() is None:
            time.sleep(inside * 0.4)
            # Still inside the transaction (not committed): kill it there.
            if child.poll() is None and probe(child.pid):
                os.kill(child.pid, signal.SIGKILL)
        child.communicate()
        if child.returncode == -signal.SIGKILL:
            break
        assert child.returncode == 0
    else:
        pytest.fail("the load always finished before it could be killed")

    assert child.returncode == -signal.SIGKILL
    engine.dispose()  # the child's connection is gone; start from new connections
    after = snapshot(engine)
    assert after == before
    with engine.connect() as connection:
        assert (
            connection.execute(select(func.count()).select_from(LoadBatch)).scalar_one()
            == (before["load_batch"])
        )
        if sqlite:
            assert connection.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []

    rerun = subprocess.run(
        [str(CLI), "--database-url", db_url, "load", "analytics", str(big)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert fact_hash(engine, with_batch=False) == clean
    with engine.connect() as connection:
        newest = connection.execute(
            select(LoadBatch.status, LoadBatch.rows_read).order_by(LoadBatch.batch_id.desc())
        ).first()
    assert newest is not None and tuple(newest) == ("loaded", rows)


def _rebuild(url: str, folder: Path) -> Engine:
    """Empty the warehouse at `url` and build the small one again."""
    engine = get_engine(url)
    engine.dispose()
    if url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
            connection.execute(text("DELETE FROM alembic_version"))
    return build_small(url, folder)


# -- a rollup killed part way ----------------------------------------------------------------


def postgres_rollup(engine: Engine) -> Callable[[int], bool]:
    """A probe: whether another backend holds the rollups' advisory lock (a refresh began)."""

    def probe(_pid: int) -> bool:
        with engine.connect() as connection:
            return bool(
                connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        "AND pid <> pg_backend_pid() AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())"
                    )
                ).scalar_one()
            )

    return probe


def rollup_picture(url: str) -> dict[str, str]:
    """Every table's rows (but the refresh's own time), to compare two warehouses."""
    from support.corpus import fingerprint

    picture = fingerprint(url, leave_out=("load_batch", "rollup_state"))
    with get_engine(url).connect() as connection:
        picture["rollup_state"] = repr(
            connection.execute(
                text("SELECT rollup, as_of, date_from, last_batch_id FROM rollup_state ORDER BY 1")
            ).all()
        )
    return picture


def start_rollup(url: str) -> subprocess.Popen[bytes]:
    """`govuk-kpi rollup --full` as a child process."""
    return subprocess.Popen(
        [str(CLI), "--database-url", url, "rollup", "--full"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_killed_rollup_leaves_the_warehouse_unchanged_and_a_rerun_completes_it(
    db_url: str, tmp_path: Path
) -> None:
    """SIGKILL in the middle of a full rollup refresh: every table as it was, and the rerun
    gives exactly what the clean refresh gave."""
    sqlite = db_url.startswith("sqlite")
    generated = subprocess.run(
        [
            *(str(CLI), "--database-url", db_url, "sample"),
            *("--pages", "20000", "--days", "40", "--out", str(tmp_path / "generated")),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert generated.returncode == 0, generated.stderr
    if sqlite:
        db_file = Path(db_url.removeprefix("sqlite:///"))
        probe: Callable[[int], bool] = lambda pid: sqlite_writer(db_file, pid)  # noqa: E731
    else:
        probe = postgres_rollup(get_engine(db_url))

    # A clean refresh: the expected result, and how long it holds its transaction.
    clean = start_rollup(db_url)
    began = None
    while clean.poll() is None:
        if began is None and probe(clean.pid):
            began = time.perf_counter()
        time.sleep(0.002)
    assert clean.returncode == 0, clean.communicate()[1].decode()
    assert began is not None, "never saw the refresh inside its transaction"
    inside = time.perf_counter() - began
    expected = rollup_picture(db_url)

    child = start_rollup(db_url)
    deadline = time.perf_counter() + 120
    while child.poll() is None and not probe(child.pid):
        assert time.perf_counter() < deadline, "the refresh never began its transaction"
        time.sleep(0.002)
    time.sleep(inside * 0.4)
    assert child.poll() is None and probe(child.pid), "the refresh ended before the kill"
    os.kill(child.pid, signal.SIGKILL)
    child.communicate()
    assert child.returncode == -signal.SIGKILL

    get_engine(db_url).dispose()
    assert rollup_picture(db_url) == expected  # the killed refresh left no trace
    if sqlite:
        with get_engine(db_url).connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    rerun = subprocess.run(
        [str(CLI), "--database-url", db_url, "rollup", "--full"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert rollup_picture(db_url) == expected
