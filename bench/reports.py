"""Benchmark: the report builder against the naive loop, and against the floor, in one run.

**Naive loop** (the sample warehouse, 20 organisation reports): per report, the papermill CLI
then the `jupyter nbconvert` CLI, one after the other; against the builder
(`govuk_kpi.reports.build`, 2 worker processes each keeping one warm kernel, HTML rendered
in-process). Then a rebuild with nothing changed. Targets: >= 3x the naive throughput on a
2-core machine, and a no-change rebuild under 2 s. `--cold` also times the builder with a
kernel per report (`warm=False`, the builder before warm kernels), for comparison.

**All organisations** (a generated warehouse, `govuk-kpi sample --pages 55000 --days 400`,
SQLite, built once and kept in `--scale-db`, default
/tmp/govuk-kpi-bench/scale-55000x400.db): the `organisation_report` of every organisation
with pages (the selector `all with pages`, as of the warehouse's last day) built with
`--jobs 2`, against the **floor**: the same notebooks' code cells, with the same parameters,
run with `exec` in two warm Python processes (pandas, matplotlib, SQLAlchemy and govuk_kpi
imported, and frozen out of garbage collections, as in a warm kernel, before the clock
starts; a fresh namespace per report, its output discarded) — no
kernel, papermill or nbconvert, no manifest. Then a rebuild with nothing changed. Targets: the
builder within 1.5x the floor's wall time; the rebuild under 5 s. CPU seconds of both (the
processes' own, reaped children included) are printed too: they depend less on what else
the machine runs.

    .venv/bin/python bench/reports.py [--reports 20] [--jobs 2] [--cold]
                                      [--no-all] [--organisations N] [--scale-db PATH]

`--organisations N` builds only the first N organisations (a quick check; the figure is then
marked partial). The last line is JSON: {"benchmark": "reports", "figures": {...}}.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCALE_DB = Path("/tmp/govuk-kpi-bench/scale-55000x400.db")
SCALE_PAGES, SCALE_DAYS = 55000, 400
ALL_SET = """name: all-organisations
as_of: 2026-10-31
period: past-30-days
notebooks: [organisation_report]
organisations: {organisations}
"""


def load_average() -> float:
    """The 1-minute load average (the machine is shared: say how busy it was)."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have ended (and theirs)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def scale_warehouse(path: Path) -> str:
    """The generated warehouse at `path`, built first when it is not there (into a file
    beside it, renamed into place when whole)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.unlink(missing_ok=True)
        print(f"building {path} ({SCALE_PAGES} pages x {SCALE_DAYS} days)", flush=True)
        start = time.perf_counter()
        subprocess.run(
            [str(BIN / "govuk-kpi"), "--database-url", f"sqlite:///{partial}", "sample",
             "--pages", str(SCALE_PAGES), "--days", str(SCALE_DAYS)],
            check=True, cwd=path.parent,
        )  # fmt: skip
        partial.rename(path)
        print(f"  built in {time.perf_counter() - start:.0f} s", flush=True)
    return f"sqlite:///{path}"


# -- the floor: the notebooks' code cells in warm Python processes -----------------------------

_NOTEBOOKS: dict[str, list[tuple[str, bool]]] = {}


def _discard() -> io.TextIOBase:
    class Discard(io.TextIOBase):
        def write(self, text: str) -> int:
            return len(text)

    return Discard()


def floor_start(url: str, ready: Any) -> None:
    """(A floor process, as it starts.) Import what a warm kernel has imported, and keep it
    out of garbage collections, as a warm kernel does."""
    import gc
    import importlib

    import matplotlib

    from govuk_kpi.reports.kernel import HEAVY

    matplotlib.use("Agg")
    for name in HEAVY:
        importlib.import_module(name)
    os.environ["GOVUK_KPI_DATABASE_URL"] = url
    gc.collect()
    gc.freeze()
    ready.wait()


def floor_report(job: dict[str, Any]) -> tuple[str, float]:
    """(A floor process.) Run a notebook's code cells as its report would; the seconds."""
    import warnings
    from contextlib import redirect_stdout

    import matplotlib.pyplot as plt
    import nbformat

    cells = _NOTEBOOKS.get(job["notebook"])
    if cells is None:
        notebook = nbformat.read(job["notebook"], as_version=4)
        cells = _NOTEBOOKS[job["notebook"]] = [
            (c.source, "parameters" in c.metadata.get("tags", []))
            for c in notebook.cells
            if c.cell_type == "code"
        ]
    out = Path(job["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    os.chdir(out)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    start = time.perf_counter()
    with redirect_stdout(_discard()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for index, (source, parameters) in enumerate(cells):
            exec(compile(source, f"<{job['name']} cell {index}>", "exec"), namespace)
            if parameters:  # as papermill's injected cell, right after the parameters cell
                namespace.update(job["parameters"], output_dir=str(out))
    plt.close("all")
    return job["name"], time.perf_counter() - start


def floor(jobs: list[dict[str, Any]], url: str, processes: int) -> tuple[float, float, dict]:
    """The floor's wall seconds (from warm processes to the last report), its CPU seconds
    (the processes' whole lives) and each report's seconds."""
    context = get_context("spawn")
    ready = context.Barrier(processes + 1)
    cpu = cpu_seconds()
    with context.Pool(processes, initializer=floor_start, initargs=(url, ready)) as pool:
        ready.wait()  # every process has imported what a warm kernel has
        start = time.perf_counter()
        each = dict(pool.imap_unordered(floor_report, jobs, chunksize=1))
        wall = time.perf_counter() - start
        pool.close()
        pool.join()
    return wall, cpu_seconds() - cpu, each


def all_organisations(args: argparse.Namespace, work: Path) -> dict[str, dict]:
    """Every organisation's report on the generated warehouse: builder, floor, rebuild."""
    from govuk_kpi.kpi import Warehouse
    from govuk_kpi.reports.build import build_reports
    from govuk_kpi.reports.params import load_report_set, plan

    url = scale_warehouse(args.scale_db)
    selector = "all with pages"
    if args.organisations:
        from govuk_kpi.reports.params import resolve_organisations

        slugs = resolve_organisations(selector, Warehouse(url).organisations())
        selector = "[" + ", ".join(slugs[: args.organisations]) + "]"
    params = work / "all-organisations.yaml"
    params.write_text(ALL_SET.format(organisations=selector), encoding="utf-8")
    notebooks = ROOT / "notebooks"
    jobs = plan(load_report_set(params, notebooks), Warehouse(url).organisations(), notebooks)
    count = len(jobs)
    loads = [load_average()]
    print(f"all organisations: {count} reports on {args.scale_db}", flush=True)

    cpu, start = cpu_seconds(), time.perf_counter()
    built = build_reports([params], url=url, out_root=work / "all-built", notebook_dir=notebooks,
                          jobs=args.jobs)  # fmt: skip
    builder, builder_cpu = time.perf_counter() - start, cpu_seconds() - cpu
    assert not built.failed and len(built.outcomes) == count, built.summary()
    loads.append(load_average())
    print(f"  builder: {builder:.1f} s ({builder / count:.2f} s a report with "
          f"{args.jobs} jobs), {builder_cpu:.0f} CPU s", flush=True)  # fmt: skip

    floor_jobs = [
        {"name": j.name, "notebook": str(j.notebook), "parameters": j.parameters,
         "out_dir": str(work / "all-floor" / j.as_of)}
        for j in jobs
    ]  # fmt: skip
    floor_wall, floor_cpu, each = floor(floor_jobs, url, args.jobs)
    loads.append(load_average())
    print(f"  floor: {floor_wall:.1f} s ({floor_wall / count:.2f} s a report with "
          f"{args.jobs} processes), {floor_cpu:.0f} CPU s", flush=True)  # fmt: skip

    start = time.perf_counter()
    again = build_reports([params], url=url, out_root=work / "all-built", notebook_dir=notebooks,
                          jobs=args.jobs)  # fmt: skip
    rebuild = time.perf_counter() - start
    assert {o.status for o in again.outcomes} == {"skipped"}, again.summary()
    loads.append(load_average())
    print(f"  rebuild, nothing changed: {rebuild:.2f} s", flush=True)

    per_report = sorted(o.seconds / each[o.name] for o in built.outcomes if each.get(o.name))
    ratio, cpu_ratio = builder / floor_wall, builder_cpu / floor_cpu
    partial = " (partial)" if args.organisations else ""
    return {
        "all_organisations_reports": {"value": count, "unit": f"reports{partial}",
                                      "target": None, "met": None},
        "all_organisations_builder_seconds": {"value": round(builder, 1), "unit": "s",
                                              "target": None, "met": None},
        "all_organisations_floor_seconds": {"value": round(floor_wall, 1), "unit": "s",
                                            "target": None, "met": None},
        "all_organisations_builder_over_floor": {"value": round(ratio, 3), "unit": "ratio",
                                                 "target": "<= 1.5", "met": ratio <= 1.5},
        "all_organisations_builder_cpu_over_floor_cpu": {
            "value": round(cpu_ratio, 3), "unit": f"ratio ({builder_cpu:.0f} / "
            f"{floor_cpu:.0f} CPU s)", "target": None, "met": None},
        "all_organisations_report_over_floor_report_median": {
            "value": round(per_report[len(per_report) // 2], 3) if per_report else None,
            "unit": "ratio (a worker's time for a report / the floor's)", "target": None,
            "met": None},
        "all_organisations_no_change_rebuild": {"value": round(rebuild, 2), "unit": "s",
                                                "target": "< 5", "met": rebuild < 5},
        "all_organisations_load_average": {"value": loads,
                                           "unit": "1-min load (start, after each step)",
                                           "target": None, "met": None},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cold", action="store_true", help="also time a kernel per report")
    parser.add_argument("--no-all", action="store_true", help="skip the all-organisations part")
    parser.add_argument("--organisations", type=int, default=0, help="only the first N (check)")
    parser.add_argument("--scale-db", type=Path, default=SCALE_DB, help="generated warehouse")
    args = parser.parse_args()

    from govuk_kpi.kpi import Warehouse
    from govuk_kpi.reports.build import build_reports
    from govuk_kpi.sample.build import build_sample

    work = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    url = f"sqlite:///{work}/warehouse.db"
    print(f"building the sample warehouse in {work}", flush=True)
    build_sample(url, out_dir=work / "generated")
    summary = Warehouse(url).organisation_summary(period="past-30-days")
    slugs = [s for s in summary.organisation if s != "(none)"][: args.reports]
    params = work / "bench.yaml"
    params.write_text(
        "as_of: 2026-10-31\nnotebooks: [organisation_report]\norganisations:\n"
        + "".join(f"  - {s}\n" for s in slugs),
        encoding="utf-8",
    )
    env = {**os.environ, "GOVUK_KPI_DATABASE_URL": url}

    naive_out = work / "naive"
    naive_out.mkdir()
    start = time.perf_counter()
    for slug in slugs:
        notebook = naive_out / f"organisation-report-{slug}.ipynb"
        subprocess.run(
            [str(BIN / "papermill"), str(ROOT / "notebooks/organisation_report.ipynb"),
             str(notebook), "-k", "python3", "-p", "organisation", slug,
             "-p", "as_of", "2026-10-31", "--no-progress-bar"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(notebook)],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
    naive = time.perf_counter() - start
    print(f"naive loop: {len(slugs)} reports in {naive:.1f}s", flush=True)

    start = time.perf_counter()
    result = build_reports(
        [params], url=url, out_root=work / "built", notebook_dir=ROOT / "notebooks",
        jobs=args.jobs,
    )  # fmt: skip
    built = time.perf_counter() - start
    assert not result.failed, result.summary()
    print(f"builder: {len(slugs)} reports in {built:.1f}s with {args.jobs} jobs", flush=True)

    cold = None
    if args.cold:
        start = time.perf_counter()
        result = build_reports(
            [params], url=url, out_root=work / "cold", notebook_dir=ROOT / "notebooks",
            jobs=args.jobs, warm=False,
        )  # fmt: skip
        cold = time.perf_counter() - start
        assert not result.failed, result.summary()
        print(f"builder, a kernel per report: {len(slugs)} reports in {cold:.1f}s", flush=True)

    start = time.perf_counter()
    again = build_reports(
        [params], url=url, out_root=work / "built", notebook_dir=ROOT / "notebooks",
        jobs=args.jobs,
    )  # fmt: skip
    rebuild = time.perf_counter() - start
    assert {o.status for o in again.outcomes} == {"skipped"}
    print(f"no-change rebuild: {rebuild:.2f}s", flush=True)

    naive_rate, built_rate = len(slugs) / naive * 60, len(slugs) / built * 60
    speedup = naive / built
    figures = {
        "reports": {"value": len(slugs), "unit": "reports", "target": 20, "met": len(slugs) >= 20},
        "naive_throughput": {"value": round(naive_rate, 1), "unit": "reports/min",
                             "target": None, "met": True},
        "builder_throughput": {"value": round(built_rate, 1), "unit": "reports/min",
                               "target": round(3 * naive_rate, 1), "met": speedup >= 3},
        "speedup": {"value": round(speedup, 2), "unit": "x naive", "target": 3,
                    "met": speedup >= 3},
        "builder_seconds": {"value": round(built, 1), "unit": "s", "target": None, "met": True},
        "naive_seconds": {"value": round(naive, 1), "unit": "s", "target": None, "met": True},
        "no_change_rebuild": {"value": round(rebuild, 2), "unit": "s", "target": 2,
                              "met": rebuild < 2},
        "cpus": {"value": os.cpu_count(), "unit": "cores", "target": None, "met": True},
    }  # fmt: skip
    if cold is not None:
        figures["cold_builder_seconds"] = {"value": round(cold, 1), "unit": "s",
                                           "target": None, "met": True}  # fmt: skip
        figures["cold_speedup"] = {"value": round(naive / cold, 2), "unit": "x naive",
                                   "target": None, "met": True}  # fmt: skip
    if not args.no_all:
        figures.update(all_organisations(args, work))
    print()
    print("| figure | value | target | met |\n|---|---|---|---|")
    for name, f in figures.items():
        target, met = f["target"] or "—", {True: "yes", False: "no", None: "—"}[f["met"]]
        print(f"| {name} | {f['value']} {f['unit']} | {target} | {met} |")
    print(json.dumps({"benchmark": "reports", "figures": figures}))
    sys.exit(0 if all(f["met"] is not False for f in figures.values()) else 1)


if __name__ == "__main__":
    main()
