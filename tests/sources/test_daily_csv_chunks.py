"""The fast path of the daily CSV reader on a file pyarrow reads in several blocks.

pyarrow parses a file in blocks of about 1 MiB, so the columns of a large file come in
chunks: the path codes, the variants summed across chunks and the order of the groups must
come out as the pandas path gives them.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from govuk_kpi.core.limits import GOVUK_LAUNCH
from govuk_kpi.sources import daily_csv
from govuk_kpi.sources.daily_csv import FORMATS, read_daily_csv

TODAY = date(2026, 10, 31)


def _file(tmp_path: Path, rows: int, days: list[str], *, duplicate: bool = False) -> Path:
    rng = random.Random(rows + len(days))
    lines = [",".join(FORMATS["analytics"])]
    seen = set()
    for _ in range(rows):
        page = f"/guidance/page-number-{rng.randrange(rows // 2)}"
        raw = rng.choice([page, page, page, page.upper(), page + "?utm_source=x", page + "/"])
        day = rng.choice(days)
        if (day, raw) in seen:
            continue  # an exact duplicate row is a reject, left to the pandas path
        seen.add((day, raw))
        counts = [str(rng.randrange(10**6)) for _ in range(9)]
        lines.append(",".join([day, raw, *counts]))
    if duplicate:
        lines.append(lines[1])
    path = tmp_path / "large.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size > 3 * 2**20  # several of pyarrow's blocks
    return path


@pytest.mark.parametrize("days", [["2026-10-30"], ["2026-10-29", "2026-10-30"]])
def test_large_file_reads_as_the_pandas_path_reads_it(
    days: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path, 60_000, days)
    taken = []
    original = daily_csv._read_plain

    def spy(*args):
        result = original(*args)
        taken.append(result is not None)
        return result

    with monkeypatch.context() as patch:
        patch.setattr(daily_csv, "_read_plain", spy)
        fast = read_daily_csv(path, "analytics", today=TODAY)
    assert taken == [True]
    with monkeypatch.context() as patch:
        patch.setattr(daily_csv, "_read_plain", lambda *args: None)
        slow = read_daily_csv(path, "analytics", today=TODAY)
    assert len(fast.frame) < fast.rows_read  # variants were summed
    pd.testing.assert_frame_equal(fast.frame, slow.frame, check_exact=True)
    assert (fast.rows_read, fast.rejects) == (slow.rows_read, slow.rejects)


def test_duplicate_row_in_a_large_file_goes_to_the_pandas_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path, 60_000, ["2026-10-30"], duplicate=True)
    assert (
        daily_csv._read_plain(path.read_bytes(), FORMATS["analytics"], TODAY, GOVUK_LAUNCH) is None
    )
    rows = read_daily_csv(path, "analytics", today=TODAY)
    assert [r.reason for r in rows.rejects] == [
        "duplicate of an earlier row for the same date and path"
    ]
