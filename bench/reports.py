"""Benchmark: 20 organisation reports, the builder against the naive loop, in the same run.

The naive loop runs, per report, the papermill CLI then the `jupyter nbconvert` CLI (one after
the other); the builder (`govuk_kpi.reports.build`) runs them in a process pool with HTML
rendered in-process, each worker keeping one warm kernel across its reports. Then a rebuild
with nothing changed. Targets: ≥ 3× the naive throughput on a 2-core machine, and a no-change
rebuild under 2 s. `--cold` also times the builder with a kernel per report (`warm=False`,
the builder before warm kernels), for comparison.

    .venv/bin/python bench/reports.py [--reports 20] [--jobs 2] [--cold]

The last line is JSON: {"benchmark": "reports", "figures": {...}}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cold", action="store_true", help="also time a kernel per report")
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
    print(json.dumps({"benchmark": "reports", "figures": figures}))


if __name__ == "__main__":
    main()
