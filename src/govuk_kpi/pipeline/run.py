"""`govuk-kpi run`: build the task graph for some days and hand it to luigi.

The daily run for day D covers D-1 and D (analytics arrive late, so yesterday's files are
looked at again: a changed one reloads). A backfill covers `first`..`last`. Workers share one
graph: the local scheduler by default, a central `luigid` with `scheduler_url`.

The reports of every day of a run build on one pool of report workers with warm kernels
(`report_workers`), started when there are reports to build and stopped when the run ends.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import luigi
import luigi.interface
from luigi.execution_summary import LuigiStatusCode

from govuk_kpi.core.errors import ConfigError
from govuk_kpi.pipeline.config import configure, pipeline_settings
from govuk_kpi.pipeline.context import RunContext, running
from govuk_kpi.pipeline.events import read_events
from govuk_kpi.pipeline.tasks import (
    DailyRun,
    is_complete,
    prepared_forks,
    report_workers,
    reports_pending,
)

SUCCEEDED = {LuigiStatusCode.SUCCESS, LuigiStatusCode.SUCCESS_WITH_RETRY}


@dataclass
class RunResult:
    """What a run did: luigi's verdict and summary, and this process's task events."""

    ok: bool
    status: str
    summary: str
    run_id: str
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("status") == "failed"]

    @property
    def ran(self) -> list[str]:
        """Ids of the tasks that ran to completion in this run."""
        return [e["task_id"] for e in self.events if e.get("status") == "done"]


def daily_range(day: date | None = None, *, today: date | None = None) -> tuple[date, date]:
    """The days of the daily run for `day` (default yesterday): the day before it, and it."""
    day = day or (today or datetime.now(UTC).date()) - timedelta(days=1)
    return day - timedelta(days=1), day


def _to_do(root: DailyRun) -> tuple[bool, bool]:
    """Whether the run has anything to do, and reports to build. A check that fails here is
    left to luigi, which makes the same checks and reports what failed."""
    try:
        if is_complete(root):
            return False, False
        return True, reports_pending(root)
    except Exception:
        return True, False


def run_pipeline(
    first: date,
    last: date,
    *,
    report_sets: Sequence[str | Path] = (),
    workers: int = 1,
    scheduler_url: str | None = None,
    snapshot_date: date | None = None,
    log_level: str = "WARNING",
    **options: Any,
) -> RunResult:
    """Run the graph for `first`..`last`.

    Args:
        first, last: the days whose exports to load and whose reports to build.
        report_sets: `params/*.yaml` files; none → load and roll up only.
        workers: tasks run at once (luigi worker processes).
        scheduler_url: a central `luigid` (e.g. http://127.0.0.1:8082); None → local.
        snapshot_date: the day the extract snapshots are filed under (default today, UTC).
        log_level: luigi's own log level.
        options: pipeline settings (`pipeline_settings`): database_url, landing, ...
    """
    if last < first:
        raise ConfigError(f"--from {first} is after --to {last}")
    for report_set in report_sets:
        if not Path(report_set).is_file():
            raise ConfigError(f"{report_set}: no such report set")
    run_id = options.pop("run_id", None) or uuid.uuid4().hex[:12]
    configure(run_id=run_id, **options)
    # Read once, for every task of the run (and the processes luigi forks for them).
    context = RunContext.from_settings(pipeline_settings())  # type: ignore[no-untyped-call, unused-ignore]
    config = luigi.configuration.get_config()  # type: ignore[no-untyped-call, unused-ignore]
    # A task is done when its output says so after it ran, not because it returned.
    config.set("worker", "check_complete_on_run", "true")
    # With a central scheduler, stay alive while another worker runs tasks this one waits on;
    # give up after a minute idle (a failed task is retried by luigid only much later).
    config.set("worker", "keep_alive", "true" if scheduler_url else "false")
    config.set("worker", "max_keep_alive_idle_duration", "60 seconds")
    luigi.task_register.Register.clear_instance_cache()  # type: ignore[no-untyped-call, unused-ignore]
    params: dict[str, Any] = {"workers": workers, "log_level": log_level}
    if scheduler_url:
        params["scheduler_url"] = scheduler_url
    else:
        params["local_scheduler"] = True
    with running(context):
        return _run(context, root_task(first, last, report_sets, snapshot_date), workers, params)


def root_task(
    first: date, last: date, report_sets: Sequence[str | Path], snapshot_date: date | None
) -> DailyRun:
    """The graph's root: everything for the days `first`..`last`."""
    return DailyRun(
        first=first,
        last=last,
        report_sets=[str(p) for p in report_sets],
        snapshot_date=snapshot_date or datetime.now(UTC).date(),
    )


def _run(context: RunContext, root: DailyRun, workers: int, params: dict[str, Any]) -> RunResult:
    """Build `root` with luigi while `context` is the current one."""
    with contextlib.ExitStack() as shared:
        work, reports = _to_do(root)
        if work and workers > 1:  # luigi forks a process per task: prepare what they share
            shared.enter_context(prepared_forks())
        if reports:  # one pool of warm kernels for every day's reports
            shared.enter_context(report_workers(max(1, workers) * context.report_jobs))
        outcome = luigi.build([root], detailed_summary=True, **params)  # type: ignore[no-untyped-call, unused-ignore]
    events = list(read_events(context.events_file, context.run_id))
    failed = any(e.get("status") == "failed" for e in events)
    # With a central scheduler another worker may have run everything ("not granted run
    # permission"): what counts is whether the whole graph is done now.
    done = outcome.status in SUCCEEDED or (
        outcome.status == LuigiStatusCode.NOT_RUN and is_complete(root)
    )
    return RunResult(
        ok=done and not failed,
        status=outcome.status.name,
        summary=outcome.summary_text,
        run_id=context.run_id,
        events=events,
    )
