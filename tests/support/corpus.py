"""The harness of the bad-input corpus: every bad file, through the command line, on each backend.

A case is a file some loader must refuse or partly reject. Each runs as the command line
runs it (`govuk-kpi load KIND FILE`, in process through click) against a fresh copy of one
small warehouse per backend, built once per session: a copy of the SQLite file, or a
PostgreSQL database made from the template database. What a case must show:

- `assert_refused`: exit status 1, exactly one `error:` line naming the file (and the row
  where one is named), no traceback, one new `failed` batch carrying the same message, and
  no other table changed (a fingerprint of every row of every table).
- `assert_partly_loaded`: exit status 0, the rejects with their reasons, and the data exactly
  as a file holding only the valid rows leaves it.

Test modules import the fixtures by name: `from support.corpus import corpus_warehouse`.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from govuk_kpi.cli import main
from govuk_kpi.sources.daily_csv import FORMATS
from govuk_kpi.warehouse.db import get_engine, upgrade
from govuk_kpi.warehouse.load_files import (
    load_content_path,
    load_daily_path,
    load_organisations_path,
)
from govuk_kpi.warehouse.models import Base, LoadBatch
from support.backends import selected_backends

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data" / "govuk"
GUIDES = DATA / "content-items" / "guide"
ORGANISATIONS = DATA / "organisations"
OBSERVED = datetime(2024, 1, 1)
# The warehouse holds analytics and feedback for these days; the bad files are dated DAY.
HISTORY = [date(2024, 2, 1) + timedelta(days=d) for d in range(0, 60, 7)]
DAY = date(2024, 3, 5)
TODAY = date(2024, 6, 1)
CURRICULUM = "/national-curriculum"  # guide.json
PETS = "/take-pet-abroad"  # single-page-guide.json
ANALYTICS_HEADER = ",".join(FORMATS["analytics"])
FEEDBACK_HEADER = ",".join(FORMATS["feedback"])


def analytics_line(path: str, pviews: str = "10", day: date = DAY) -> str:
    """One analytics CSV row: date, path, page views and the other eight counts."""
    return f"{day.isoformat()},{path},{pviews},5,1,1,0,2,1,1,30"


def feedback_line(path: str, feedex: str = "3", day: date = DAY) -> str:
    """One feedback CSV row."""
    return f"{day.isoformat()},{path},{feedex}"


# -- the warehouse every case starts from --------------------------------------------------


def _build(url: str, folder: Path) -> None:
    upgrade(url)
    engine = get_engine(url)
    load_organisations_path(engine, ORGANISATIONS)
    load_content_path(engine, GUIDES, observed_at=OBSERVED)
    analytics = folder / "history-analytics.csv"
    feedback = folder / "history-feedback.csv"
    pages = (CURRICULUM, PETS, "/not-a-page")
    analytics.write_text(
        ANALYTICS_HEADER
        + "\n"
        + "".join(
            f"{analytics_line(p, str(100 + i), d)}\n" for i, d in enumerate(HISTORY) for p in pages
        )
    )
    feedback.write_text(
        FEEDBACK_HEADER
        + "\n"
        + "".join(
            f"{feedback_line(p, str(1 + i), d)}\n" for i, d in enumerate(HISTORY) for p in pages
        )
    )
    load_daily_path(engine, analytics, "analytics", today=TODAY)
    load_daily_path(engine, feedback, "feedback", today=TODAY)
    engine.dispose()


@dataclass
class CorpusWarehouse:
    """Fresh copies of the corpus warehouse on one backend."""

    backend: str
    folder: Path
    _template: str
    _copy: Callable[[], str]
    _drop: Callable[[str], None] = lambda _url: None
    _made: list[str] = field(default_factory=list)

    def fresh(self) -> str:
        """The URL of a new copy of the warehouse."""
        url = self._copy()
        self._made.append(url)
        return url

    def release(self) -> None:
        """Close the connections to the copies made since the last release, and drop them
        (the process keeps one engine per URL: hundreds of copies would exhaust the server)."""
        while self._made:
            url = self._made.pop()
            get_engine(url).dispose()
            self._drop(url)


@pytest.fixture(scope="session", params=selected_backends())
def corpus_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CorpusWarehouse]:
    """The corpus warehouse, built once per backend, and a way to copy it."""
    folder = tmp_path_factory.mktemp(f"corpus-{request.param}")
    if request.param == "sqlite":
        template = folder / "template.db"
        url = f"sqlite:///{template}"
        _build(url, folder)

        def copy_sqlite() -> str:
            target = folder / f"w-{uuid.uuid4().hex}.db"
            shutil.copyfile(template, target)
            return f"sqlite:///{target}"

        def drop_sqlite(copy_url: str) -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(copy_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)

        yield CorpusWarehouse("sqlite", folder, url, copy_sqlite, drop_sqlite)
        return
    cluster = request.getfixturevalue("postgres_cluster")
    name = f"corpus_{uuid.uuid4().hex}"
    url = cluster.create_database(name)
    _build(url, folder)
    copies: dict[str, str] = {}

    def copy_postgres() -> str:
        copy = f"c_{uuid.uuid4().hex}"
        with cluster.connect() as connection:
            connection.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
        copies[cluster.url(copy)] = copy
        return cluster.url(copy)

    def drop_postgres(copy_url: str) -> None:
        cluster.drop_database(copies.pop(copy_url))

    warehouse = CorpusWarehouse("postgresql", folder, url, copy_postgres, drop_postgres)
    try:
        yield warehouse
    finally:
        warehouse.release()
        cluster.drop_database(name)


@pytest.fixture
def corpus_warehouse(corpus_template: CorpusWarehouse) -> Iterator[CorpusWarehouse]:
    """The session's corpus warehouse on the test's backend (ids `sqlite`, `postgresql`); the
    copies a test makes are closed and dropped after it."""
    try:
        yield corpus_template
    finally:
        corpus_template.release()


# -- what a case must show -------------------------------------------------------------------


def fingerprint(url: str, *, leave_out: Sequence[str] = ("load_batch",)) -> dict[str, str]:
    """Per table, its row count and a hash of every row, in primary-key order."""
    engine = get_engine(url)
    picture = {}
    with engine.connect() as connection:
        for name, table in Base.metadata.tables.items():
            if name in leave_out:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            digest = hashlib.sha256()
            count = 0
            for row in connection.execute(select(table).order_by(*order)):
                digest.update(repr(tuple(_plain(v) for v in row)).encode())
                count += 1
            picture[name] = f"{count}:{digest.hexdigest()}"
    return picture


def _plain(value: object) -> object:
    # Both backends give the same Python values but for floats' last digits.
    return round(value, 9) if isinstance(value, float) else value


def batches(url: str) -> list:
    """Every load_batch row, oldest first."""
    with get_engine(url).connect() as connection:
        return connection.execute(select(LoadBatch).order_by(LoadBatch.batch_id)).all()


def run_load(url: str, kind: str, path: Path, *options: str, env: dict | None = None) -> Result:
    """`govuk-kpi load KIND PATH`, in process, as the command line runs it."""
    runner = CliRunner()
    return runner.invoke(
        main,
        ["--database-url", url, "load", kind, *options, str(path)],
        env=env,
        catch_exceptions=True,
    )


def assert_no_traceback(result: Result) -> None:
    """The command ended by its own exit, not by an exception escaping it."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(
            f"escaped: {result.exception!r}\n{result.stderr}"
        ) from result.exception
    assert "Traceback" not in result.output


def assert_refused(
    url: str,
    kind: str,
    path: Path,
    says: str,
    *,
    row: int | None = None,
    options: Sequence[str] = (),
    env: dict | None = None,
) -> str:
    """The load fails with one line naming the file (and row), a failed batch, no data change.

    Returns the error line.
    """
    before, earlier = fingerprint(url), batches(url)
    result = run_load(url, kind, path, *options, env=env)
    assert_no_traceback(result)
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith(f"error: {path}"), line
    if row is not None:
        assert f"{path}, row {row}: " in line, line
    assert says in line, line
    assert fingerprint(url) == before
    later = batches(url)
    assert later[: len(earlier)] == earlier
    added = later[len(earlier) :]
    assert [b.status for b in added] == ["failed"], added
    assert added[0].message == line.removeprefix("error: ")
    return line


def assert_partly_loaded(
    warehouse: CorpusWarehouse,
    kind: str,
    bad: Path,
    good: Path,
    reasons: Sequence[str],
    *,
    options: Sequence[str] = (),
) -> None:
    """`bad` loads with one reject per reason (in row order) and leaves the data exactly as
    `good`, the same file holding only its valid rows, leaves a copy of the same warehouse."""
    url = warehouse.fresh()
    result = run_load(url, kind, bad, *options)
    assert_no_traceback(result)
    assert result.exit_code == 0, result.output
    added = batches(url)[-1]
    assert added.status == "loaded", added
    with get_engine(url).connect() as connection:
        from govuk_kpi.warehouse.models import LoadReject

        found = connection.execute(
            select(LoadReject.reason)
            .where(LoadReject.batch_id == added.batch_id)
            .order_by(LoadReject.row_number)
        ).scalars()
        found = list(found)
    assert len(found) == len(reasons), found
    for reason, why in zip(reasons, found, strict=True):
        assert reason in why, (reason, found)
    oracle = warehouse.fresh()
    staged = good.parent / "oracle" / bad.name  # the same name, as some loaders read names
    staged.parent.mkdir(exist_ok=True)
    staged.write_bytes(good.read_bytes())
    done = run_load(oracle, kind, staged, *options)
    assert done.exit_code == 0, done.output
    leave_out = ("load_batch", "load_reject")
    assert fingerprint(url, leave_out=leave_out) == fingerprint(oracle, leave_out=leave_out)
