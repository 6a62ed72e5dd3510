"""Structured logs: one JSON line per task run, with its duration, row counts and checks.

Lines go to the `govuk_kpi.pipeline` logger (the command line sends it to stderr) and are
appended to `<work_dir>/events.jsonl`, which several worker processes may share: each line
is written with one `write` on a file opened for appending.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger("govuk_kpi.pipeline")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def emit(record: dict[str, Any], file: Path | None) -> None:
    """Log one event as a JSON line, and append it to `file`."""
    line = json.dumps(record, sort_keys=True, default=str)
    LOGGER.info(line)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


def read_events(file: Path, run_id: str | None = None) -> Iterator[dict[str, Any]]:
    """The events of `file` (of one run, when `run_id` is given), oldest first."""
    try:
        lines = Path(file).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return
    for line in lines:
        if not line.strip():
            continue
        event = json.loads(line)
        if run_id is None or event.get("run_id") == run_id:
            yield event
