"""Benchmark: a 30-day backfill through the pipeline on the sample warehouse, 2 workers vs 1.

The sample warehouse (13 months ending 2026-10-31) is built once; its last 30 days of usage
are split into daily landing files (`<landing>/analytics/analytics-YYYY-MM-DD.csv`, ...).
Then, for each worker count, on a fresh copy of the warehouse: `govuk-kpi run --from
2026-10-02 --to 2026-10-31` as `run_pipeline` — extract organisations and content from the
local GOV.UK stand-in, 60 daily loads (each replacing a day the monthly files loaded), the
rollups, a report set of one notebook per day (30 reports) and the site. Then the same run
again with nothing changed.

Targets: workers 2 faster than workers 1 (time ratio < 1.0); a run with nothing changed
under 10 s.

    .venv/bin/python bench/backfill.py [--days 30] [--notebook kpi_overview] [--no-reports]

The last line is JSON: {"benchmark": "backfill", "figures": {...}}.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "extract"))

from extract_helpers import ORGANISATIONS_FILE, served_items  # noqa: E402
from govuk_standin import GovukStandin  # noqa: E402

AS_OF = date(2026, 10, 31)
SNAPSHOT_DAY = date(2026, 11, 1)


def split_daily(files: list[Path], kind: str, landing: Path, first: date) -> int:
    """Write each day on or after `first` of monthly CSVs as a daily landing file."""
    by_day: dict[str, list[list[str]]] = {}
    header: list[str] = []
    for file in files:
        with open(file, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            for row in reader:
                if row[0] >= first.isoformat():
                    by_day.setdefault(row[0], []).append(row)
    folder = landing / kind
    folder.mkdir(parents=True, exist_ok=True)
    for day, rows in by_day.items():
        with open(folder / f"{kind}-{day}.csv", "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    return len(by_day)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--notebook", default="kpi_overview", help="the report set's notebook")
    parser.add_argument("--no-reports", action="store_true", help="loads and rollups only")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    from govuk_kpi.pipeline import run_pipeline
    from govuk_kpi.sample.build import build_sample

    work = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    first = AS_OF - timedelta(days=args.days - 1)
    print(f"building the sample warehouse in {work}", flush=True)
    clock = time.perf_counter()
    build = build_sample(f"sqlite:///{work}/sample.db", out_dir=work / "generated")
    print(f"  {time.perf_counter() - clock:.1f} s", flush=True)
    landing = work / "landing"
    split_daily(build.manifest.analytics_files, "analytics", landing, first)
    split_daily(build.manifest.feedback_files, "feedback", landing, first)
    params = work / "backfill.yaml"
    params.write_text(
        f"name: backfill\nas_of: {AS_OF}\nperiod: past-30-days\nnotebooks: [{args.notebook}]\n"
        "organisations: [hm-revenue-customs]\n",
        encoding="utf-8",
    )
    report_sets = [] if args.no_reports else [params]

    organisations = json.loads(ORGANISATIONS_FILE.read_bytes())["results"]
    seconds: dict[int, float] = {}
    ran: dict[int, int] = {}
    rerun = 0.0
    with GovukStandin(served_items(), organisations) as standin:
        for workers in (1, 2):
            root = work / f"workers-{workers}"
            root.mkdir()
            shutil.copy(work / "sample.db", root / "warehouse.db")
            settings = {
                "database_url": f"sqlite:///{root}/warehouse.db",
                "landing": str(landing),
                "snapshots": str(root / "snapshots"),
                "reports_out": str(root / "reports"),
                "work_dir": str(root / "work"),
                "notebooks": str(ROOT / "notebooks"),
                "base_url": standin.url,
                "rate": 500,
                "concurrency": 8,
                "cache_dir": "",
                "report_jobs": 1,
            }
            print(f"backfill {first}..{AS_OF} with {workers} worker(s)", flush=True)
            clock = time.perf_counter()
            result = run_pipeline(
                first,
                AS_OF,
                report_sets=report_sets,
                workers=workers,
                snapshot_date=SNAPSHOT_DAY,
                **settings,
            )
            seconds[workers] = time.perf_counter() - clock
            if not result.ok:
                print(result.summary, file=sys.stderr)
                sys.exit(f"the backfill with {workers} worker(s) failed")
            ran[workers] = len(result.ran)
            print(f"  {seconds[workers]:.1f} s, {ran[workers]} tasks", flush=True)
            if workers == 2:
                clock = time.perf_counter()
                again = run_pipeline(
                    first,
                    AS_OF,
                    report_sets=report_sets,
                    workers=workers,
                    snapshot_date=SNAPSHOT_DAY,
                    **settings,
                )
                rerun = time.perf_counter() - clock
                assert again.ok and not again.ran, again.summary
                print(f"  again, nothing changed: {rerun:.2f} s, 0 tasks", flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)

    ratio = seconds[2] / seconds[1]
    figures = {
        "backfill_workers_1": {"value": round(seconds[1], 1), "unit": "s", "target": None,
                               "met": None},
        "backfill_workers_2": {"value": round(seconds[2], 1), "unit": "s", "target": None,
                               "met": None},
        "workers_2_over_workers_1": {"value": round(ratio, 3), "unit": "ratio",
                                     "target": "< 1.0", "met": ratio < 1.0},
        "rerun_nothing_changed": {"value": round(rerun, 2), "unit": "s", "target": "< 10",
                                  "met": rerun < 10},
        "tasks_run": {"value": ran[1], "unit": "tasks", "target": None, "met": None},
    }  # fmt: skip
    print()
    print("| figure | value | target | met |\n|---|---|---|---|")
    for name, f in figures.items():
        target, met = f["target"] or "—", {True: "yes", False: "no", None: "—"}[f["met"]]
        print(f"| {name} | {f['value']} {f['unit']} | {target} | {met} |")
    print(json.dumps({"benchmark": "backfill", "figures": figures}))
    sys.exit(0 if all(f["met"] is not False for f in figures.values()) else 1)


if __name__ == "__main__":
    main()
