"""The HTTP client's parts on their own: rate limiter, Retry-After, file names, snapshots."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from extract_helpers import ITEMS_DIR, served_items
from govuk_standin import GovukStandin, StandinProcess

from govuk_kpi.sources.content_items import body_fragments
from govuk_kpi.sources.http import Fetcher, HttpSettings, SnapshotWriter, polite_limiter
from govuk_kpi.sources.http.client import retry_after_seconds
from govuk_kpi.sources.http.extract import SearchQuery, extract_content, extract_search
from govuk_kpi.sources.http.snapshot import path_file_name, read_manifest
from govuk_kpi.sources.text_metrics import text_metrics


def test_the_limiter_spaces_acquisitions_evenly() -> None:
    limiter = polite_limiter(40)
    stamps = []
    for _ in range(21):
        limiter.try_acquire("t")
        stamps.append(time.monotonic())
    assert stamps[-1] - stamps[0] >= 20 * 1.05 / 40 - 0.005  # 5% wider slots (ms clock)
    # No half-open half-second window holds more than 20.
    assert max(sum(1 for s in stamps if t <= s < t + 0.5) for t in stamps) <= 20


def test_the_limiter_saves_up_no_idle_time() -> None:
    limiter = polite_limiter(20)
    limiter.try_acquire("t")
    time.sleep(0.3)  # a lull
    started = time.monotonic()
    limiter.try_acquire("t")
    assert time.monotonic() - started < 0.03  # the next slot is free at once
    limiter.try_acquire("t")
    assert time.monotonic() - started >= 1.05 / 20 - 0.002  # but only the one


def test_the_rate_limit_holds_at_the_server_with_many_workers(tmp_path: Path) -> None:
    """Arrival times taken by a server in its own process: at most `rate` in any second."""
    paths = sorted(served_items())[:45]
    with StandinProcess() as standin:
        settings = HttpSettings(base_url=standin.url, rate=20, concurrency=8)
        with Fetcher(settings) as fetcher:
            writer = SnapshotWriter(tmp_path / "s", "content", source="t")
            report = extract_content(fetcher, writer, paths, progress=False)
        assert report.counts == {"ok": 45}
        arrivals = standin.requests()
        assert len(arrivals) == 45
        assert standin.max_in_window(1.0) <= 20
        assert arrivals[-1].at - arrivals[0].at >= 44 / 20  # 45 requests at 20/s: 2.2 s at least


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), ("0", 0.0), ("Fri, 27 Nov 2026 12:00:05 GMT", 5.0), ("soon", None), (None, None)],
)
def test_retry_after(header: str | None, seconds: float | None) -> None:
    now = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(header, now=now) == seconds


@pytest.mark.parametrize(
    ("base_path", "name"),
    [
        ("/", "_root.json"),
        ("/renew-adult-passport", "renew-adult-passport.json"),
        ("/government/publications/a.b", "government/publications/a.b.json"),
        ("/../../etc/passwd", "%2E%2E/%2E%2E/etc/passwd.json"),
        ("/a b/ç", "a%20b/%C3%A7.json"),
    ],
)
def test_file_names_never_leave_the_folder(base_path: str, name: str) -> None:
    assert path_file_name(base_path) == name


def test_search_pages_to_the_end_with_filters(tmp_path: Path) -> None:
    served = served_items()
    with GovukStandin(served) as standin:
        settings = HttpSettings(base_url=standin.url, rate=500)
        with Fetcher(settings) as fetcher:
            writer = SnapshotWriter(tmp_path / "s", "search", source="t")
            queries = [SearchQuery(organisation="hm-revenue-customs"), SearchQuery()]
            report = extract_search(fetcher, writer, queries, count=25, progress=False)
        everything = len(served)
        assert len(report.paths) == everything
        pages = sorted((tmp_path / "s/search/all").glob("*.json"))
        assert len(pages) == -(-everything // 25)
        hmrc = [
            json.loads(p.read_bytes()) for p in (tmp_path / "s/search").glob("organisation-*/*")
        ]
        assert hmrc and all(page["total"] == hmrc[0]["total"] for page in hmrc)
        assert sum(len(page["results"]) for page in hmrc) == hmrc[0]["total"]
        first = standin.requests("/api/search.json")[0]
        assert "filter_organisations=hm-revenue-customs" in first.query
        assert "fields=link" in first.query and "count=25" in first.query
    manifest = read_manifest(tmp_path / "s")
    assert manifest["kinds"]["search"]["counts"] == {"ok": len(pages) + len(hmrc)}


def test_guides_and_travel_advice_count_every_part() -> None:
    """Task 5: a guide's words are all its parts' words (plus their titles), not the first's."""
    for schema in ("guide", "travel_advice"):
        for file in sorted((ITEMS_DIR / schema).glob("*.json")):
            details = json.loads(file.read_bytes())["details"]
            parts = [p for p in details.get("parts") or [] if isinstance(p, dict)]
            each = sum(
                text_metrics([p["body"]]).words for p in parts if isinstance(p.get("body"), str)
            )
            titles = sum(len(str(p.get("title", "")).split()) for p in parts)
            whole = text_metrics(body_fragments(details)).words
            assert whole >= each, file
            if len(parts) > 1:
                assert whole >= each + titles - 1, file
