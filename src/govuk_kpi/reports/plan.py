"""Planning a report build: which reports, what each depends on, which are up to date.

A report's inputs key is the hash of its notebook, parameters, code, packages and warehouse
data; a report whose manifest says `ok` with the same key, and whose HTML is there, is skipped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from govuk_kpi.core.errors import ConfigError
from govuk_kpi.reports.manifest import Manifest, manifest_path, read_manifest
from govuk_kpi.reports.params import ReportJob, ReportSet, load_report_set, plan
from govuk_kpi.warehouse.db import database_url

PACKAGES = (
    "govuk-kpi",
    "papermill",
    "nbconvert",
    "nbformat",
    "nbclient",
    "ipykernel",
    "pandas",
    "numpy",
    "matplotlib",
    "sqlalchemy",
)


@dataclass(frozen=True)
class Inputs:
    """What every report of a build shares: the code, the packages, the warehouse's data."""

    code: str
    packages: dict[str, str]
    data: dict[str, Any]


@dataclass(frozen=True)
class PlannedReport:
    """One report of a build: its job, its inputs key, and its manifest when up to date."""

    job: ReportJob
    key: str
    fresh: Manifest | None  # the manifest of an up-to-date report (skipped), else None


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def absolute_url(url: str | None) -> str:
    """The warehouse URL with a relative SQLite path made absolute (kernels run elsewhere)."""
    chosen = database_url(url)
    prefix = "sqlite:///"
    if chosen.startswith(prefix) and not chosen.startswith(prefix + "/"):
        path = chosen.removeprefix(prefix)
        if path and path != ":memory:":
            return prefix + str(Path(path).resolve())
    return chosen


def inputs_key(job: ReportJob, code: str, packages: dict[str, str], data: dict[str, Any]) -> str:
    """The hash of everything a report depends on; unchanged → the report is skipped."""
    blob = json.dumps(
        {
            "notebook": sha256_file(job.notebook),
            "parameters": job.parameters,
            "code": code,
            "packages": packages,
            "data": data,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def load_report_sets(
    report_sets: Sequence[str | Path | ReportSet], notebook_dir: Path
) -> list[ReportSet]:
    """The report sets, all checked before anything runs: files are read, sets given in
    memory (a set with its `as_of` replaced, say) are taken as they are."""
    loaded = [
        s if isinstance(s, ReportSet) else load_report_set(s, notebook_dir) for s in report_sets
    ]
    if not loaded:
        raise ConfigError("no report sets given (params/*.yaml)")
    return loaded


def plan_jobs(
    report_sets: Sequence[ReportSet], organisations: Any, notebook_dir: Path
) -> list[ReportJob]:
    """Every notebook run of the report sets; two sets making one report is a `ConfigError`."""
    jobs = [job for s in report_sets for job in plan(s, organisations, notebook_dir)]
    seen: dict[tuple[str, str], Path] = {}
    for job in jobs:
        key = (job.as_of, job.name)
        if key in seen:
            raise ConfigError(
                f"{job.params_file}: report {job.as_of}/{job.name} is also made by {seen[key]}"
            )
        seen[key] = job.params_file
    return jobs


def up_to_date(job: ReportJob, key: str, out_root: Path) -> Manifest | None:
    """The report's manifest when it was built, ok, from these inputs, with its HTML."""
    out = out_root / job.as_of
    old = read_manifest(manifest_path(out, job.name))
    if old is not None and old.inputs_key == key and old.ok and (out / f"{job.name}.html").exists():
        return old
    return None


def plan_reports(
    jobs: Sequence[ReportJob], inputs: Inputs, out_root: Path, *, force: bool = False
) -> list[PlannedReport]:
    """Each job with its inputs key, and whether it is up to date (never, when `force`)."""
    planned = []
    for job in jobs:
        key = inputs_key(job, inputs.code, inputs.packages, inputs.data)
        fresh = None if force else up_to_date(job, key, out_root)
        planned.append(PlannedReport(job, key, fresh))
    return planned
