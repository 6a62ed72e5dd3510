"""The GOV.UK-size generated warehouse (govuk_kpi.sample.scale), built small."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session

from govuk_kpi.core.document_types import document_type_label
from govuk_kpi.core.errors import ConfigError
from govuk_kpi.core.paths import normalise_path
from govuk_kpi.kpi import Warehouse
from govuk_kpi.sample.generate import DEFAULT_AS_OF, DEFAULT_SEED, MOVES, TITLE_CHANGES, WITHDRAWALS
from govuk_kpi.sample.scale import (
    ScaleBuild,
    build_scale,
    document_types,
    scale_uri,
    write_next_day_csv,
)
from govuk_kpi.sources.daily_csv import FORMATS
from govuk_kpi.sources.records import EditionRecord, OrganisationRef, TextMetrics
from govuk_kpi.warehouse.calendar import key_to_date
from govuk_kpi.warehouse.db import get_engine, upgrade
from govuk_kpi.warehouse.load_content import load_content
from govuk_kpi.warehouse.load_files import load_daily_path
from govuk_kpi.warehouse.models import (
    DimDate,
    DimDocumentType,
    DimEdition,
    DimOrganisation,
    DimPage,
    EditionOrganisation,
    FactEditionMetrics,
    FactPageDaily,
    LoadBatch,
)
from support.backends import selected_backends
from support.postgres import PostgresCluster
from support.snapshot import snapshot, table_digest

PAGES, DAYS = 2000, 30


class Built(NamedTuple):
    url: str
    build: ScaleBuild
    engine: Engine


def _database(request: pytest.FixtureRequest, folder: Path, backend: str) -> Iterator[str]:
    """A new empty database of the backend: a file, or a database on the session's cluster."""
    if backend == "sqlite":
        yield f"sqlite:///{folder}/warehouse.db"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = f"scale_{uuid.uuid4().hex}"
    try:
        yield cluster.create_database(name)
    finally:
        cluster.drop_database(name)


@pytest.fixture(scope="module", params=selected_backends())
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """One small scale warehouse per backend, for the tests that only read it."""
    folder = tmp_path_factory.mktemp(f"scale-{request.param}")
    for url in _database(request, folder, request.param):
        yield Built(url, build_scale(url, PAGES, DAYS), get_engine(url))


def _all(engine: Engine, query) -> list:
    with engine.connect() as connection:
        return connection.execute(query).all()


def test_every_page_has_a_fact_every_day_from_its_edition_live_that_day(built: Built) -> None:
    facts = _all(
        built.engine,
        select(
            FactPageDaily.date_key,
            FactPageDaily.page_id,
            FactPageDaily.edition_key,
            DimEdition.page_id,
        ).join(DimEdition, DimEdition.edition_key == FactPageDaily.edition_key),
    )
    assert built.build.facts == len(facts) == PAGES * DAYS
    assert len({(f[0], f[1]) for f in facts}) == PAGES * DAYS
    assert all(f.page_id == f[3] for f in facts)  # the edition is one of the fact's page
    # The edition a loader would match that day: live at some moment of it, the newest such.
    editions = defaultdict(list)
    for key, page, start, end in _all(
        built.engine,
        select(
            DimEdition.edition_key,
            DimEdition.page_id,
            DimEdition.valid_from,
            DimEdition.valid_to,
        ),
    ):
        editions[page].append((start, key, end))

    def live(page: int, day: date) -> int:
        first, last = datetime.combine(day, time()), datetime.combine(day + timedelta(1), time())
        seen = [(s, k) for s, k, e in editions[page] if s < last and (e is None or e > first)]
        return max(seen)[1]

    assert all(f.edition_key == live(f.page_id, key_to_date(f.date_key)) for f in facts)
    # Every key the facts hold exists (PostgreSQL loads them without per-row checks).
    orphans = _all(
        built.engine,
        select(func.count())
        .select_from(FactPageDaily)
        .outerjoin(DimDate, DimDate.date_key == FactPageDaily.date_key)
        .outerjoin(DimPage, DimPage.page_id == FactPageDaily.page_id)
        .outerjoin(LoadBatch, LoadBatch.batch_id == FactPageDaily.batch_id)
        .where(
            (DimDate.date_key.is_(None)) | DimPage.page_id.is_(None) | LoadBatch.batch_id.is_(None)
        ),
    )
    assert orphans[0][0] == 0


def test_editions_change_over_time_as_a_type_2_dimension(built: Built) -> None:
    with Session(built.engine) as session:
        rows = session.scalars(
            select(DimEdition).order_by(DimEdition.page_id, DimEdition.valid_from)
        ).all()
    by_page = defaultdict(list)
    for row in rows:
        by_page[row.page_id].append(row)
    assert len(by_page) == PAGES
    live_paths = [e.base_path for e in rows if e.is_live]
    assert len(live_paths) == PAGES == len(set(live_paths))
    start = datetime.combine(built.build.start, time())
    for own in by_page.values():
        assert [e.is_live for e in own] == [False] * (len(own) - 1) + [True]
        assert [e.is_latest for e in own] == [e.is_live for e in own]
        assert own[-1].edition_key == max(e.edition_key for e in own)
        assert own[-1].valid_to is None
        for old, new in pairwise(own):
            assert old.valid_to == new.valid_from  # no gap, no overlap
            assert start < new.valid_from <= datetime.combine(built.build.as_of, time(23))
    changed = [own for own in by_page.values() if len(own) > 1]
    moved = [own for own in changed if len({e.base_path for e in own}) > 1]
    retitled = [own for own in changed if len({e.title for e in own}) > 1]
    withdrawn = [own for own in changed if not own[0].withdrawn and own[-1].withdrawn]
    assert len(moved) >= MOVES and len(retitled) >= TITLE_CHANGES
    assert len(withdrawn) >= WITHDRAWALS
    assert any(len(own) >= 3 for own in changed)
    assert len(changed) < PAGES * 0.05  # a small share of pages
    assert built.build.editions == len(rows)


def test_a_heavy_tail_of_page_views(built: Built) -> None:
    totals = np.array(
        sorted(
            (
                v
                for (v,) in _all(
                    built.engine,
                    select(func.sum(FactPageDaily.pviews)).group_by(FactPageDaily.page_id),
                )
            ),
            reverse=True,
        ),
        dtype=float,
    )
    monthly = totals * 30.4375 / DAYS
    assert totals[: PAGES // 100].sum() > 0.5 * totals.sum()  # the top 1% take most views
    assert monthly[0] > 1_000_000  # a few pages with millions of views a month
    assert np.median(monthly) < 1_000  # most with hundreds or fewer
    weekday = dict(
        _all(
            built.engine,
            select(DimDate.is_weekend, func.avg(FactPageDaily.pviews))
            .join(DimDate, DimDate.date_key == FactPageDaily.date_key)
            .group_by(DimDate.is_weekend),
        )
    )
    assert float(weekday[True]) < 0.8 * float(weekday[False])  # the weekend dip


def test_organisations_are_the_real_ones_with_very_different_sizes(built: Built) -> None:
    sizes = sorted(
        (
            n
            for (n,) in _all(
                built.engine,
                select(func.count())
                .select_from(DimEdition)
                .where(DimEdition.is_latest)
                .group_by(DimEdition.primary_organisation_key),
            )
        ),
        reverse=True,
    )
    assert sizes[0] > 0.1 * PAGES  # a few organisations with a large share of the pages
    assert np.median(sizes) <= 3 and len(sizes) > 50  # most with a handful
    organisations = _all(built.engine, select(DimOrganisation.slug, DimOrganisation.batch_id))
    assert "hm-revenue-customs" in {slug for slug, _ in organisations}
    assert built.build.organisations == len(organisations) > 1000
    links = _all(
        built.engine,
        select(
            EditionOrganisation.edition_key,
            func.sum(case((EditionOrganisation.is_primary, 1), else_=0)),
        ).group_by(EditionOrganisation.edition_key),
    )
    assert len(links) == built.build.editions and {n for _, n in links} == {1}


def test_document_types_are_the_known_ones_in_plausible_shares(built: Built) -> None:
    known = set(document_types().names)
    shares = dict(
        _all(
            built.engine,
            select(DimDocumentType.name, func.count())
            .join(DimEdition, DimEdition.document_type_key == DimDocumentType.document_type_key)
            .where(DimEdition.is_latest)
            .group_by(DimDocumentType.name),
        )
    )
    labels = dict(_all(built.engine, select(DimDocumentType.name, DimDocumentType.label)))
    assert set(shares) <= known and len(shares) > 20
    assert all(labels[name] == document_type_label(name) for name in shares)
    assert shares["homepage"] == 1
    largest = max(shares, key=shares.__getitem__)
    assert largest in {"html_publication", "hmrc_manual_section"}
    assert max(shares.values()) < 0.3 * PAGES
    figures = _all(
        built.engine,
        select(FactEditionMetrics.words, FactEditionMetrics.chars, FactEditionMetrics.reading_time),
    )
    assert all(
        words > 0 and chars > words and minutes == -(-words // 200)
        for words, chars, minutes in figures
    )


def test_batches_are_generated_and_say_what_made_them(built: Built) -> None:
    with Session(built.engine) as session:
        batches = {b.source: b for b in session.scalars(select(LoadBatch))}
    assert set(batches) == {"organisations", "content", "analytics", "feedback"}
    uri = scale_uri(PAGES, DAYS, DEFAULT_SEED, DEFAULT_AS_OF)
    for source in ("content", "analytics", "feedback"):
        batch = batches[source]
        assert batch.is_generated and batch.uri == uri and batch.status == "loaded"
        assert len(batch.sha256) == 64
    assert batches["analytics"].rows_loaded == PAGES * DAYS
    assert (batches["analytics"].date_from, batches["analytics"].date_to) == (
        built.build.start,
        DEFAULT_AS_OF,
    )
    # The organisations are real: their batch is the real file, not generated.
    assert not batches["organisations"].is_generated
    assert batches["organisations"].uri.endswith("organisations.json")


def test_the_analyst_two_liner_answers(built: Built) -> None:
    warehouse = Warehouse(built.url)
    frame = warehouse.content(period="past-30-days", sort="pviews:desc", page_size=50)
    assert frame.attrs["total_results"] == PAGES
    assert frame.attrs["generated"] is True
    assert frame["pviews"].is_monotonic_decreasing and frame["pviews"].iloc[0] > 1_000_000
    biggest = frame["organisation"].value_counts().index[0]
    mine = warehouse.content(organisation=biggest, period="past-30-days")
    assert len(mine) > 0 and set(mine["organisation"]) == {biggest}


def _fact_table_schema(engine: Engine) -> list[tuple]:
    """The daily facts' table, columns, indexes and constraints as the database describes them.

    (Only this table: the build drops and rebuilds its index and, on PostgreSQL, may its keys.)
    """
    if engine.dialect.name == "sqlite":
        query = (
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'fact_page_daily'"
            " ORDER BY name"
        )
    else:
        query = (
            "SELECT 'index', indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = current_schema() AND tablename = 'fact_page_daily' UNION ALL"
            " SELECT 'constraint', conname, pg_get_constraintdef(oid) || convalidated::text"
            " FROM pg_constraint WHERE conrelid = 'fact_page_daily'::regclass UNION ALL"
            " SELECT 'column', column_name, data_type || is_nullable || ordinal_position"
            " FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = 'fact_page_daily'"
            " ORDER BY 1, 2"
        )
    with engine.connect() as connection:
        return [tuple(row) for row in connection.exec_driver_sql(query)]


def test_the_schema_is_the_migrated_one(
    built: Built, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    for url in _database(request, tmp_path, built.engine.dialect.name):
        upgrade(url)
        assert _fact_table_schema(built.engine) == _fact_table_schema(get_engine(url))


def test_the_next_day_csv_loads_with_every_row_matched(db_url: str, tmp_path: Path) -> None:
    build_scale(db_url, 500, 10)
    file = write_next_day_csv(tmp_path / "day", 500, 10)
    assert file.read_bytes() == write_next_day_csv(tmp_path / "again", 500, 10).read_bytes()
    lines = file.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(FORMATS["analytics"])
    day = DEFAULT_AS_OF + timedelta(days=1)
    assert all(line.startswith(f"{day.isoformat()},") for line in lines[1:])
    assert 400 < len(lines) - 1 <= 500  # about one row per page: pages not viewed have none
    raw = [line.split(",")[1] for line in lines[1:]]
    assert any(normalise_path(p) != p for p in raw)  # some spelt as analytics tools spell them
    engine = get_engine(db_url)
    result = load_daily_path(engine, file, "analytics", today=day)
    assert (result.rows_rejected, result.rows_unmatched) == (0, 0)
    assert result.rows_loaded == len(lines) - 1 and result.is_generated
    facts = _all(
        engine,
        select(func.count(), func.count(func.distinct(FactPageDaily.page_id))).where(
            FactPageDaily.date_key == day.year * 10000 + day.month * 100 + day.day
        ),
    )
    assert tuple(facts[0]) == (len(lines) - 1, len(lines) - 1)


def _live_records(engine: Engine) -> list[EditionRecord]:
    """Each page's live edition as the content item a reader of GOV.UK would see now."""
    with Session(engine) as session:
        names = dict(
            session.execute(select(DimDocumentType.document_type_key, DimDocumentType.name)).all()
        )
        organisations = dict(
            session.execute(
                select(DimOrganisation.organisation_key, DimOrganisation.content_id)
            ).all()
        )
        links = defaultdict(list)
        for link in session.scalars(
            select(EditionOrganisation).order_by(EditionOrganisation.is_primary.desc())
        ):
            links[link.edition_key].append(OrganisationRef(organisations[link.organisation_key]))
        figures = {m.edition_key: m for m in session.scalars(select(FactEditionMetrics))}
        records = []
        for e in session.scalars(select(DimEdition).where(DimEdition.is_live)):
            m = figures[e.edition_key]
            records.append(
                EditionRecord(
                    content_id=e.content_id,
                    locale=e.locale,
                    base_path=e.base_path,
                    title=e.title,
                    description=e.description,
                    document_type=names[e.document_type_key],
                    schema_name=e.schema_name,
                    publishing_app=e.publishing_app,
                    primary_organisation=links[e.edition_key][0],
                    organisations=tuple(links[e.edition_key]),
                    first_published_at=e.first_published_at,
                    public_updated_at=e.public_updated_at,
                    updated_at=None,
                    withdrawn=e.withdrawn,
                    phase=e.phase,
                    metrics=TextMetrics(
                        m.words, m.chars, m.sentences, m.readability, m.pdf_count, m.doc_count
                    ),
                )
            )
    return records


def test_the_content_loader_sees_the_generated_editions_as_its_own(db_url: str) -> None:
    # One type 2 rule: loading the live state of every page again makes no new edition.
    build_scale(db_url, 200, 6)
    engine = get_engine(db_url)
    records = _live_records(engine)
    assert len(records) == 200
    result = load_content(engine, records, uri="test:live-again", sha256="0" * 64)
    assert result.outcomes is not None
    assert (result.outcomes.new, result.outcomes.changed, result.outcomes.unchanged) == (0, 0, 200)
    retitled = [replace(records[1], title=records[1].title + " (revised)")]
    changed = load_content(engine, retitled, uri="test:retitled", sha256="1" * 64)
    assert changed.outcomes is not None and changed.outcomes.changed == 1


def test_two_builds_with_the_same_arguments_are_identical(tmp_path: Path) -> None:
    digests = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        url = f"sqlite:///{tmp_path}/{name}.db"
        build_scale(url, 400, 12, seed)
        digests.append(snapshot(get_engine(url)))
    assert digests[0] == digests[1]
    assert digests[0]["fact_page_daily"] != digests[2]["fact_page_daily"]


def test_an_occupied_warehouse_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    build_scale(url, 50, 3)
    before = table_digest(get_engine(url), "fact_page_daily")
    with pytest.raises(ConfigError, match="already holds pages"):
        build_scale(url, 50, 3)
    assert table_digest(get_engine(url), "fact_page_daily") == before
    with pytest.raises(ConfigError, match="at least 1"):
        build_scale(f"sqlite:///{tmp_path}/other.db", 0, 3)


@pytest.mark.skipif(
    "postgresql" not in selected_backends(), reason="GOVUK_KPI_TEST_BACKENDS leaves out postgresql"
)
def test_a_role_that_is_not_superuser_builds_the_same_schema(
    postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    # It cannot skip the foreign key checks, so it drops the keys and adds them again.
    role, name = f"r_{uuid.uuid4().hex[:12]}", f"scale_{uuid.uuid4().hex}"
    with postgres_cluster.connect() as connection:
        connection.execute(f'CREATE ROLE "{role}" LOGIN')
        connection.execute(f'CREATE DATABASE "{name}" OWNER "{role}"')
    reference = f"ref_{uuid.uuid4().hex}"
    reference_url = postgres_cluster.create_database(reference)
    url = postgres_cluster.url(name).replace(f"{postgres_cluster.superuser}@", f"{role}@")
    try:
        build = build_scale(url, 300, 4)
        upgrade(reference_url)
        assert build.facts == 1200
        assert _fact_table_schema(get_engine(url)) == _fact_table_schema(get_engine(reference_url))
    finally:
        for database in (url, reference_url):
            get_engine(database).dispose()
        postgres_cluster.drop_database(name)
        postgres_cluster.drop_database(reference)
        with postgres_cluster.connect() as connection:
            connection.execute(f'DROP ROLE "{role}"')


def test_the_command_line_builds_it_and_the_next_day_loads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    env = {**os.environ, "GOVUK_KPI_DATABASE_URL": url}
    cli = [sys.executable, "-m", "govuk_kpi.cli"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args], capture_output=True, text=True, env=env, timeout=300)

    built = run("sample", "--pages", "300", "--days", "5", "--seed", "3")
    assert built.returncode == 0, built.stderr
    assert "300 pages" in built.stdout and "1,500 daily facts" in built.stdout
    assert "GENERATED sample data" in built.stdout
    file = write_next_day_csv(tmp_path / "day", 300, 5, 3)
    loaded = run("load", "analytics", str(file))
    assert loaded.returncode == 0, loaded.stderr
    assert " 0 rejected, 0 unmatched" in loaded.stdout
    refused = run("sample", "--pages", "0")
    assert refused.returncode == 2 and "--pages" in refused.stderr
