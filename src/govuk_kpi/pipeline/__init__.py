"""The daily pipeline: luigi tasks over extract, load, rollups, reports and the site.

`run_pipeline(first, last, ...)` runs the graph (see `tasks` for the tasks and their
targets, `config` for the settings and the landing folder, docs/operations.md for running it).
"""

from govuk_kpi.pipeline.checks import CheckFailed
from govuk_kpi.pipeline.config import configure, landing_file
from govuk_kpi.pipeline.run import RunResult, daily_range, run_pipeline

__all__ = [
    "CheckFailed",
    "RunResult",
    "configure",
    "daily_range",
    "landing_file",
    "run_pipeline",
]
