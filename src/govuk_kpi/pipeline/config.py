"""Where the pipeline reads and writes, as one luigi `Config` section (`[pipeline_settings]`).

Every process that runs tasks (the `govuk-kpi run` process, its forked workers, a second
worker process sharing a central scheduler) sets the same values with `configure`, so tasks
carry only what identifies them (dates, report sets). Tasks read them once per run, frozen,
as a `RunContext` (`context.py`).

The landing folder is where daily exports arrive (docs/operations.md):

    <landing>/analytics/analytics-YYYY-MM-DD.csv
    <landing>/feedback/feedback-YYYY-MM-DD.csv
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import luigi

from govuk_kpi.sources.registry import SOURCES

# The landing folders a day's files are read from, and the names looked for in each, in
# order: the registered daily sources the pipeline picks up (`sources/registry.py`).
LANDING_KINDS = SOURCES.landing_kinds()
SECTION = "pipeline_settings"


class pipeline_settings(luigi.Config):  # luigi names the config section after the class
    """The pipeline's settings; see `configure` and docs/operations.md."""

    database_url = luigi.Parameter(default="", description="warehouse URL ('' = the default)")
    landing = luigi.Parameter(default="data/landing", description="landing folder")
    snapshots = luigi.Parameter(default="data/snapshots", description="extract snapshots root")
    reports_out = luigi.Parameter(default="reports", description="reports root (the site)")
    notebooks = luigi.Parameter(default="notebooks", description="report notebooks folder")
    work_dir = luigi.Parameter(default="data/pipeline", description="state: events")
    publish_dir = luigi.Parameter(default="", description="copy the site here ('' = no copy)")
    base_url = luigi.Parameter(default="https://www.gov.uk", description="GOV.UK to extract")
    rate = luigi.FloatParameter(default=10.0)
    concurrency = luigi.IntParameter(default=4)
    timeout = luigi.FloatParameter(default=10.0)
    retries = luigi.IntParameter(default=4)
    cache_dir = luigi.Parameter(default="data/cache/http", description="'' = no HTTP cache")
    search_organisations = luigi.Parameter(
        default="", description="comma-separated slugs whose pages to extract ('' = all)"
    )
    report_jobs = luigi.IntParameter(default=2, description="reports built at once per task")
    max_reject_share = luigi.FloatParameter(default=0.01, description="rejected rows allowed")
    max_unfetched_share = luigi.FloatParameter(default=0.01, description="pages not fetched")
    run_id = luigi.Parameter(default="", description="tags the events of one run")
    # Where a day's analytics come from: the landing folder (`local`), or GA4's events
    # aggregated in BigQuery into a snapshot first (`bigquery`, sources/ga4_bigquery.py).
    ga4_route = luigi.ChoiceParameter(choices=["local", "bigquery"], default="local")
    bigquery_flattened = luigi.BoolParameter(
        default=False, description="read GOV.UK's flattened table, not the raw export"
    )
    bigquery_project = luigi.Parameter(default="", description="'' = GOV.UK's GA4 project")
    bigquery_dataset = luigi.Parameter(default="", description="'' = GOV.UK's, by table kind")
    bigquery_table = luigi.Parameter(default="", description="'' = GOV.UK's, by table kind")
    bigquery_billing_project = luigi.Parameter(default="", description="'' = the project")
    bigquery_location = luigi.Parameter(default="", description="'' = the table's")
    bigquery_endpoint = luigi.Parameter(
        default="", description="'' = Google's, or GOVUK_KPI_BIGQUERY_ENDPOINT"
    )


def configure(**values: Any) -> None:
    """Set settings for every task of this process (and of workers forked from it)."""
    from govuk_kpi.pipeline.context import forget

    config = luigi.configuration.get_config()  # type: ignore[no-untyped-call, unused-ignore]
    known = pipeline_settings.get_param_names()  # type: ignore[no-untyped-call, unused-ignore]
    if not config.has_section(SECTION):
        config.add_section(SECTION)
    for key, value in values.items():
        if key not in known:
            raise KeyError(f"unknown pipeline setting {key!r}")
        config.set(SECTION, key, "" if value is None else str(value))
    forget()  # a context read from the settings before is out of date


def landing_file(kind: str, day: date, landing: str | Path | None = None) -> Path:
    """Where the export of `kind` (analytics or feedback) for `day` arrives.

    A day's analytics may arrive instead as the GA4 export of that day (the registry's `ga4`
    landing names, any format `govuk-kpi load ga4` reads): when there is no CSV and there is
    one of those, it is the day's file.
    """
    if kind not in LANDING_KINDS:
        raise ValueError(f"unknown landing kind {kind!r}: expected analytics or feedback")
    if landing is None:
        from govuk_kpi.pipeline.context import current

        landing = current().landing
    return SOURCES.landing_file(kind, day, Path(landing))
