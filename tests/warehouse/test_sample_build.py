"""The sample warehouse: real content, generated usage, idempotent loads, type 2 editions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from govuk_kpi.sample.build import build_sample
from govuk_kpi.sources.daily_csv import FORMATS
from govuk_kpi.warehouse.db import get_engine
from govuk_kpi.warehouse.load_files import load_daily_path
from govuk_kpi.warehouse.models import DimEdition, FactPageDaily, FactUnmatchedDaily, LoadBatch
from support.snapshot import counts, snapshot


def fact_sums(engine, table=FactPageDaily) -> tuple:
    with engine.connect() as connection:
        return tuple(
            connection.execute(
                select(
                    func.count(),
                    *[func.sum(getattr(table, m)) for m in FORMATS["analytics"][2:]],
                    func.sum(table.feedex),
                )
            ).one()
        )


def test_building_twice_changes_nothing(db_url: str, tmp_path: Path) -> None:
    first = build_sample(db_url, out_dir=tmp_path / "gen", days=45)
    engine = get_engine(db_url)
    before_counts, before = counts(engine), snapshot(engine)
    second = build_sample(db_url, out_dir=tmp_path / "gen", days=45)
    assert all(b.skipped_as is not None or b.rows_loaded == 0 for b in second.batches)
    assert counts(engine) == before_counts
    assert snapshot(engine) == before
    assert first.manifest.rows > 0
    assert before_counts["fact_page_daily"] > 1000


def test_two_fresh_builds_are_identical(tmp_path: Path) -> None:
    digests = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path}/{name}.db"
        build_sample(url, out_dir=tmp_path / f"gen-{name}", days=30)
        digests.append(
            snapshot(
                get_engine(url),
                ignore={
                    "started_at",
                    "finished_at",
                    "refreshed_at",
                    "uri",
                    "source_file",
                    "code_version",
                },
            )
        )
    assert digests[0] == digests[1]


def test_reloading_one_day_replaces_that_day_only(db_url: str, tmp_path: Path) -> None:
    build = build_sample(db_url, out_dir=tmp_path / "gen", days=10)
    engine = get_engine(db_url)
    day = build.manifest.as_of
    key = day.year * 10000 + day.month * 100 + day.day
    with engine.connect() as connection:
        others_before = connection.execute(
            select(
                func.count(), func.sum(FactPageDaily.pviews), func.sum(FactPageDaily.feedex)
            ).where(FactPageDaily.date_key != key)
        ).one()
        day_rows = connection.execute(
            select(func.count()).where(FactPageDaily.date_key == key)
        ).scalar_one()
    # One day's file where every page got exactly 7 page views; paths from that day's rows.
    month_file = build.manifest.analytics_files[-1]
    lines = month_file.read_text().splitlines()
    header, rows = lines[0], [line for line in lines[1:] if line.startswith(day.isoformat())]
    one_day = tmp_path / "one-day.csv"
    replaced = []
    for line in rows:
        parts = line.split(",")
        replaced.append(",".join([parts[0], parts[1], "7", "7", *["0"] * (len(parts) - 4)]))
    one_day.write_text("\n".join([header, *replaced]) + "\n")
    result = load_daily_path(engine, one_day, "analytics", today=day)
    assert result.rows_rejected == 0
    with engine.connect() as connection:
        others_after = connection.execute(
            select(
                func.count(), func.sum(FactPageDaily.pviews), func.sum(FactPageDaily.feedex)
            ).where(FactPageDaily.date_key != key)
        ).one()
        pviews = connection.execute(
            select(func.sum(FactPageDaily.pviews), func.count()).where(
                FactPageDaily.date_key == key, FactPageDaily.batch_id.is_not(None)
            )
        ).one()
        unmatched = connection.execute(
            select(func.sum(FactUnmatchedDaily.pviews)).where(
                FactUnmatchedDaily.date_key == key, FactUnmatchedDaily.source == "analytics"
            )
        ).scalar_one()
    assert tuple(others_after) == tuple(others_before)
    matched_rows = result.rows_loaded - result.rows_unmatched
    assert pviews[0] == 7 * matched_rows
    assert pviews[1] == matched_rows
    assert unmatched == 7 * result.rows_unmatched
    assert day_rows >= matched_rows


def test_edition_history_is_type_2(sample_url: str) -> None:
    engine = get_engine(sample_url)
    with engine.connect() as connection:
        live_per_page = connection.execute(
            select(
                func.max(
                    select(func.count())
                    .where(DimEdition.page_id == DimEdition.page_id)
                    .scalar_subquery()
                )
            )
        ).scalar()
        assert live_per_page is not None
        # Exactly one live edition per page item and per base path.
        per_page = connection.execute(
            select(DimEdition.page_id, func.count())
            .where(DimEdition.is_live)
            .group_by(DimEdition.page_id)
            .having(func.count() > 1)
        ).all()
        per_path = connection.execute(
            select(DimEdition.base_path, func.count())
            .where(DimEdition.is_live)
            .group_by(DimEdition.base_path)
            .having(func.count() > 1)
        ).all()
        assert per_page == [] and per_path == []
        # Exactly one newest edition per page item: the one with the highest key.
        newest = dict(
            connection.execute(
                select(DimEdition.page_id, func.max(DimEdition.edition_key)).group_by(
                    DimEdition.page_id
                )
            ).all()
        )
        flagged = dict(
            connection.execute(
                select(DimEdition.page_id, DimEdition.edition_key).where(DimEdition.is_latest)
            ).all()
        )
        assert flagged == newest
        # The generated moves keep one page item across two paths, with its history.
        moved = (
            connection.execute(
                select(DimEdition.page_id)
                .group_by(DimEdition.page_id)
                .having(func.count(func.distinct(DimEdition.base_path)) > 1)
            )
            .scalars()
            .all()
        )
        withdrawn_later = (
            connection.execute(
                select(DimEdition.page_id)
                .group_by(DimEdition.page_id)
                .having(func.count(func.distinct(DimEdition.withdrawn)) > 1)
            )
            .scalars()
            .all()
        )
        retitled = (
            connection.execute(
                select(DimEdition.page_id)
                .group_by(DimEdition.page_id)
                .having(func.count(func.distinct(DimEdition.title)) > 1)
            )
            .scalars()
            .all()
        )
    assert len(moved) >= 2
    assert len(withdrawn_later) >= 2
    assert len(retitled) >= 3


def test_a_moved_page_keeps_its_figures_and_its_old_path_is_unmatched(sample_url: str) -> None:
    from govuk_kpi.kpi import Warehouse

    warehouse = Warehouse(sample_url)
    engine = warehouse.engine
    with engine.connect() as connection:
        page_id = (
            connection.execute(
                select(DimEdition.page_id)
                .group_by(DimEdition.page_id)
                .having(func.count(func.distinct(DimEdition.base_path)) > 1)
                .order_by(DimEdition.page_id)
            )
            .scalars()
            .first()
        )
        editions = connection.execute(
            select(DimEdition.base_path, DimEdition.valid_from, DimEdition.valid_to)
            .where(DimEdition.page_id == page_id)
            .order_by(DimEdition.valid_from)
        ).all()
    old, new = editions[0], editions[-1]
    moved_on = pd.Timestamp(new.valid_from.date())  # page_daily gives datetime64 days
    series_old_path = warehouse.page_daily(old.base_path, date(2025, 10, 1), date(2026, 10, 31))
    series_new_path = warehouse.page_daily(new.base_path, date(2025, 10, 1), date(2026, 10, 31))
    # Either path finds the same page item and so the same figures, before and after the move.
    assert series_old_path["pviews"].tolist() == series_new_path["pviews"].tolist()
    before = series_new_path[series_new_path["date"] < moved_on]["pviews"].sum()
    after = series_new_path[series_new_path["date"] > moved_on]["pviews"].sum()
    assert before > 0 and after > 0
    unmatched = warehouse.unmatched(period="past-year")
    assert old.base_path in set(unmatched["path"])


def test_every_load_is_a_traceable_batch(sample_url: str) -> None:
    engine = get_engine(sample_url)
    with engine.connect() as connection:
        batches = connection.execute(select(LoadBatch)).all()
        orphan_facts = connection.execute(
            select(func.count())
            .select_from(FactPageDaily)
            .where(FactPageDaily.batch_id.is_(None), FactPageDaily.feedex_batch_id.is_(None))
        ).scalar_one()
    assert {b.source for b in batches} == {"content", "organisations", "analytics", "feedback"}
    assert all(len(b.sha256) == 64 and b.status == "loaded" and b.code_version for b in batches)
    assert all(b.rows_loaded + b.rows_rejected <= b.rows_read for b in batches)
    assert orphan_facts == 0


@pytest.mark.parametrize("metric", ["pviews", "useful_yes", "feedex"])
def test_rollups_equal_the_daily_facts(sample_url: str, metric: str) -> None:
    from govuk_kpi.warehouse.models import AggPageMonthly, AggPageWindow

    engine = get_engine(sample_url)
    with engine.connect() as connection:
        daily = connection.execute(select(func.sum(getattr(FactPageDaily, metric)))).scalar_one()
        monthly = connection.execute(select(func.sum(getattr(AggPageMonthly, metric)))).scalar_one()
        year = connection.execute(
            select(func.sum(getattr(AggPageWindow, metric))).where(
                AggPageWindow.window == "past-year"
            )
        ).scalar_one()
        last_30 = connection.execute(
            select(func.sum(getattr(FactPageDaily, metric))).where(
                FactPageDaily.date_key.between(20261002, 20261031)
            )
        ).scalar_one()
        window_30 = connection.execute(
            select(func.sum(getattr(AggPageWindow, metric))).where(
                AggPageWindow.window == "past-30-days"
            )
        ).scalar_one()
    assert monthly == daily
    assert 0 < year < daily  # 13 months of facts, 12 in the year window
    assert window_30 == last_30
