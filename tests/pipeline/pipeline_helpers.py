"""Pipeline test helpers: landing files from the sample generator, a stand-in, a report set."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from govuk_kpi.core.data import govuk_data_dir
from govuk_kpi.sample.generate import generate_sample, pages_from_content_dir

EXTRACT_TESTS = Path(__file__).resolve().parent.parent / "extract"
if str(EXTRACT_TESTS) not in sys.path:
    sys.path.insert(0, str(EXTRACT_TESTS))

from extract_helpers import ORGANISATIONS_FILE, served_items  # noqa: E402
from govuk_standin import GovukStandin  # noqa: E402

DAYS = (date(2026, 10, 29), date(2026, 10, 30), date(2026, 10, 31))
SNAPSHOT_DAY = date(2026, 11, 1)  # the extract snapshots of every test are filed under it


def write_landing(landing: Path, last: date, days: int, work: Path, seed: int = 7) -> list[date]:
    """Generate `days` days of sample usage ending on `last`; split it into daily landing files."""
    pages = pages_from_content_dir(govuk_data_dir() / "content-items")
    manifest = generate_sample(pages, work, as_of=last, seed=seed, days=days)
    written: set[date] = set()
    for kind, files in (
        ("analytics", manifest.analytics_files),
        ("feedback", manifest.feedback_files),
    ):
        by_day: dict[str, list[list[str]]] = {}
        header: list[str] = []
        for file in files:
            with open(file, newline="", encoding="utf-8") as handle:
                reader = csv.reader(handle)
                header = next(reader)
                for row in reader:
                    by_day.setdefault(row[0], []).append(row)
        folder = landing / kind
        folder.mkdir(parents=True, exist_ok=True)
        for day, rows in by_day.items():
            with open(folder / f"{kind}-{day}.csv", "w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(header)
                writer.writerows(rows)
            written.add(date.fromisoformat(day))
    return sorted(written)


def report_set(folder: Path, organisation: str = "hm-revenue-customs") -> Path:
    """A small report set: the KPI overview only (as_of is replaced per day by the pipeline)."""
    path = folder / "pipeline-test.yaml"
    path.write_text(
        "name: pipeline-test\n"
        "as_of: 2026-10-31\n"
        "period: past-30-days\n"
        "notebooks: [kpi_overview]\n"
        f"organisations: [{organisation}]\n",
        encoding="utf-8",
    )
    return path


@contextmanager
def standin() -> Iterator[GovukStandin]:
    """The local GOV.UK stand-in serving the real recorded content items and organisations."""
    organisations = json.loads(ORGANISATIONS_FILE.read_bytes())["results"]
    with GovukStandin(served_items(), organisations) as server:
        yield server


def settings_for(root: Path, url: str, base_url: str) -> dict[str, Any]:
    """Pipeline settings keeping everything under `root`, extracting quickly from a stand-in."""
    return {
        "database_url": url,
        "landing": str(root / "landing"),
        "snapshots": str(root / "snapshots"),
        "reports_out": str(root / "reports"),
        "work_dir": str(root / "work"),
        "base_url": base_url,
        "rate": 500,
        "concurrency": 8,
        "timeout": 5,
        "retries": 1,
        "cache_dir": str(root / "cache"),
    }


def cli_options(settings: dict[str, Any]) -> list[str]:
    """The same settings as `govuk-kpi run` options."""
    names = {
        "landing": "--landing",
        "snapshots": "--snapshots",
        "reports_out": "--reports-out",
        "work_dir": "--work-dir",
        "base_url": "--base-url",
        "rate": "--rate",
        "cache_dir": "--cache-dir",
    }
    return [part for key, flag in names.items() for part in (flag, str(settings[key]))]


def days_of(first: date, count: int) -> Sequence[date]:
    return [first + timedelta(days=n) for n in range(count)]
