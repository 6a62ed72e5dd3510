"""Report sets are checked before anything runs: errors name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from govuk_kpi.core.errors import ConfigError
from govuk_kpi.kpi import Warehouse
from govuk_kpi.reports.params import load_report_set, plan, resolve_organisations

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "set.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """as_of: 2026-10-31
period: past-30-days
notebooks: [kpi_overview, organisation_report]
organisations: [department-for-transport]
parameters:
  low_satisfaction: 0.4
  min_responses: 5
"""


@pytest.mark.parametrize("path", sorted((ROOT / "params").rglob("*.yaml")), ids=str)
def test_shipped_report_sets_are_valid(path: Path) -> None:
    report_set = load_report_set(path, NOTEBOOKS)
    assert report_set.notebooks


def test_a_good_report_set_loads(tmp_path: Path) -> None:
    report_set = load_report_set(write(tmp_path, GOOD), NOTEBOOKS)
    assert report_set.name == "set"
    assert report_set.parameters == {"low_satisfaction": 0.4, "min_responses": 5}


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (("period: past-30-days", "colour: blue\nperiod: past-30-days"), "colour", "unknown key"),
        (("as_of: 2026-10-31", "as_of: yesterday"), "as_of", "not a date"),
        (("period: past-30-days", "period: fortnight"), "period", "unknown period"),
        (("min_responses: 5", "min_responses: many"), "parameters.min_responses", "expected int"),
        (("min_responses: 5", "min_responses: true"), "parameters.min_responses", "boolean"),
        (("min_responses: 5", "min_respones: 5"), "parameters.min_respones", "declares it"),
        (("min_responses: 5", "organisation: hm-treasury"), "parameters.organisation", "builder"),
        (("[kpi_overview, organisation_report]", "[kpi_overvue]"), "notebooks", "no notebook"),
        (("[department-for-transport]", "some of them"), "organisations", "selector"),
    ],
)
def test_bad_report_sets_name_the_file_and_key(
    tmp_path: Path, change: tuple[str, str], key: str, words: str
) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as caught:
        load_report_set(path, NOTEBOOKS)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert words in message


def test_selector_picks_live_ministerial_departments(sample_url: str) -> None:
    organisations = Warehouse(sample_url).organisations()
    slugs = resolve_organisations("all live ministerial departments", organisations)
    expected = organisations[
        (organisations.organisation_type == "Ministerial department")
        & (organisations.status == "live")
    ]
    assert len(slugs) > 5
    assert set(slugs) == set(expected.slug.dropna())
    with pytest.raises(ConfigError, match="unknown slug"):
        resolve_organisations(["no-such-organisation"], organisations)


def test_plan_makes_one_report_per_organisation(sample_url: str, tmp_path: Path) -> None:
    report_set = load_report_set(write(tmp_path, GOOD), NOTEBOOKS)
    jobs = plan(report_set, Warehouse(sample_url).organisations(), NOTEBOOKS)
    assert [j.name for j in jobs] == [
        "kpi-overview",
        "organisation-report-department-for-transport",
    ]
    assert jobs[1].parameters["organisation"] == "department-for-transport"
    assert jobs[1].parameters["low_satisfaction"] == 0.4
    assert "low_satisfaction" not in jobs[0].parameters
