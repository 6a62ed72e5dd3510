"""The reports of a run's days build on one pool of warm kernels, which ends with the run.

With two workers luigi runs each day's `Reports` task in a process forked for it; the report
workers and their kernels live in the run's report service instead, so the three days' reports
run on at most two kernels (the pool: 2 workers x 1 report job), not one kernel a day. The
report set is one small notebook that prints the pid of the kernel running it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import psutil
from pipeline_helpers import DAYS, SNAPSHOT_DAY

from govuk_kpi.pipeline import run_pipeline

PID_NOTEBOOK_CELLS = (
    'as_of = "2026-10-31"  # the last day of the period\noutput_dir = ""',
    'import json, os\nprint(json.dumps({"pid": os.getpid(), "as_of": as_of}))',
)


def pid_notebook(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source) for source in PID_NOTEBOOK_CELLS]
    nb.cells[0].metadata["tags"] = ["parameters"]
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index:02d}"
    path = folder / "kernel_pid.ipynb"
    nbformat.write(nb, path)
    return path


def printed(path: Path) -> dict:
    cell = nbformat.read(path, as_version=4).cells[-1]
    return json.loads(cell.outputs[0]["text"])


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_days_reports_share_warm_kernels_that_end_with_the_run(workspace: dict) -> None:
    ws = workspace
    pid_notebook(ws["root"] / "notebooks")
    report_set = ws["root"] / "pids.yaml"
    report_set.write_text(
        "name: pids\nas_of: 2026-10-31\nperiod: past-30-days\nnotebooks: [kernel_pid]\n",
        encoding="utf-8",
    )
    settings = {**ws["settings"], "notebooks": str(ws["root"] / "notebooks"), "report_jobs": 1}
    result = run_pipeline(
        DAYS[0],
        DAYS[-1],
        report_sets=[report_set],
        workers=2,
        snapshot_date=SNAPSHOT_DAY,
        **settings,
    )
    assert result.ok, result.summary
    reports = [e for e in result.events if e["task"] == "govuk_kpi.Reports"]
    assert len(reports) == len(DAYS) and len({e["pid"] for e in reports}) == len(DAYS)
    seen = {
        day: printed(ws["root"] / "reports" / day.isoformat() / "kernel-pid.ipynb") for day in DAYS
    }
    assert [seen[day]["as_of"] for day in DAYS] == [day.isoformat() for day in DAYS]
    kernels = {s["pid"] for s in seen.values()}
    assert len(kernels) <= 2  # one pool for the run; a kernel a day would be three
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in kernels) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in kernels)  # the run stopped its report workers
