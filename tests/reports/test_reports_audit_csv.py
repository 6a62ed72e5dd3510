"""The content audit's CSV reads as the reports do: names, not machine names; rounded figures."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pandas as pd
import pytest

from govuk_kpi import Warehouse
from govuk_kpi.reports import audit_csv
from govuk_kpi.reports.audit_words import HEADINGS

LONG_FLOAT = re.compile(r"^-?\d+\.\d{2,}$")


def rows(frame) -> list[dict[str, str]]:
    """The frame as the report writes it (`reports.save_csv`), read back as text."""
    text = frame.to_csv(index=False, lineterminator="\n")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def written(sample_url: str) -> tuple[Warehouse, pd.DataFrame, list[dict[str, str]]]:
    warehouse = Warehouse(sample_url)
    audit = warehouse.content_audit(period="past-30-days", as_of=date(2026, 10, 31))
    return warehouse, audit, rows(audit_csv.csv_frame(audit))


def test_no_figure_has_more_than_one_decimal(written) -> None:
    _, audit, found = written
    assert len(found) == len(audit) > 100
    long = [(n, k, v) for n, row in enumerate(found) for k, v in row.items() if LONG_FLOAT.match(v)]
    assert long == []
    for column in audit_csv.COUNTS:
        assert all(re.fullmatch(r"\d*", row[column]) for row in found), column
    # Satisfaction as a percentage with one decimal, from the audit's ratio.
    for row, ratio in zip(found, audit["satisfaction"], strict=True):
        expected = "" if ratio != ratio or ratio is None else f"{round(ratio * 100, 1)}"
        assert row["satisfaction_percent"] == expected
    assert any(row["satisfaction_percent"] for row in found)


def test_names_where_people_read_them_machine_names_beside(written) -> None:
    warehouse, audit, found = written
    organisations = warehouse.organisations()
    titles, slugs = (
        set(organisations.title),
        set(organisations.slug.dropna()) - set(organisations.title),
    )
    labels = set(warehouse.document_types().label)
    assert list(found[0])[:3] == ["category", "reasons", "base_path"]
    for row in found:
        assert row["category"] in HEADINGS.values()
        assert row["category_code"] in HEADINGS
        assert row["organisation"] in titles or (
            row["organisation"] == "" == row["organisation_slug"]
        )
        assert row["organisation"] not in slugs
        assert row["organisation_slug"] == "" or row["organisation_slug"] in slugs | titles
        assert row["document_type"] in labels and "_" not in row["document_type"]
        assert row["url"] == "https://www.gov.uk" + row["base_path"]
        assert re.fullmatch(r"(\d{4}-\d\d-\d\d)?", row["public_updated_at"])
    assert {r["organisation_slug"] for r in found} == set(audit["organisation"].fillna(""))
    assert {r["document_type_code"] for r in found} == set(audit["document_type"])
    assert any(r["words"] not in ("", "0") for r in found)
