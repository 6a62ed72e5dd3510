"""Benchmark: extract throughput against a local GOV.UK stand-in, and the rate limit held.

A local stand-in of the GOV.UK APIs (tests/extract/govuk_standin.py: a real HTTP server on
127.0.0.1, in a process of its own so it never waits on the client's threads) serves the
project's real content items and organisations. Three runs:

1. **at the default rate limit** (10 requests/s, 4 in flight): the content items, with a few
   injected 500s and a 429 (`Retry-After: 1`) so retries are part of the load. Throughput
   should be close to the limit (at least 85%: the limiter keeps a 5% margin, and the 429
   costs a second), and the most requests the *server* saw in any sliding one-second window
   must not exceed it (request arrival times are taken at the server);
2. **a cached re-run** at the same limit: every request conditional, every answer a 304, at
   least 90% of the limit, and again never more than the limit in any second;
3. **unthrottled** (rate 1,000/s, 8 in flight): what the client itself can do.

    .venv/bin/python bench/extract.py [--items 120] [--rate 10]

The last line printed is one JSON object with the figures and whether each target is met.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "extract"))

from govuk_standin import Fault, StandinProcess  # noqa: E402

from govuk_kpi.core.data import govuk_data_dir  # noqa: E402
from govuk_kpi.sources.http import (  # noqa: E402
    Fetcher,
    HttpSettings,
    SnapshotWriter,
    extract_content,
)


def served_items() -> dict[str, bytes]:
    served: dict[str, bytes] = {}
    for file in sorted((govuk_data_dir() / "content-items").rglob("*.json")):
        body = file.read_bytes()
        served.setdefault(json.loads(body)["base_path"], body)
    return served


def run(standin: StandinProcess, paths: list[str], folder: Path, settings: HttpSettings):
    standin.clear()
    with Fetcher(settings) as fetcher:
        started = time.perf_counter()
        report = extract_content(
            fetcher, SnapshotWriter(folder, "content", source="bench"), paths, progress=False
        )
        elapsed = time.perf_counter() - started
    return report, elapsed, fetcher.requests_sent


def figure(value: float, unit: str, target: str, met: bool) -> dict:
    return {"value": round(value, 3), "unit": unit, "target": target, "met": bool(met)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=120, help="content items to fetch")
    parser.add_argument("--rate", type=float, default=10.0, help="the rate limit (requests/s)")
    args = parser.parse_args()

    served = served_items()
    paths = sorted(served)[: args.items]
    work = Path(tempfile.mkdtemp(prefix="bench-extract-"))
    figures: dict[str, dict] = {}
    try:
        with StandinProcess() as standin:
            # 1. the default rate limit, with retries in the mix
            for path in paths[:: max(1, len(paths) // 4)][:4]:
                standin.inject(standin.content_path(path), Fault.http(500))
            standin.inject(standin.content_path(paths[-1]), Fault.http(429, retry_after="1"))
            limited = HttpSettings(
                base_url=standin.url, rate=args.rate, cache_dir=work / "cache", backoff=0.2
            )
            report, elapsed, sent = run(standin, paths, work / "a", limited)
            assert report.counts == {"ok": len(paths)}, report.counts
            peak = standin.max_in_window(1.0)
            got = len(standin.requests())
            assert got == sent, (got, sent)
            items_rate = len(paths) / elapsed
            request_rate = sent / elapsed
            figures["requests_per_second_at_limit"] = figure(
                request_rate,
                "requests/s",
                f">= {0.85 * args.rate:g}",
                request_rate >= 0.85 * args.rate,
            )
            figures["max_requests_in_any_1s_window"] = figure(
                peak, "requests", f"<= {args.rate:g}", peak <= args.rate
            )
            figures["items_per_second_at_limit"] = figure(
                items_rate, "items/s", f">= {0.8 * args.rate:g}", items_rate >= 0.8 * args.rate
            )
            print(
                f"rate limit {args.rate:g}/s: {len(paths)} items, {sent} requests "
                f"({sent - len(paths)} retries) in {elapsed:.2f} s = {request_rate:.2f} req/s; "
                f"busiest second at the server: {peak} requests"
            )

            # 2. the cached re-run: conditional requests, nothing downloaded again
            report, elapsed, sent = run(standin, paths, work / "b", limited)
            statuses = standin.status_counts()
            share = statuses.get(304, 0) / max(1, sum(statuses.values()))
            peak_cached = standin.max_in_window(1.0)
            cached_rate = sent / elapsed
            figures["requests_per_second_at_limit_cached"] = figure(
                cached_rate, "requests/s", f">= {0.9 * args.rate:g}", cached_rate >= 0.9 * args.rate
            )
            figures["cached_rerun_304_share"] = figure(share, "share", "= 1", share == 1.0)
            figures["max_requests_in_any_1s_window_cached"] = figure(
                peak_cached, "requests", f"<= {args.rate:g}", peak_cached <= args.rate
            )
            print(f"cached re-run: {statuses} in {elapsed:.2f} s; busiest second {peak_cached}")

            # 3. unthrottled: the client's own ceiling
            fast = HttpSettings(base_url=standin.url, rate=1000.0, concurrency=8)
            report, elapsed, sent = run(standin, sorted(served), work / "c", fast)
            assert report.counts == {"ok": len(served)}, report.counts
            ceiling = len(served) / elapsed
            figures["items_per_second_unthrottled"] = figure(
                ceiling, "items/s", ">= 100", ceiling >= 100
            )
            print(f"unthrottled: {len(served)} items in {elapsed:.2f} s = {ceiling:.0f} items/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"machine: {platform.machine()}, {platform.system()}, Python {platform.python_version()}")
    print(json.dumps({"benchmark": "extract", "figures": figures}))
    return 0 if all(f["met"] for f in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
