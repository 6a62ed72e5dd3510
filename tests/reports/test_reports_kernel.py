"""Warm kernels: one kernel per worker runs report after report, each as on a fresh kernel.

These run the builder's own `execute_report` in the test process on small notebooks (no
warehouse): the reports of one process share its warm kernel, as a worker's do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from govuk_kpi.reports import execute
from govuk_kpi.reports.build import execute_report, shutdown_warm_kernel

URL = "sqlite:///never-opened.db"
PARAMETERS = 'marker = "default"  # the report\'s own word\noutput_dir = ""'
# Prints one JSON line: what the kernel looks like to the report, before it changes anything.
LOOK = """import json, os, sys, warnings
import matplotlib.pyplot as plt
import pandas as pd
print(json.dumps({
    "pid": os.getpid(),
    "marker": marker,
    "leaked": sorted(n for n in ("secret", "frame", "np_alias") if n in globals()),
    "cwd": os.getcwd(),
    "env": os.environ.get("LEAKED_VARIABLE"),
    "url": os.environ.get("GOVUK_KPI_DATABASE_URL"),
    "figures": plt.get_fignums(),
    "linewidth": plt.rcParams["lines.linewidth"],
    "max_rows": pd.get_option("display.max_rows"),
    "preimported": "sqlalchemy" in sys.modules and "govuk_kpi.kpi" in sys.modules,
}))"""
# Changes everything a report could leave behind for the next one.
LITTER = """secret = 42
import numpy as np_alias
frame = pd.DataFrame({"a": [1]})
os.environ["LEAKED_VARIABLE"] = "leaked"
os.chdir("/")
plt.figure()
plt.rcParams["lines.linewidth"] = 9.0
pd.set_option("display.max_rows", 3)
warnings.warn("shown in every report", UserWarning)"""


def notebook(path: Path, *cells: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index:02d}"
    nbformat.write(nb, path)
    return str(path)


def run(tmp_path: Path, name: str, path: str, marker: str) -> tuple[dict, nbformat.NotebookNode]:
    out = tmp_path / "out"
    result = execute_report(
        {"name": name, "notebook": path, "parameters": {"marker": marker}}, URL, str(out)
    )
    return result, nbformat.read(out / f"{name}.ipynb", as_version=4)


def look(executed: nbformat.NotebookNode) -> dict:
    cell = next(c for c in executed.cells if c.source == LOOK)
    return json.loads(cell.outputs[0]["text"])


@pytest.fixture
def fresh() -> Iterator[None]:
    shutdown_warm_kernel()
    yield
    shutdown_warm_kernel()


@pytest.mark.slow
def test_reports_on_one_warm_kernel_do_not_see_each_other(fresh: None, tmp_path: Path) -> None:
    path = notebook(tmp_path / "litter.ipynb", LOOK, LITTER)
    first, a = run(tmp_path, "report-a", path, "a")
    second, b = run(tmp_path, "report-b", path, "b")
    assert first["error"] is None and second["error"] is None, (first, second)
    seen_a, seen_b = look(a), look(b)
    assert seen_a["pid"] == seen_b["pid"]  # the same kernel ran both
    out = str((tmp_path / "out").resolve())
    for seen, marker in ((seen_a, "a"), (seen_b, "b")):
        assert seen["marker"] == marker  # papermill injected this report's parameters
        assert seen["leaked"] == []  # nothing report A defined is visible in report B
        assert seen["cwd"] == out and seen["env"] is None and seen["url"] == URL
        assert seen["figures"] == [] and seen["linewidth"] == seen_a["linewidth"] != 9.0
        assert seen["max_rows"] == 60 and seen["preimported"]
    for executed in (a, b):  # as on a fresh kernel: counts from 1, the warning shown each time
        assert [c.execution_count for c in executed.cells] == [1, 2, 3, 4]
        assert executed.cells[1].metadata.tags == ["injected-parameters"]
        assert 'marker = "' in executed.cells[1].source
        streams = [o.get("text", "") for o in executed.cells[3].outputs]
        assert any("shown in every report" in s for s in streams), streams


@pytest.mark.slow
def test_a_failing_report_keeps_its_output_and_the_next_gets_a_new_kernel(
    fresh: None, tmp_path: Path
) -> None:
    ok = notebook(tmp_path / "ok.ipynb", LOOK)
    broken = notebook(
        tmp_path / "broken.ipynb",
        LOOK,
        "secret = 1\nprint('before the error')",
        "raise RuntimeError('deliberately broken')",
        "print('never run')",
    )
    before, first = run(tmp_path, "before", ok, "x")
    failed, executed = run(tmp_path, "failed", broken, "y")
    assert failed["error"] == "cell 5: RuntimeError: deliberately broken"
    by_source = {c.source: c for c in executed.cells if c.cell_type == "code"}
    kept = by_source["secret = 1\nprint('before the error')"].outputs  # partial output kept
    assert kept[0]["text"] == "before the error\n"
    error = by_source["raise RuntimeError('deliberately broken')"].outputs[-1]
    assert error["output_type"] == "error" and error["evalue"] == "deliberately broken"
    assert by_source["print('never run')"].outputs == []
    html = (tmp_path / "out" / "failed.html").read_text()
    assert "deliberately broken" in html and "before the error" in html
    after, again = run(tmp_path, "after", ok, "z")
    assert before["error"] is None and after["error"] is None
    assert look(again)["pid"] != look(first)["pid"]  # a new kernel
    assert look(again)["leaked"] == []


@pytest.mark.slow
def test_a_dead_kernel_is_replaced(fresh: None, tmp_path: Path) -> None:
    ok = notebook(tmp_path / "ok.ipynb", LOOK)
    dies = notebook(tmp_path / "dies.ipynb", LOOK, "print('last words', flush=True)", "os._exit(1)")
    _, first = run(tmp_path, "first", ok, "x")
    died, executed = run(tmp_path, "died", dies, "y")
    assert died["error"] and "DeadKernelError" in died["error"], died["error"]
    assert look(executed)["pid"] == look(first)["pid"]  # it ran on the warm kernel...
    by_source = {c.source: c for c in executed.cells if c.cell_type == "code"}
    kept = by_source["print('last words', flush=True)"].outputs  # ...and its output is kept
    assert kept[0]["text"] == "last words\n"
    assert (tmp_path / "out" / "died.html").exists()
    after, again = run(tmp_path, "after", ok, "z")
    assert after["error"] is None
    assert look(again)["pid"] != look(first)["pid"]  # a new kernel
    assert execute._WARM is not None and execute._WARM.starts == 2


def test_a_kernel_talks_over_private_unix_sockets_removed_when_it_ends(tmp_path: Path) -> None:
    """Not TCP ports any local process could reach; nothing left behind in the temp folder."""
    import os
    import stat

    from govuk_kpi.reports.kernel import WarmKernel

    for end in ("shutdown", "kill"):
        kernel = WarmKernel().start(tmp_path)
        try:
            assert kernel.km.transport == "ipc"
            folder = Path(kernel.km.ip).parent
            assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
            assert any(stat.S_ISSOCK(p.stat().st_mode) for p in folder.iterdir())
        finally:
            getattr(kernel, end)()
        assert not folder.exists(), end
