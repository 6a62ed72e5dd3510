"""Report pools kept across builds: one warm kernel per worker for many builds, and the
service that lets processes forked from its owner (luigi's task processes) build on it.

The reports are small notebooks (no warehouse) that print the pid of the kernel running them.
Whatever a pool or service started must end when it is closed, and when its owner is killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import nbformat
import psutil
import pytest
from test_reports_kernel import LOOK, URL, look, notebook

from govuk_kpi.reports.build import ReportPool
from govuk_kpi.reports.service import ReportService

pytestmark = pytest.mark.slow

GONE_WITHIN = 15.0  # seconds: the service stops its workers (5 s at most), they their kernels
RESULT_TIMEOUT = 180


def job(path: str, name: str) -> dict:
    return {"name": name, "notebook": path, "parameters": {"marker": name}}


def kernel_pid(out: Path, name: str) -> int:
    return look(nbformat.read(out / f"{name}.ipynb", as_version=4))["pid"]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def gone(pids: list[int], within: float = GONE_WITHIN) -> list[int]:
    """The pids still running after `within` seconds."""
    deadline = time.monotonic() + within
    while (left := [p for p in pids if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_a_pool_keeps_its_kernel_from_one_build_to_the_next(tmp_path: Path) -> None:
    path = notebook(tmp_path / "look.ipynb", LOOK)
    out = tmp_path / "out"
    with ReportPool(1) as pool:
        for name in ("day-1", "day-2"):  # two builds' reports, one after the other
            run = pool.submit(job(path, name), URL, str(out)).result(RESULT_TIMEOUT)
            assert run["error"] is None, run
        kernels = {kernel_pid(out, name) for name in ("day-1", "day-2")}
        assert len(kernels) == 1  # the same warm kernel ran both
    assert gone(list(kernels)) == []  # closing the pool ended its worker and kernel


def test_a_pool_whose_worker_died_starts_a_new_one(tmp_path: Path) -> None:
    """A worker killed under a report fails that report, and takes its kernel with it; the
    pool's next report gets a new worker and kernel."""
    path = notebook(tmp_path / "look.ipynb", LOOK)
    kills = notebook(  # the kernel's parent is the worker
        tmp_path / "kills.ipynb",
        "import os, pathlib, signal\npathlib.Path('kernel.pid').write_text(str(os.getpid()))",
        "os.kill(os.getppid(), signal.SIGKILL)",
    )
    out = tmp_path / "out"
    with ReportPool(1) as pool:
        with pytest.raises(Exception, match="terminated abruptly"):  # BrokenProcessPool
            pool.submit(job(kills, "killed"), URL, str(out)).result(RESULT_TIMEOUT)
        first = int((out / "kernel.pid").read_text())
        assert gone([first]) == []
        run = pool.submit(job(path, "after"), URL, str(out)).result(RESULT_TIMEOUT)
        assert run["error"] is None, run
        assert kernel_pid(out, "after") != first


def _build_in_a_forked_process(service: ReportService, path: str, name: str, out: str) -> None:
    """(A process forked from the service's owner, as luigi forks a task.)"""
    pool = service.connect()
    try:
        run = pool.submit(job(path, name), URL, out).result(RESULT_TIMEOUT)
    finally:
        pool.close()
    sys.exit(0 if run["error"] is None else 1)


def test_forked_processes_build_on_the_services_warm_kernel(tmp_path: Path) -> None:
    path = notebook(tmp_path / "look.ipynb", LOOK)
    out = tmp_path / "out"
    with ReportService(1) as service:
        for name in ("day-1", "day-2"):  # each day's task in a process of its own
            child = get_context("fork").Process(
                target=_build_in_a_forked_process, args=(service, path, name, str(out))
            )
            child.start()
            child.join(RESULT_TIMEOUT)
            assert child.exitcode == 0
        kernels = {kernel_pid(out, name) for name in ("day-1", "day-2")}
        assert len(kernels) == 1
        assert service.pid is not None
        tree = [service.pid] + [p.pid for p in psutil.Process(service.pid).children(True)]
        assert set(kernels) <= set(tree)
    assert gone(tree) == []  # closed: the service, its worker and the kernel have ended
    assert not Path(service.address or "/nonexistent").exists()


OWNER = """
import sys, time
from govuk_kpi.reports.service import ReportService

if __name__ == "__main__":
    service = ReportService(1).start()
    pool = service.connect()
    slow = {"name": "slow", "notebook": sys.argv[1], "parameters": {}}
    pool.submit(slow, sys.argv[2], sys.argv[3])
    print(service.pid, flush=True)
    time.sleep(600)
"""


def test_the_service_and_its_kernels_end_when_their_owner_is_killed(tmp_path: Path) -> None:
    """SIGKILL of the process that started the service (a `govuk-kpi run`) while a report
    runs: the service, its worker and the kernel all end within seconds."""
    slow = notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(600)")
    script = tmp_path / "owner.py"
    script.write_text(OWNER, encoding="utf-8")
    owner = subprocess.Popen(
        [sys.executable, str(script), slow, URL, str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        cwd=tmp_path,
        start_new_session=True,
    )
    seen: dict[int, psutil.Process] = {}
    try:
        assert owner.stdout is not None
        service = int(owner.stdout.readline())
        deadline = time.monotonic() + RESULT_TIMEOUT
        while not any("ipykernel_launcher" in " ".join(p.cmdline()) for p in seen.values()):
            assert time.monotonic() < deadline, "the report never started"
            assert owner.poll() is None
            for process in [psutil.Process(service), *psutil.Process(service).children(True)]:
                seen.setdefault(process.pid, process)
            time.sleep(0.1)
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(10)
        left = gone(list(seen))
        assert left == [], [(p, json.dumps(seen[p].cmdline())) for p in left]
    finally:
        if owner.poll() is None:
            os.killpg(owner.pid, signal.SIGKILL)
        for process in seen.values():
            if alive(process.pid):
                process.kill()
        owner.communicate()
