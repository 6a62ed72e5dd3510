"""The code version every load batch and report records: package version plus git commit."""

from __future__ import annotations

import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path


@cache
def code_version() -> str:
    """`<version>+<short commit>` (`.dirty` when changed since), or the version alone."""
    try:
        version = metadata.version("govuk-kpi")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    try:
        commit = _git("rev-parse", "--short=12", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version}+{commit}{'.dirty' if dirty else ''}" if commit else version


def _git(*args: str) -> str:
    """What a git command prints about the package's checkout, stripped."""
    return subprocess.run(
        ["git", *args],
        cwd=Path(__file__).resolve().parent,
        capture_output=True,
        text=True,
        timeout=5,
        check=True,
    ).stdout.strip()
