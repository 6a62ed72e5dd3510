"""Benchmark: a 30-day backfill through the pipeline on the sample warehouse, 2 workers vs 1.

The sample warehouse (13 months ending 2026-10-31) is built once; its last 30 days of usage
are split into daily landing files (`<landing>/analytics/analytics-YYYY-MM-DD.csv`, ...).
Then, for each worker count, on a fresh copy of the warehouse: `govuk-kpi run --from
2026-10-02 --to 2026-10-31` as `run_pipeline` — extract organisations and content from the
local GOV.UK stand-in, 60 daily loads (each replacing a day the monthly files loaded), the
rollups, a report set of one notebook per day (30 reports) and the site. Then the same run
again with nothing changed.

Right after the 1-worker backfill, the **builder** (`build_reports`, what `govuk-kpi reports
build` runs) builds the same reports — the pipeline's 30 dated report sets, in one call, one
worker with a warm kernel, `--force` — from the same warehouse into a folder of its own: the
baseline of a report built in the pipeline.

Targets: 2 workers ÷ 1 worker ≤ 0.7 for the backfill with reports; a report in the pipeline
(the 1-worker run's reports, from the first `Reports` task's start to the last one's end,
÷ the reports) within 1.2× the builder's per-report time (its wall time ÷ the reports); a
run with nothing changed under 10 s. The load average is printed with the figures.

    .venv/bin/python bench/backfill.py [--days 30] [--notebook kpi_overview] [--no-reports]

The last line is JSON: {"benchmark": "backfill", "figures": {...}}.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
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


def load_average() -> float:
    """The 1-minute load average (the machine is shared: say how busy it was)."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def reports_phase(events: list[dict], reports: Path) -> tuple[float, int, float]:
    """The Reports tasks of a run: wall seconds from the first's start to the last's end, the
    reports they built, and the sum of the tasks' own durations."""
    tasks = [e for e in events if e["task"].endswith(".Reports") and e["status"] == "done"]
    if not tasks:
        return 0.0, 0, 0.0
    start = min(datetime.fromisoformat(e["started_at"]) for e in tasks)
    end = max(datetime.fromisoformat(e["finished_at"]) for e in tasks)
    built = sum(e["rows"].get("built", 0) for e in tasks)
    return (end - start).total_seconds(), built, sum(e["duration_seconds"] for e in tasks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--notebook", default="kpi_overview", help="the report set's notebook")
    parser.add_argument("--no-reports", action="store_true", help="loads and rollups only")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    from govuk_kpi.pipeline import run_pipeline
    from govuk_kpi.reports.build import build_reports
    from govuk_kpi.reports.params import load_report_set
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
    phase: dict[int, tuple[float, int, float]] = {}
    builder: tuple[float, int] | None = None
    rerun = 0.0
    loads = [load_average()]
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
            loads.append(load_average())
            print(f"  {seconds[workers]:.1f} s, {ran[workers]} tasks", flush=True)
            phase[workers] = reports_phase(result.events, root / "reports")
            if phase[workers][1]:
                span, count, summed = phase[workers]
                print(
                    f"  reports: {count} in {span:.1f} s ({span / count:.2f} s a report; "
                    f"Reports tasks {summed / count:.2f} s each)",
                    flush=True,
                )
            if workers == 1 and report_sets:
                # The same dated report sets the pipeline's Reports tasks build, in memory.
                report_set = load_report_set(params, ROOT / "notebooks")
                dated = [report_set.on(first + timedelta(days=n)) for n in range(args.days)]
                clock = time.perf_counter()
                built = build_reports(
                    dated,
                    url=settings["database_url"],
                    out_root=root / "builder",
                    notebook_dir=ROOT / "notebooks",
                    jobs=1,
                    force=True,
                )
                builder = (time.perf_counter() - clock, len(built.outcomes))
                assert not built.failed and len(built.outcomes) == args.days, built.summary()
                loads.append(load_average())
                print(
                    f"builder, the same {builder[1]} reports: {builder[0]:.1f} s "
                    f"({builder[0] / builder[1]:.2f} s a report)",
                    flush=True,
                )
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
    target = 1.0 if args.no_reports else 0.7
    figures = {
        "backfill_workers_1": {"value": round(seconds[1], 1), "unit": "s", "target": None,
                               "met": None},
        "backfill_workers_2": {"value": round(seconds[2], 1), "unit": "s", "target": None,
                               "met": None},
        "workers_2_over_workers_1": {"value": round(ratio, 3), "unit": "ratio",
                                     "target": f"<= {target}", "met": ratio <= target},
        "rerun_nothing_changed": {"value": round(rerun, 2), "unit": "s", "target": "< 10",
                                  "met": rerun < 10},
        "tasks_run": {"value": ran[1], "unit": "tasks", "target": None, "met": None},
    }  # fmt: skip
    if builder is not None and phase[1][1]:
        span, count, summed = phase[1]
        in_pipeline, alone = span / count, builder[0] / builder[1]
        figures.update({
            "pipeline_seconds_per_report": {"value": round(in_pipeline, 2), "unit": "s",
                                            "target": None, "met": None},
            "builder_seconds_per_report": {"value": round(alone, 2), "unit": "s",
                                           "target": None, "met": None},
            "pipeline_report_over_builder_report": {
                "value": round(in_pipeline / alone, 3), "unit": "ratio", "target": "<= 1.2",
                "met": in_pipeline / alone <= 1.2},
        })  # fmt: skip
    figures["load_average"] = {"value": loads, "unit": "1-min load (start, after each run)",
                               "target": None, "met": None}  # fmt: skip
    print()
    print("| figure | value | target | met |\n|---|---|---|---|")
    for name, f in figures.items():
        target, met = f["target"] or "—", {True: "yes", False: "no", None: "—"}[f["met"]]
        print(f"| {name} | {f['value']} {f['unit']} | {target} | {met} |")
    print(f"({os.cpu_count()} CPUs; load average {', '.join(map(str, loads))})")
    print(json.dumps({"benchmark": "backfill", "figures": figures}))
    sys.exit(0 if all(f["met"] is not False for f in figures.values()) else 1)


if __name__ == "__main__":
    main()
