"""Helpers shared by the extract tests: the served data set, running the CLI in-process."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from click.testing import CliRunner, Result

from govuk_kpi.cli import main
from govuk_kpi.core.data import govuk_data_dir

ITEMS_DIR = govuk_data_dir() / "content-items"
ORGANISATIONS_FILE = govuk_data_dir() / "organisations" / "organisations.json"
# Snapshots compared with direct loads: the columns that say where the input was, not what.
WHERE = {"uri", "sha256", "source_file"}


def item_files() -> list[Path]:
    """Every real content item file, in path order (279 of them)."""
    return sorted(ITEMS_DIR.rglob("*.json"))


def served_items() -> dict[str, bytes]:
    """One item per base path, the first file in path order: what the stand-in serves."""
    served: dict[str, bytes] = {}
    for file in item_files():
        body = file.read_bytes()
        served.setdefault(json.loads(body)["base_path"], body)
    return served


def cli(*args: str, db_url: str | None = None) -> Result:
    """Run `govuk-kpi ARGS` in this process (the stand-in runs in a thread of it)."""
    env = {"GOVUK_KPI_DATABASE_URL": db_url} if db_url else {}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def extract_args(standin_url: str, snapshot: Path, cache: Path | None, **over: str) -> list[str]:
    """Options of a fast test run: high rate, short timeout, quick retries."""
    options = {
        "--base-url": standin_url,
        "--rate": "500",
        "--timeout": "2",
        "--snapshot": str(snapshot),
    }
    options |= over
    args = [part for pair in options.items() for part in pair]
    return [*args, "--no-cache"] if cache is None else [*args, "--cache-dir", str(cache)]


def manifest(snapshot: Path) -> dict:
    return json.loads((snapshot / "snapshot.json").read_text(encoding="utf-8"))


def outcomes(snapshot: Path, kind: str) -> dict[str, str]:
    """url → outcome of a kind's entries in snapshot.json."""
    return {e["url"]: e["outcome"] for e in manifest(snapshot)["kinds"][kind]["entries"]}


def files_under(folder: Path) -> Sequence[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())
