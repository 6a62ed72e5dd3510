"""`govuk-kpi extract` against a local GOV.UK stand-in, then the loaders: the warehouse equals a
direct load of the same files; faults are survived and reported; the cache saves downloads."""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime
from pathlib import Path

import pytest
from extract_helpers import (
    ORGANISATIONS_FILE,
    WHERE,
    cli,
    extract_args,
    files_under,
    item_files,
    manifest,
    outcomes,
    served_items,
)
from govuk_standin import Fault, GovukStandin
from sqlalchemy import create_engine, select

from govuk_kpi.sources.http import Fetcher, HttpSettings, SnapshotWriter, extract_content
from govuk_kpi.sources.http.snapshot import path_file_name
from govuk_kpi.warehouse.db import upgrade
from govuk_kpi.warehouse.load_files import load_content_path, load_organisations_path
from govuk_kpi.warehouse.models import LoadBatch, LoadReject
from support.snapshot import VOLATILE, snapshot

OBSERVED = "2026-10-31T06:00:00"


@pytest.fixture(scope="module")
def served() -> dict[str, bytes]:
    return served_items()


@pytest.fixture
def standin(served: dict[str, bytes]):
    organisations = json.loads(ORGANISATIONS_FILE.read_bytes())["results"]
    with GovukStandin(served, organisations) as server:
        yield server


def test_extract_then_load_equals_direct_load(
    standin: GovukStandin, served: dict[str, bytes], db_url: str, tmp_path: Path
) -> None:
    snap = tmp_path / "snap"
    for kind in ("organisations", "search"):
        done = cli("extract", kind, *extract_args(standin.url, snap, None))
        assert done.exit_code == 0, done.output
    done = cli(
        "extract", "content", "--from-search", str(snap / "search"),
        *extract_args(standin.url, snap, None),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert f"{len(served)} ok" in done.output

    # Untouched: every served body is in the snapshot byte for byte, read-only.
    for base_path, body in served.items():
        file = snap / "content" / path_file_name(base_path)
        assert file.read_bytes() == body
        assert file.stat().st_mode & 0o777 == 0o444
    pages = files_under(snap / "organisations")
    assert len(pages) == 63  # 1,254 organisations in pages of 20
    entries = manifest(snap)["kinds"]["content"]["entries"]
    assert {e["outcome"] for e in entries} == {"ok"} and len(entries) == len(served)
    assert all(len(e["sha256"]) == 64 and e["status"] == 200 for e in entries)

    # The same files loaded directly, named the same way (so read in the same order).
    direct = tmp_path / "direct"
    for base_path, body in served.items():
        target = direct / path_file_name(base_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)

    url_a, url_b = db_url, _sibling(db_url, tmp_path)
    for url in (url_a, url_b):
        assert cli("db", "upgrade", db_url=url).exit_code == 0
    loads_a = [
        ("organisations", snap / "organisations"),
        ("content", snap / "content"),
    ]
    loads_b = [("organisations", ORGANISATIONS_FILE), ("content", direct)]
    for url, loads in ((url_a, loads_a), (url_b, loads_b)):
        for kind, path in loads:
            extra = ["--observed-at", OBSERVED] if kind == "content" else []
            done = cli("load", kind, str(path), *extra, db_url=url)
            assert done.exit_code == 0, done.output
    engine_a, engine_b = create_engine(url_a), create_engine(url_b)
    try:
        assert snapshot(engine_a, ignore=VOLATILE | WHERE) == snapshot(
            engine_b, ignore=VOLATILE | WHERE
        )
        with engine_a.connect() as connection:
            uris = connection.execute(select(LoadBatch.uri, LoadBatch.sha256)).all()
        # The batch records the snapshot folder it read, and its hash.
        assert {u for u, _ in uris} == {str(snap / "organisations"), str(snap / "content")}
        assert all(len(sha) == 64 for _, sha in uris)
    finally:
        engine_a.dispose()
        engine_b.dispose()
        _drop_sibling(url_b)


def _drop_sibling(url: str) -> None:
    if url.startswith("sqlite"):
        return
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _sibling(db_url: str, tmp_path: Path) -> str:
    """A second empty database on the same backend."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path}/direct.db"
    import uuid

    from sqlalchemy.engine import make_url

    base = make_url(db_url)
    name = f"t_{uuid.uuid4().hex}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def test_second_run_sends_conditional_requests_and_downloads_nothing_unchanged(
    standin: GovukStandin, served: dict[str, bytes], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    paths = sorted(served)[:40]
    first = cli("extract", "content", *paths, *extract_args(standin.url, tmp_path / "a", cache))
    assert first.exit_code == 0, first.output
    orgs = cli("extract", "organisations", *extract_args(standin.url, tmp_path / "a", cache))
    assert orgs.exit_code == 0, orgs.output
    assert standin.status_counts() == {200: 40 + 63}
    assert not any(r.conditional for r in standin.requests())

    standin.log.clear()
    second = cli("extract", "content", *paths, *extract_args(standin.url, tmp_path / "b", cache))
    assert second.exit_code == 0, second.output
    orgs = cli("extract", "organisations", *extract_args(standin.url, tmp_path / "b", cache))
    assert standin.status_counts() == {304: 40 + 63}  # nothing downloaded again
    assert all(r.conditional for r in standin.requests())
    # The second snapshot is complete all the same: the cached bodies, byte for byte.
    for kind in ("content", "organisations"):
        a, b = files_under(tmp_path / "a" / kind), files_under(tmp_path / "b" / kind)
        assert [p.relative_to(tmp_path / "a") for p in a] == [
            p.relative_to(tmp_path / "b") for p in b
        ]
        assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))
    assert set(outcomes(tmp_path / "b", "content").values()) == {"not_modified"}

    # One page changes: only it is downloaded.
    changed = paths[0]
    doc = json.loads(standin.content[changed])
    doc["title"] = "A changed title"
    standin.content[changed] = json.dumps(doc).encode()
    standin.docs[changed] = doc
    standin.log.clear()
    third = cli("extract", "content", *paths, *extract_args(standin.url, tmp_path / "c", cache))
    assert third.exit_code == 0, third.output
    assert standin.status_counts() == {200: 1, 304: 39}
    assert json.loads((tmp_path / "c/content" / path_file_name(changed)).read_bytes()) == doc


# -- faults ---------------------------------------------------------------------------------


def fetcher(standin: GovukStandin, **over) -> Fetcher:
    settings = {"base_url": standin.url, "rate": 500.0, "timeout": 0.5, "retries": 3}
    settings |= {"backoff": 0.01, "concurrency": 4} | over
    return Fetcher(HttpSettings(**settings))


def run_content(standin: GovukStandin, paths: list[str], folder: Path, **over):
    # A cache of its own by default, as in production: faults must not reach it.
    over.setdefault("cache_dir", folder.with_name(f"{folder.name}.cache"))
    with fetcher(standin, **over) as f:
        writer = SnapshotWriter(folder, "content", source="test")
        return extract_content(f, writer, paths, progress=False)


PATHS = ["/national-curriculum", "/renew-adult-passport", "/government/ministers"]


def _known(served: dict[str, bytes], n: int = 6) -> list[str]:
    return sorted(served)[:n]


def test_429_with_retry_after_waits_then_fetches(
    standin: GovukStandin, served: dict[str, bytes], tmp_path: Path
) -> None:
    paths = _known(served)
    target = standin.content_path(paths[2])
    standin.inject(target, Fault.http(429, retry_after="1"))
    report = run_content(standin, paths, tmp_path / "s")
    assert report.counts == {"ok": 6} and not report.failed
    hits = standin.requests(target)
    assert [r.status for r in hits] == [429, 200]
    assert hits[1].at - hits[0].at >= 0.95  # Retry-After honoured, not the 0.01 s backoff
    assert (tmp_path / "s/content" / path_file_name(paths[2])).read_bytes() == served[paths[2]]


def test_500_then_success(standin: GovukStandin, served: dict[str, bytes], tmp_path: Path) -> None:
    paths = _known(served)
    target = standin.content_path(paths[0])
    standin.inject(target, Fault.http(500, times=2))
    report = run_content(standin, paths, tmp_path / "s")
    assert report.counts == {"ok": 6}
    assert [r.status for r in standin.requests(target)] == [500, 500, 200]
    entry = next(e for e in manifest(tmp_path / "s")["kinds"]["content"]["entries"]
                 if e["base_path"] == paths[0])  # fmt: skip
    assert entry["attempts"] == 3


def test_timeouts_are_retried_and_a_page_that_never_answers_is_reported(
    standin: GovukStandin, served: dict[str, bytes], tmp_path: Path
) -> None:
    paths = _known(served)
    slow_once, slow_always = standin.content_path(paths[1]), standin.content_path(paths[4])
    standin.inject(slow_once, Fault.delay(1.5))
    standin.inject(slow_always, Fault.delay(1.5, times=None))
    started = time.monotonic()
    report = run_content(standin, paths, tmp_path / "s", retries=1)
    assert time.monotonic() - started < 10
    assert report.counts == {"ok": 5, "failed": 1}
    (failure,) = report.failed
    assert failure["base_path"] == paths[4] and "timed out" in failure["error"]
    assert not (tmp_path / "s/content" / path_file_name(paths[4])).exists()
    assert len(files_under(tmp_path / "s/content")) == 5  # nothing fetched is lost
    failed = manifest(tmp_path / "s")["kinds"]["content"]["failed"]
    assert [f["url"] for f in failed] == [failure["url"]]


def test_truncated_and_non_json_bodies_are_retried_or_reported(
    standin: GovukStandin, served: dict[str, bytes], tmp_path: Path
) -> None:
    paths = _known(served)
    truncated, html_once, html_always = (standin.content_path(p) for p in paths[:3])
    standin.inject(truncated, Fault.truncated())
    standin.inject(html_once, Fault.not_json())
    standin.inject(html_always, Fault.not_json(times=None))
    report = run_content(standin, paths, tmp_path / "s", retries=2)
    assert report.counts == {"ok": 5, "failed": 1}
    (failure,) = report.failed
    assert failure["base_path"] == paths[2] and "not JSON" in failure["error"]
    assert len(standin.requests(truncated)) == 2  # cut short, then whole
    assert len(standin.requests(html_once)) == 2
    assert len(standin.requests(html_always)) == 3  # retries=2: three attempts, then reported
    for path in (paths[0], paths[1]):
        assert (tmp_path / "s/content" / path_file_name(path)).read_bytes() == served[path]
    assert not (tmp_path / "s/content" / path_file_name(paths[2])).exists()


def test_the_cache_never_serves_a_cut_short_or_non_json_body(
    standin: GovukStandin, served: dict[str, bytes], tmp_path: Path
) -> None:
    """What was retried is never what a later run reuses: it revalidates the whole answer."""
    paths = _known(served, 2)
    truncated, html = (standin.content_path(p) for p in paths)
    standin.inject(truncated, Fault.truncated())
    standin.inject(html, Fault.not_json())
    for n in range(3):
        run_content(standin, paths, tmp_path / f"s{n}", cache_dir=tmp_path / "cache")
        for path in paths:
            assert (tmp_path / f"s{n}/content" / path_file_name(path)).read_bytes() == served[path]
    assert [r.status for r in standin.requests(truncated)] == [200, 200, 304, 304]
    # The HTML answer (no validators) and the whole one were kept in the same second, so the
    # second run may nominate either (RFC 9111 4: the most recent by Date); never after that.
    assert [r.status for r in standin.requests(html)][:2] == [200, 200]
    assert standin.requests(html)[-1].status == 304
    assert set(outcomes(tmp_path / "s2", "content").values()) == {"not_modified"}


def test_a_redirect_is_followed_and_filed_under_where_it_led(
    standin: GovukStandin, served: dict[str, bytes], tmp_path: Path
) -> None:
    old, new = "/an-old-path-that-moved", _known(served)[3]
    standin.inject(standin.content_path(old), Fault.redirect(standin.content_path(new)))
    report = run_content(standin, [old, *_known(served, 2)], tmp_path / "s")
    assert report.counts == {"ok": 3} and not report.failed
    assert (tmp_path / "s/content" / path_file_name(new)).read_bytes() == served[new]
    entry = next(e for e in manifest(tmp_path / "s")["kinds"]["content"]["entries"]
                 if e["base_path"] == old)  # fmt: skip
    assert entry["redirected_to"] == new and entry["status"] == 200


def test_410_gone_is_recorded_not_failed(
    standin: GovukStandin, served: dict[str, bytes], tmp_path: Path
) -> None:
    paths = _known(served)
    standin.inject(standin.content_path(paths[5]), Fault.gone())
    report = run_content(standin, paths, tmp_path / "s")
    assert report.counts == {"ok": 5, "gone": 1} and not report.failed
    assert not (tmp_path / "s/content" / path_file_name(paths[5])).exists()
    gone = json.loads((tmp_path / "s/gone" / path_file_name(paths[5])).read_bytes())
    assert gone["document_type"] == "gone"


def test_an_item_gone_between_search_and_content_is_reported_and_the_rest_loads(
    standin: GovukStandin, served: dict[str, bytes], tmp_path: Path
) -> None:
    snap = tmp_path / "snap"
    assert cli("extract", "search", *extract_args(standin.url, snap, None)).exit_code == 0
    vanished = sorted(served)[7]
    standin.inject(standin.content_path(vanished), Fault.not_found())
    done = cli(
        "extract", "content", "--from-search", str(snap / "search"),
        *extract_args(standin.url, snap, None),
    )  # fmt: skip
    assert done.exit_code == 3  # finished, with something not fetched
    assert f"{len(served) - 1} ok" in done.output and "1 missing" in done.output
    assert "not fetched:" in done.output and vanished in done.output
    failed = manifest(snap)["kinds"]["content"]["failed"]
    assert [(f["outcome"], f["status"]) for f in failed] == [("missing", 404)]
    url = f"sqlite:///{tmp_path}/w.db"
    upgrade(url)
    engine = create_engine(url)
    result = load_content_path(engine, snap / "content", observed_at=datetime(2026, 10, 31, 6))
    assert result.rows_read == len(served) - 1
    engine.dispose()


def test_organisations_pages_that_fail_are_reported_and_the_rest_load(
    standin: GovukStandin, tmp_path: Path
) -> None:
    standin.inject("/api/organisations", Fault.http(503, retry_after="0"))  # page 1, once
    with fetcher(standin) as f:
        from govuk_kpi.sources.http import extract_organisations

        report = extract_organisations(
            f, SnapshotWriter(tmp_path / "s", "organisations", source="t"), progress=False
        )
    assert report.counts == {"ok": 63}
    url = f"sqlite:///{tmp_path}/w.db"
    upgrade(url)
    engine = create_engine(url)
    result = load_organisations_path(engine, tmp_path / "s/organisations")
    assert result.rows_loaded == 1254
    engine.dispose()


# -- every real item, whatever its schema ----------------------------------------------------


def test_every_one_of_the_279_real_items_loads_through_extract(db_url: str, tmp_path: Path) -> None:
    """Served in rounds (23 base paths hold 2 to 4 items), extracted, loaded: 277 + 2 rejects."""
    rounds: list[dict[str, bytes]] = []
    for file in item_files():
        body = file.read_bytes()
        base_path = json.loads(body)["base_path"]
        for served in rounds:
            if base_path not in served:
                served[base_path] = body
                break
        else:
            rounds.append({base_path: body})
    assert sum(map(len, rounds)) == 279 and len(rounds) == 4
    upgrade(db_url)
    engine = create_engine(db_url)
    read = loaded_rejected = 0
    try:
        for n, served in enumerate(rounds):
            snap = tmp_path / f"round-{n}"
            with GovukStandin(served) as standin:
                report = run_content(standin, sorted(served), snap)
            assert report.counts == {"ok": len(served)}, report.failed
            result = load_content_path(
                engine, snap / "content", observed_at=datetime(2026, 10, 31, 6, n)
            )
            read += result.rows_read
            loaded_rejected += result.rows_rejected
        assert read == 279 and loaded_rejected == 2
        with engine.connect() as connection:
            reasons = sorted(r.reason for r in connection.execute(select(LoadReject.reason)))
        assert reasons == [
            "gone item at /government/case-studies/intellectual-property-stuart-scott has no "
            "content_id, so it cannot be a page",
            "redirect item at /406beacon has no content_id, so it cannot be a page",
        ]
    finally:
        engine.dispose()


def test_snapshot_files_are_read_only_and_never_overwritten(
    standin: GovukStandin, served: dict[str, bytes], tmp_path: Path
) -> None:
    snap = tmp_path / "s"
    run_content(standin, _known(served, 2), snap)
    assert (snap / "snapshot.json").stat().st_mode & 0o777 == 0o444
    done = cli("extract", "content", "/x", *extract_args(standin.url, snap, None))
    assert done.exit_code == 1 and "already holds a content snapshot" in done.output
    # Dated folders: a second run of a kind the same day gets the next folder.
    root = tmp_path / "root"
    args = extract_args(standin.url, snap, None)
    args = args[: args.index("--snapshot")] + args[args.index("--snapshot") + 2 :]
    for _ in range(2):
        assert (
            cli(
                "extract", "content", _known(served, 1)[0], *args, "--snapshots", str(root)
            ).exit_code
            == 0
        )
    names = sorted(p.name for p in root.iterdir())
    assert len(names) == 2 and names[1] == names[0] + "-2"
    shutil.rmtree(root)
