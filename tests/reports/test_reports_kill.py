"""A report build ends with its workers and kernels, however it ends, and leaves nothing
half-made passing as a finished report.

`govuk-kpi reports build --jobs 2` runs as the real command line, in a session of its own,
building two reports (the fewest that start two workers, each with a kernel). It is observed
from outside with no hook in the product code: psutil collects its process tree (workers,
their kernels, the multiprocessing resource tracker) once both kernels run and a report's
notebook is being written; then the builder gets SIGKILL or SIGTERM. None of the collected
processes may outlive it by more than a few seconds, its output pipe must close, and a rerun
must build what a clean build builds (the manifests apart from times, and the same files).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from govuk_kpi.reports.build import MANIFEST_SUFFIX, VOLATILE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("govuk-kpi")
AS_OF = "2026-10-31"
SET = f"""name: kill
as_of: {AS_OF}
period: past-30-days
notebooks: [organisation_report]
organisations: [department-for-transport, hm-revenue-customs]
"""
# Left out of the comparison besides the times: the code version (git HEAD and whether the
# tree is dirty, so it changes when someone commits during a test run) and the hash of the
# inputs that includes it.
UNCOMPARED = (*VOLATILE, "code_version", "inputs_key")
GONE_WITHIN = 5.0  # seconds after the builder ends
BUILD_TIMEOUT = 300


def build_command(url: str, params: Path, out: Path) -> list[str]:
    command = [str(CLI), "--database-url", url, "reports", "build", str(params)]
    return [*command, "--jobs", "2", "--out", str(out)]


def build(url: str, params: Path, out: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        build_command(url, params, out),
        cwd=params.parent,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def steady_manifests(out: Path) -> dict[str, dict]:
    """Every manifest of the build, without its times (and code version)."""
    return {
        path.name.removesuffix(MANIFEST_SUFFIX): {
            k: v for k, v in json.loads(path.read_text()).items() if k not in UNCOMPARED
        }
        for path in sorted((out / AS_OF).glob(f"*{MANIFEST_SUFFIX}"))
    }


def files(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def alive(process: psutil.Process) -> bool:
    """Running (a zombie has ended; psutil also tells a reused pid from the process seen)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def is_kernel(process: psutil.Process) -> bool:
    try:
        return "ipykernel_launcher" in process.cmdline()
    except psutil.Error:
        return False


@pytest.fixture(scope="module")
def clean(sample_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A clean build of the report set. Every build runs in the same folder, with the same
    params file (the manifests name both) and its own copy of the notebooks, taken once: the
    builder reads `notebooks/` in its working directory, as `make reports` does."""
    folder = tmp_path_factory.mktemp("kill-clean")
    shutil.copytree(ROOT / "notebooks", folder / "notebooks")
    params = folder / "kill.yaml"
    params.write_text(SET, encoding="utf-8")
    build(sample_url, params, folder / "out")
    out = folder / "out"
    found = steady_manifests(out)
    assert len(found) == 2 and all(m["status"] == "ok" for m in found.values())
    return {"url": sample_url, "params": params, "out": out, "manifests": found}


class Build:
    """The builder as a child process in a session of its own, and every descendant seen."""

    def __init__(self, url: str, params: Path, out: Path) -> None:
        self.out = out
        self.child = subprocess.Popen(
            build_command(url, params, out),
            cwd=params.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.seen: dict[int, psutil.Process] = {}

    def collect(self) -> list[psutil.Process]:
        try:
            for process in psutil.Process(self.child.pid).children(recursive=True):
                self.seen.setdefault(process.pid, process)
        except psutil.NoSuchProcess:
            pass
        return [p for p in self.seen.values() if alive(p)]

    def wait_until_building(self, timeout: float = 120) -> list[psutil.Process]:
        """Both kernels running and a report's notebook being written: the tree then."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.child.poll() is None, self.child.communicate()
            running = self.collect()
            kernels = [p for p in running if is_kernel(p)]
            if len(kernels) >= 2 and list((self.out / AS_OF).glob("*.ipynb")):
                return self.collect()
            assert time.monotonic() < deadline, "the build never had two kernels at work"
            time.sleep(0.05)

    def survivors(self, within: float) -> list[psutil.Process]:
        deadline = time.monotonic() + within
        while (left := [p for p in self.seen.values() if alive(p)]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.1)
        return left

    def clean_up(self) -> None:
        """Whatever is left of this build, by pid (kernels lead sessions of their own)."""
        if self.child.poll() is None:
            os.killpg(self.child.pid, signal.SIGKILL)
        for process in self.seen.values():
            if alive(process):
                process.kill()
        self.child.communicate()


@pytest.fixture
def start(clean: dict, tmp_path: Path) -> Iterator[Callable[[], Build]]:
    builds: list[Build] = []

    def starter() -> Build:
        builds.append(Build(clean["url"], clean["params"], tmp_path / "out"))
        return builds[-1]

    yield starter
    for started in builds:
        started.clean_up()


def assert_rerun_builds_what_a_clean_build_builds(clean: dict, out: Path) -> None:
    # Nothing left as a finished report but a whole one.
    for name, manifest in steady_manifests(out).items():
        assert manifest == clean["manifests"][name]
    rerun = build(clean["url"], clean["params"], out)
    assert "built" in rerun.stdout
    assert steady_manifests(out) == clean["manifests"]
    assert files(out) == files(clean["out"])


def test_killed_build_leaves_no_process_and_a_rerun_builds_it(
    clean: dict, start: Callable[[], Build]
) -> None:
    """SIGKILL while both workers build: workers, kernels and the resource tracker go too,
    the output pipe closes, and a rerun gives what a clean build gives."""
    build_run = start()
    tree = build_run.wait_until_building()
    assert len(tree) >= 5, [p.cmdline() for p in tree]  # tracker, 2 workers, 2 kernels
    os.kill(build_run.child.pid, signal.SIGKILL)
    assert build_run.child.wait(timeout=10) == -signal.SIGKILL
    left = build_run.survivors(GONE_WITHIN)
    assert not left, [(p.pid, p.cmdline()) for p in left if alive(p)]
    build_run.child.communicate(timeout=5)  # nobody holds the output pipe open any more
    assert_rerun_builds_what_a_clean_build_builds(clean, build_run.out)


def test_sigterm_stops_the_build_within_seconds(clean: dict, start: Callable[[], Build]) -> None:
    """SIGTERM while both workers build: the builder stops its workers and kernels and ends
    as SIGTERM ends a process, saying so in one line; a rerun gives what a clean build gives."""
    build_run = start()
    tree = build_run.wait_until_building()
    assert len(tree) >= 5, [p.cmdline() for p in tree]
    sent = time.monotonic()
    os.kill(build_run.child.pid, signal.SIGTERM)
    _, err = build_run.child.communicate(timeout=10)
    assert time.monotonic() - sent < 8
    assert build_run.child.returncode == -signal.SIGTERM, err.decode()
    assert "stopped by SIGTERM" in err.decode()
    left = build_run.survivors(GONE_WITHIN)
    assert not left, [(p.pid, p.cmdline()) for p in left if alive(p)]
    assert_rerun_builds_what_a_clean_build_builds(clean, build_run.out)


def test_a_command_started_through_lifetime_ends_with_its_parent() -> None:
    """What kernels are started through: the command ends when the process that started it
    is killed, and does not start at all when that process has already gone."""
    middle = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            "from govuk_kpi.reports.lifetime import owned_command\n"
            "child = subprocess.Popen(owned_command(['sleep', '600']))\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert middle.stdout is not None
    sleeper = psutil.Process(int(middle.stdout.readline()))
    try:
        deadline = time.monotonic() + 30
        while "sleep" not in sleeper.cmdline():  # exec'd from the lifetime module
            assert time.monotonic() < deadline
            time.sleep(0.05)
        middle.kill()
        middle.wait()
        sleeper.wait(timeout=GONE_WITHIN)
    finally:
        if alive(sleeper):
            sleeper.kill()
        if middle.poll() is None:
            middle.kill()
        middle.communicate()
    # Told its parent is one that has gone (the race the module closes): it does not start.
    orphan = subprocess.run(
        [sys.executable, "-m", "govuk_kpi.reports.lifetime", str(middle.pid), "--", "sleep", "600"],
        timeout=30,
        check=False,
    )
    assert orphan.returncode == 1
