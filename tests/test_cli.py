"""The command line as a user runs it: real processes, one-line errors, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from govuk_kpi.core.metrics import render_markdown

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "govuk_kpi.cli"]


def run(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    if url:
        env["GOVUK_KPI_DATABASE_URL"] = url
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=env, timeout=300, cwd=ROOT
    )


def test_sample_health_batches(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    built = run("sample", "--days", "20", "--out", str(tmp_path / "gen"), url=url)
    assert built.returncode == 0, built.stderr
    assert "GENERATED sample data" in built.stdout
    healthy = run("health", "--today", "2026-11-01", url=url)
    assert healthy.returncode == 0, healthy.stderr
    assert "healthy as of 2026-10-31" in healthy.stdout
    stale_day = run("health", "--today", "2026-11-27", url=url)
    assert stale_day.returncode == 1
    assert "no daily facts for yesterday (2026-11-26)" in stale_day.stderr
    listed = run("batches", url=url)
    assert listed.returncode == 0 and "analytics" in listed.stdout and "loaded" in listed.stdout


def test_health_sees_stale_rollups(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    assert run("sample", "--days", "5", "--out", str(tmp_path / "gen"), url=url).returncode == 0
    extra = tmp_path / "day.csv"
    extra.write_text(
        "date,path,pviews,upviews,useful_yes,useful_no,searches,entrances,exits,"
        "bounces,page_time\n2026-10-31,/,5,5,0,0,0,0,0,0,0\n"
    )
    assert run("load", "analytics", str(extra), url=url).returncode == 0
    verdict = run("health", "--today", "2026-11-01", url=url)
    assert verdict.returncode == 1 and "rollups stale" in verdict.stderr
    assert run("rollup", url=url).returncode == 0
    assert run("health", "--today", "2026-11-01", url=url).returncode == 0


def test_health_sees_all_zero_days(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    assert run("sample", "--days", "5", "--out", str(tmp_path / "gen"), url=url).returncode == 0
    zero = tmp_path / "zero.csv"
    zero.write_text(
        "date,path,pviews,upviews,useful_yes,useful_no,searches,entrances,exits,"
        "bounces,page_time\n2026-10-31,/,0,0,0,0,0,0,0,0,0\n"
    )
    assert run("load", "analytics", str(zero), url=url).returncode == 0
    assert run("rollup", url=url).returncode == 0
    verdict = run("health", "--today", "2026-11-01", url=url)
    assert verdict.returncode == 1 and "all zero" in verdict.stderr


def test_loading_before_the_schema_is_one_clear_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    result = run(
        "load", "organisations", str(ROOT / "data/govuk/organisations/organisations.json"), url=url
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("error:") and "govuk-kpi db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("url", ["mysql://nowhere/db"])
def test_unsupported_database_url(url: str) -> None:
    result = run("db", "upgrade", url=url)
    assert result.returncode == 1 and result.stderr.startswith("error:")


def test_an_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres@/warehouse?host={tmp_path}&port=5432"
    result = run("batches", url=url)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("error: the warehouse database failed: ")
    assert str(tmp_path) in result.stderr  # where it looked
    assert "Traceback" not in result.stderr


def test_metrics_glossary_is_rendered_from_code() -> None:
    assert (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8") == render_markdown()
    assert run("docs", "metrics", "--check").returncode == 0


@pytest.mark.parametrize(
    ("kind", "fixture"),
    [
        ("ga4", "events_20261030.json"),
        ("ga-pages", "ga4-pages-20261030.csv"),
        ("ga-pages", "ua-pages-20261030.csv"),
    ],
)
def test_loading_analytics_exports(tmp_path: Path, kind: str, fixture: str) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    assert run("db", "upgrade", url=url).returncode == 0
    content = ROOT / "data/govuk/content-items/guide"
    assert (
        run("load", "content", str(content), "--observed-at", "2026-01-01", url=url).returncode == 0
    )
    loaded = run("load", kind, str(ROOT / "tests/extract/fixtures" / fixture), url=url)
    assert loaded.returncode == 0, loaded.stderr
    assert "analytics batch" in loaded.stdout and "loaded" in loaded.stdout


def _waits_for_a_lock(pid: int) -> bool:
    """Whether process `pid` is blocked on a file lock (Linux lists waiters with `->`)."""
    # e.g. "2: -> FLOCK  ADVISORY  WRITE 27377 fe:00:2672134 0 EOF"
    rows = [line.split() for line in Path("/proc/locks").read_text().splitlines()]
    return any(row[1:2] == ["->"] and str(pid) in row[5:6] for row in rows)


def test_a_load_takes_turns_with_other_writers_on_sqlite(tmp_path: Path) -> None:
    from govuk_kpi.warehouse.db import write_lock

    url = f"sqlite:///{tmp_path}/w.db"
    assert run("db", "upgrade", url=url).returncode == 0
    day = tmp_path / "day.csv"
    day.write_text(
        "date,path,pviews,upviews,useful_yes,useful_no,searches,entrances,exits,"
        "bounces,page_time\n2026-10-31,/,5,5,0,0,0,0,0,0,0\n"
    )
    env = {**os.environ, "GOVUK_KPI_DATABASE_URL": url}
    with write_lock(url):  # another writer (a pipeline worker) holds the warehouse
        load = subprocess.Popen(
            [*CLI, "load", "analytics", str(day)], env=env, cwd=ROOT, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        for _ in range(600):
            if _waits_for_a_lock(load.pid) or load.poll() is not None:
                break
            time.sleep(0.1)
        assert load.poll() is None, "the load did not wait for the writer holding the lock"
        assert _waits_for_a_lock(load.pid)
    out, err = load.communicate(timeout=300)
    assert load.returncode == 0, err
    assert "1 loaded" in out
