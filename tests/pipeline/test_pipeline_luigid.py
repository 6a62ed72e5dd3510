"""Two worker processes share one graph through a central `luigid`: every task runs once.

Also the loads and rollups on each database backend (SQLite and PostgreSQL).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline_helpers import (
    DAYS,
    SNAPSHOT_DAY,
    cli_options,
    report_set,
    settings_for,
    write_landing,
)
from test_pipeline_graph import batches, edit_row, families

from govuk_kpi.pipeline import landing_file, run_pipeline
from govuk_kpi.pipeline.events import read_events
from govuk_kpi.warehouse.db import upgrade

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def luigid(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    state = tmp_path / "luigid"
    (state / "log").mkdir(parents=True)  # luigid does not make it
    process = subprocess.Popen(
        [
            str(BIN / "luigid"),
            "--address",
            "127.0.0.1",
            "--port",
            str(port),
            "--state-path",
            str(state / "state.pickle"),
            "--logdir",
            str(state / "log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("luigid did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_two_workers_share_the_graph_and_run_every_task_once(workspace: dict, luigid: str) -> None:
    ws = workspace
    command = [
        str(BIN / "govuk-kpi"),
        "--database-url",
        ws["url"],
        "run",
        "--from",
        DAYS[0].isoformat(),
        "--to",
        DAYS[-1].isoformat(),
        "--params",
        str(report_set(ws["root"])),
        "--scheduler-url",
        luigid,
        "--snapshot-date",
        SNAPSHOT_DAY.isoformat(),
        "--report-jobs",
        "1",
        *cli_options(ws["settings"]),
    ]
    events = ws["root"] / "work" / "events.jsonl"
    earlier = len(list(read_events(events)))  # the base run's
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    workers = [
        subprocess.Popen(
            command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err[-3000:]
    new = list(read_events(events))[earlier:]
    assert len({e["run_id"] for e in new}) == 2
    assert all(e["status"] == "done" for e in new)
    counts = Counter(e["task_id"] for e in new)
    assert set(counts.values()) == {1}, counts  # every task ran exactly once...
    assert len(counts) == 11  # ...3 analytics, 3 feedback, rollups, 3 reports, the site
    assert len({e["pid"] for e in new}) == 2  # and both workers took some
    for day in DAYS:
        assert (ws["root"] / "reports" / day.isoformat() / "kpi-overview.html").is_file()


def test_loads_and_rollups_on_each_backend(db_url: str, tmp_path: Path, server: str) -> None:
    upgrade(db_url)
    days = write_landing(tmp_path / "landing", DAYS[-1], 2, tmp_path / "generated")
    settings = settings_for(tmp_path, db_url, server)
    first = run_pipeline(days[0], days[-1], snapshot_date=SNAPSHOT_DAY, **settings)
    assert first.ok, first.summary
    assert len(first.ran) == 9  # extract ×2, organisations, content, 2 × 2 daily loads, rollups
    loaded = batches(db_url)
    again = run_pipeline(days[0], days[-1], snapshot_date=SNAPSHOT_DAY, **settings)
    assert again.ok and again.ran == [] and batches(db_url) == loaded
    feedback = landing_file("feedback", days[-1], tmp_path / "landing")
    edit_row(feedback, lambda row: row.update(feedex=str(int(row["feedex"]) + 3)))
    changed = run_pipeline(days[0], days[-1], snapshot_date=SNAPSHOT_DAY, **settings)
    assert changed.ok, changed.summary
    assert families(changed.ran) == ["LoadFeedback_2026_10_31", "Rollups_2026_10_30"]
