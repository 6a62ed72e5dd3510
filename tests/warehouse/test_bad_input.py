"""Bad input never half-loads: a clear error or a reject with its reason, and nothing else changes.

Whole-file problems (not JSON, not UTF-8, truncated, wrong columns, empty, unparseable CSV)
raise `InputError` naming the file and the row, and leave every table as it was; the only
trace allowed is a `failed` row in `load_batch` carrying the message. Row problems (bad
counts, bad dates, duplicates, over-long paths) put that row in `load_reject` with its number,
its reason and its raw line, and the other rows of the file load.

Decisions these tests pin down for count fields: "12a", "1.5", "" (a missing count is not a
zero), "1,234" (thousands separators are not part of the format) and negative numbers are
rejects; surrounding spaces (" 7 ") and a whole number written with a zero fraction ("7.0")
load as 7.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Integer, func, select

from govuk_kpi.core.errors import InputError
from govuk_kpi.kpi import Warehouse
from govuk_kpi.sources.daily_csv import FORMATS
from govuk_kpi.warehouse.batch import BatchResult
from govuk_kpi.warehouse.calendar import date_key
from govuk_kpi.warehouse.db import get_engine, upgrade
from govuk_kpi.warehouse.load_files import load_content_path, load_daily_path
from govuk_kpi.warehouse.models import (
    Base,
    DimEdition,
    FactPageDaily,
    FactUnmatchedDaily,
    LoadBatch,
    LoadReject,
)

REPO = Path(__file__).resolve().parents[2]
GUIDES = REPO / "data" / "govuk" / "content-items" / "guide"
OBSERVED = datetime(2024, 1, 1)
DAY = date(2024, 3, 1)  # the day of the bad files' rows
BASE_DAY = date(2024, 2, 1)  # the day of the good baseline load
CURRICULUM = "/national-curriculum"  # guide.json
PETS = "/take-pet-abroad"  # single-page-guide.json
HEADER = ",".join(FORMATS["analytics"])
CLI = Path(sys.executable).with_name("govuk-kpi")


@dataclass
class Small:
    """A small warehouse: two guides' editions and one day of analytics."""

    url: str
    engine: Engine
    folder: Path

    def csv(self, name: str, body: str | bytes) -> Path:
        """Write an analytics CSV (header added to text bodies) and return its path."""
        path = self.folder / name
        if isinstance(body, bytes):
            path.write_bytes(body)
        else:
            path.write_text(f"{HEADER}\n{body}", encoding="utf-8")
        return path

    def load_csv(self, path: Path, **options: Any) -> BatchResult:
        """Load an analytics CSV the way the command line does."""
        return load_daily_path(self.engine, path, "analytics", **options)


def line(path: str, pviews: str = "10", day: date = DAY, rest: str = "5,1,1,0,2,1,1,30") -> str:
    """One analytics row: date, path, pviews and the other eight counts."""
    return f"{day.isoformat()},{path},{pviews},{rest}"


@pytest.fixture
def small(db_url: str, tmp_path: Path) -> Small:
    """Content for two guides plus a baseline day of analytics, on the test's backend."""
    upgrade(db_url)
    engine = get_engine(db_url)
    for name in ("guide.json", "single-page-guide.json"):
        load_content_path(engine, GUIDES / name, observed_at=OBSERVED)
    warehouse = Small(db_url, engine, tmp_path)
    baseline = warehouse.csv(
        "baseline.csv",
        "\n".join(line(p, "100", BASE_DAY) for p in (CURRICULUM, PETS, "/unmatched-baseline"))
        + "\n",
    )
    warehouse.load_csv(baseline)
    return warehouse


# -- what the warehouse holds -------------------------------------------------------------


def state(engine: Engine) -> dict[str, int]:
    """Row count of every table but load_batch, and the sum of every integer column of facts."""
    picture: dict[str, int] = {}
    with engine.connect() as connection:
        for name, table in Base.metadata.tables.items():
            if name == "load_batch":
                continue
            picture[name] = connection.execute(select(func.count()).select_from(table)).scalar_one()
            if name.startswith(("fact_", "agg_")):
                for column in table.columns:
                    if isinstance(column.type, Integer):
                        total = connection.execute(select(func.sum(column))).scalar_one()
                        picture[f"{name}.{column.name}"] = int(total or 0)
    return picture


def batches(engine: Engine) -> list[Any]:
    """Every load_batch row, oldest first."""
    with engine.connect() as connection:
        return connection.execute(select(LoadBatch).order_by(LoadBatch.batch_id)).all()


def rejects(engine: Engine, batch_id: int) -> list[tuple[int | None, str, str | None]]:
    """(row number, reason, raw line) of a batch's rejects, in row order."""
    with engine.connect() as connection:
        return [
            tuple(r)
            for r in connection.execute(
                select(LoadReject.row_number, LoadReject.reason, LoadReject.raw_line)
                .where(LoadReject.batch_id == batch_id)
                .order_by(LoadReject.row_number)
            )
        ]


def matched(engine: Engine, day: date = DAY) -> dict[str, tuple[int, int]]:
    """base_path -> (edition_key, pviews) of the day's matched facts."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(DimEdition.base_path, FactPageDaily.edition_key, FactPageDaily.pviews)
            .join(DimEdition, DimEdition.edition_key == FactPageDaily.edition_key)
            .where(FactPageDaily.date_key == date_key(day))
        )
        return {path: (edition, pviews) for path, edition, pviews in rows}


def unmatched(engine: Engine, day: date = DAY) -> dict[str, int]:
    """path -> pviews of the day's unmatched rows."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(FactUnmatchedDaily.path, FactUnmatchedDaily.pviews).where(
                FactUnmatchedDaily.date_key == date_key(day)
            )
        )
        return {path: pviews for path, pviews in rows}


def live_edition(engine: Engine, base_path: str) -> int:
    """The edition key live at a base path."""
    with engine.connect() as connection:
        return connection.execute(
            select(DimEdition.edition_key).where(
                DimEdition.base_path == base_path, DimEdition.is_live
            )
        ).scalar_one()


def assert_fails_cleanly(
    warehouse: Small, load: Callable[[], object], path: Path, row: int, says: str
) -> InputError:
    """`load` raises InputError naming `path` and `row`, and changes nothing but load_batch.

    Every failure is recorded as exactly one `failed` batch carrying the message, whether it
    came inside the batch or from the reader checking the whole file first; no other table
    changes.
    """
    before, earlier = state(warehouse.engine), batches(warehouse.engine)
    with pytest.raises(InputError) as caught:
        load()
    error = caught.value
    assert error.path == str(path)
    assert error.row == row
    assert str(path) in str(error) and f"row {row}" in str(error)
    assert says in str(error)
    assert state(warehouse.engine) == before
    later = batches(warehouse.engine)
    assert later[: len(earlier)] == earlier
    added = later[len(earlier) :]
    assert len(added) == 1
    for batch in added:
        assert batch.status == "failed"
        assert batch.message == str(error)
    return error


# -- content items: whole-file failures ---------------------------------------------------


def test_malformed_json_content_item_fails_the_batch(small: Small) -> None:
    """A content item file that is not JSON fails its batch with file and line; nothing loads."""
    path = small.folder / "broken.json"
    path.write_text('{\n  "content_id": "c0ffee00-0000-0000-0000-000000000001",\n  "title": \n}')
    assert_fails_cleanly(
        small, lambda: load_content_path(small.engine, path), path, 4, "malformed JSON"
    )
    assert batches(small.engine)[-1].status == "failed"


def test_non_utf8_content_item_fails_the_batch(small: Small) -> None:
    """A content item with a byte that is not UTF-8 fails its batch naming file, line, byte."""
    path = small.folder / "latin1.json"
    doc = json.loads((GUIDES / "guide.json").read_text(encoding="utf-8"))
    doc["content_id"] = "c0ffee00-0000-0000-0000-000000000002"
    doc["base_path"] = "/caf-latin1"
    text = json.dumps(doc, indent=2)
    text = text.replace('"title": "', '"title": "Caf\udce9 ', 1)
    data = text.encode("utf-8", "surrogateescape")  # a lone 0xE9, as Latin-1 writes é
    path.write_bytes(data)
    row = data[: data.index(b"\xe9")].count(b"\n") + 1
    assert_fails_cleanly(small, lambda: load_content_path(small.engine, path), path, row, "0xe9")
    assert batches(small.engine)[-1].status == "failed"


def test_script_in_title_is_kept_as_text_and_searchable(small: Small) -> None:
    """A title holding `<script>` loads verbatim (escaping is the display's job) and is found."""
    title = "<script>alert(1)</script> Bringing your pet abroad"
    doc = json.loads((GUIDES / "single-page-guide.json").read_text(encoding="utf-8"))
    doc.update(
        content_id="c0ffee00-0000-0000-0000-000000000003", base_path="/pets-xss", title=title
    )
    path = small.folder / "xss.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = load_content_path(small.engine, path, observed_at=OBSERVED)
    assert result.rows_loaded == 1 and result.rows_rejected == 0
    with small.engine.connect() as connection:
        stored = connection.execute(
            select(DimEdition.title).where(DimEdition.base_path == "/pets-xss")
        ).scalar_one()
    assert stored == title
    found = Warehouse(engine=small.engine).content(search="script")
    assert found["title"].tolist() == [title]
    assert found["base_path"].tolist() == ["/pets-xss"]


# -- analytics CSV: whole-file failures ----------------------------------------------------

GOOD = line(CURRICULUM) + "\n" + line(PETS) + "\n"


@pytest.mark.parametrize(
    ("name", "body", "row", "says"),
    [
        pytest.param(
            "latin1.csv",
            (f"{HEADER}\n{GOOD}" + line("/caf\udce9") + "\n").encode("utf-8", "surrogateescape"),
            4,
            "not UTF-8: byte 0xe9",
            id="non-utf8",
        ),
        pytest.param(
            "truncated.csv",
            GOOD + line("/unmatched-1") + "\n" + line("/unmatched-2")[:20],
            5,
            "truncated",
            id="truncated",
        ),
        pytest.param(
            "missing.csv",
            (HEADER.replace(",searches", "") + "\n" + GOOD).encode(),
            1,
            "missing column(s) searches",
            id="missing-column",
        ),
        pytest.param(
            "extra.csv",
            (HEADER + ",shares\n" + GOOD.replace("\n", ",3\n")).encode(),
            1,
            "unexpected column(s) shares",
            id="extra-column",
        ),
        pytest.param(
            "extra-field.csv",
            GOOD + line("/unmatched-1") + ",99\n" + line("/unmatched-2") + "\n",
            4,
            "the row has 12 fields, the header 11",
            id="extra-field-in-a-row",
        ),
        pytest.param(
            "unquoted-thousands.csv",
            GOOD + line("/unmatched-1", "1,234") + "\n",
            4,
            "the row has 12 fields, the header 11 (a comma in an unquoted value?)",
            id="unquoted-1,234",
        ),
        pytest.param(
            "open-quote.csv",
            GOOD + line('"/unmatched-1') + "\n" + line("/unmatched-2") + "\n",
            4,
            "not valid CSV",
            id="unclosed-quote",
        ),
        pytest.param("empty.csv", b"", 1, "empty file", id="empty"),
        pytest.param("blank.csv", b"\n \n", 1, "empty file", id="only-blank-lines"),
    ],
)
def test_bad_csv_file_loads_nothing(
    small: Small, name: str, body: str | bytes, row: int, says: str
) -> None:
    """A CSV that is not UTF-8, truncated, with a missing or extra column or field, or empty,
    raises InputError naming the file and the row, and no row of it is loaded."""
    path = small.csv(name, body)
    assert_fails_cleanly(small, lambda: small.load_csv(path), path, row, says)
    assert matched(small.engine) == {} and unmatched(small.engine) == {}


# -- analytics CSV: row-level rejects -------------------------------------------------------


def _load_with_one_bad_row(
    small: Small, bad: str, **options: Any
) -> tuple[BatchResult, list[tuple[int | None, str, str | None]]]:
    """Load good rows around `bad` (row 3); check the good ones loaded; return the rejects."""
    body = line(CURRICULUM, "11") + "\n" + bad + "\n" + line(PETS, "13") + "\n"
    path = small.csv("one-bad-row.csv", body)
    result = small.load_csv(path, **options)
    assert result.rows_read == 3
    assert result.rows_rejected == 1
    assert result.rows_loaded == 2
    assert matched(small.engine) == {
        CURRICULUM: (live_edition(small.engine, CURRICULUM), 11),
        PETS: (live_edition(small.engine, PETS), 13),
    }
    assert result.batch_id is not None
    batch = next(b for b in batches(small.engine) if b.batch_id == result.batch_id)
    assert batch.status == "loaded" and batch.rows_rejected == 1
    return result, rejects(small.engine, result.batch_id)


LONG_PATH = "/" + "a" * 1500


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        pytest.param(line("/unmatched-x", "-5"), "pviews is negative", id="negative"),
        pytest.param(line("/unmatched-x", "12a"), "pviews is not a whole number", id="12a"),
        pytest.param(line("/unmatched-x", "1.5"), "pviews is not a whole number", id="1.5"),
        pytest.param(line("/unmatched-x", ""), "pviews is not a whole number", id="empty"),
        pytest.param(
            line("/unmatched-x", '"1,234"'), "pviews is not a whole number", id="quoted-1,234"
        ),
        pytest.param(
            line("/unmatched-x", "99999999999999999999"), "pviews is too large", id="overflow"
        ),
        pytest.param(
            line("/unmatched-x").replace("2024-03-01", "2024-02-30"),
            "date is not a YYYY-MM-DD date",
            id="no-such-day",
        ),
        pytest.param(
            line("/unmatched-x").replace("2024-03-01", "01/03/2024"),
            "date is not a YYYY-MM-DD date",
            id="not-iso",
        ),
        pytest.param(
            line(LONG_PATH),
            "path: path is 1501 characters long; at most 1500 allowed",
            id="path-too-long",
        ),
        pytest.param(
            line("national-curriculum"),
            "path: path 'national-curriculum' is neither",
            id="relative",
        ),
    ],
)
def test_bad_row_is_rejected_with_reason_and_raw_line(small: Small, bad: str, reason: str) -> None:
    """A bad row goes to load_reject with its row number, reason and raw line; the rest loads."""
    _, found = _load_with_one_bad_row(small, bad)
    assert len(found) == 1
    row, why, raw = found[0]
    assert row == 3
    assert reason in why
    assert raw == bad
    assert unmatched(small.engine) == {}


def test_date_in_the_future_is_rejected(small: Small) -> None:
    """A row dated after today is rejected as in the future; the file's other rows load."""
    bad = line("/unmatched-x", day=DAY + timedelta(days=1))
    _, found = _load_with_one_bad_row(small, bad, today=DAY)
    assert found == [(3, "date is in the future", bad)]


@pytest.mark.parametrize(("count", "value"), [(" 7 ", 7), ("7.0", 7), ("0", 0)])
def test_accepted_count_spellings(small: Small, count: str, value: int) -> None:
    """Spaces around a count and a zero fraction are accepted: they are the same number."""
    path = small.csv("spellings.csv", line(CURRICULUM, count) + "\n")
    result = small.load_csv(path)
    assert result.rows_rejected == 0
    assert matched(small.engine) == {CURRICULUM: (live_edition(small.engine, CURRICULUM), value)}


def test_exact_duplicate_row_is_rejected(small: Small) -> None:
    """The same raw path twice on one day: the second row is rejected, the first one loads."""
    second = line(CURRICULUM, "99")
    body = line(CURRICULUM, "11") + "\n" + line(PETS, "13") + "\n" + second + "\n"
    result = small.load_csv(small.csv("duplicate.csv", body))
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert result.batch_id is not None
    assert rejects(small.engine, result.batch_id) == [
        (4, "duplicate of an earlier row for the same date and path", second)
    ]
    assert matched(small.engine) == {
        CURRICULUM: (live_edition(small.engine, CURRICULUM), 11),
        PETS: (live_edition(small.engine, PETS), 13),
    }


def test_case_variants_of_a_path_are_summed(small: Small) -> None:
    """`/Foo` and `/foo` on one day are two raw variants of one page: their counts are summed."""
    body = line("/National-Curriculum", "4") + "\n" + line(CURRICULUM, "6") + "\n"
    body += line("/Unmatched-Y", "1") + "\n" + line("/unmatched-y", "2") + "\n"
    result = small.load_csv(small.csv("variants.csv", body))
    assert result.rows_rejected == 0 and result.rows_read == 4
    assert matched(small.engine) == {CURRICULUM: (live_edition(small.engine, CURRICULUM), 10)}
    assert unmatched(small.engine) == {"/unmatched-y": 3}


@pytest.mark.parametrize(
    "raw",
    [
        "/NATIONAL-Curriculum",
        "https://www.gov.uk/national-curriculum",
        "HTTPS://WWW.GOV.UK/National-Curriculum/",
        "/national-curriculum?step=2&utm_source=email",
        "/national-curriculum#what-it-covers",
        "/national-curriculum/",
    ],
)
def test_path_variants_are_normalised_to_the_edition(small: Small, raw: str) -> None:
    """Case, the gov.uk origin, query, fragment and a trailing slash are normalised away, and
    the row's figures land on the edition live at the normalised path."""
    result = small.load_csv(small.csv("variant.csv", line(raw, "42") + "\n"))
    assert result.rows_rejected == 0 and result.rows_unmatched == 0
    assert matched(small.engine) == {CURRICULUM: (live_edition(small.engine, CURRICULUM), 42)}
    assert unmatched(small.engine) == {}


def test_blank_lines_do_not_shift_row_numbers(small: Small) -> None:
    """Blank lines are skipped, and a reject after them still names its own line of the file."""
    bad = line("/unmatched-x", "-1")
    body = line(CURRICULUM) + "\n\n\n" + bad + "\n"
    result = small.load_csv(small.csv("blank-lines.csv", body))
    assert result.rows_read == 2 and result.rows_rejected == 1
    assert result.batch_id is not None
    assert rejects(small.engine, result.batch_id) == [(5, "pviews is negative", bad)]


# -- the command line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "row"),
    [
        pytest.param(GOOD + line("/x") + ",99\n", 4, id="extra-field"),
        pytest.param(GOOD + line("/x")[:15], 4, id="truncated"),
        pytest.param((f"{HEADER}\n{GOOD}/caf\xe9\n").encode("latin-1"), 4, id="non-utf8"),
    ],
)
def test_cli_prints_one_error_line(small: Small, body: str | bytes, row: int) -> None:
    """`govuk-kpi load analytics BAD.csv` exits 1 with one `error:` line naming file and row."""
    path = small.csv("bad.csv", body)
    before = state(small.engine)
    done = subprocess.run(
        [str(CLI), "--database-url", small.url, "load", "analytics", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {path}, row {row}: ")
    assert "Traceback" not in done.stderr
    assert state(small.engine) == before
