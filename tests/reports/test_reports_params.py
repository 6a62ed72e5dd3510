"""Report sets are checked before anything runs: errors name the file and the key."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest
from sqlalchemy import select

from govuk_kpi.core.errors import ConfigError
from govuk_kpi.kpi import Warehouse
from govuk_kpi.reports import params
from govuk_kpi.reports.params import Selector, load_report_set, plan, resolve_organisations
from govuk_kpi.warehouse.models import DimEdition, DimOrganisation

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
        (("[department-for-transport]", "all"), "organisations", "selector"),
        (("organisations: [department-for-transport]\n", ""), "organisations", "needed by"),
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


def organisations_leading_a_page(url: str) -> set[str]:
    """The rule, straight from the tables: the primary organisation of a page's newest
    edition (live or withdrawn)."""
    warehouse = Warehouse(url)
    with warehouse.engine.connect() as connection:
        return set(
            connection.execute(
                select(DimOrganisation.slug)
                .join(
                    DimEdition,
                    DimEdition.primary_organisation_key == DimOrganisation.organisation_key,
                )
                .where(DimEdition.is_latest)
            ).scalars()
        )


@pytest.mark.parametrize(
    ("text", "status", "kind", "with_pages"),
    [
        ("all with pages", None, None, True),
        ("All  organisations with pages", None, None, True),
        ("all live with pages", "live", None, True),
        ("all live ministerial departments", "live", "ministerial departments", False),
        ("all executive agencies with pages", None, "executive agencies", True),
        ("all livestock boards", None, "livestock boards", False),
    ],
)
def test_selectors_read(text: str, status: str | None, kind: str | None, with_pages: bool) -> None:
    assert Selector.parse(text) == Selector(status, kind, with_pages)


@pytest.mark.parametrize("text", ["all", "all live", "some of them", "with pages"])
def test_not_selectors(text: str) -> None:
    assert Selector.parse(text) is None


def test_with_pages_selects_exactly_the_organisations_leading_a_page(sample_url: str) -> None:
    organisations = Warehouse(sample_url).organisations()
    expected = organisations_leading_a_page(sample_url)
    chosen = resolve_organisations("all with pages", organisations)
    assert len(expected) > 20
    assert chosen == sorted(expected)
    assert resolve_organisations("all organisations with pages", organisations) == chosen
    departments = resolve_organisations("all live ministerial departments", organisations)
    with_pages = resolve_organisations("all live ministerial departments with pages", organisations)
    assert with_pages == sorted(set(departments) & expected)
    assert 0 < len(with_pages) < len(departments)
    with pytest.raises(ConfigError, match="needs each organisation's pages"):
        resolve_organisations("all with pages", organisations.drop(columns="pages"))


def test_the_sample_set_makes_a_report_for_every_organisation_with_pages(
    sample_url: str,
) -> None:
    report_set = load_report_set(ROOT / "params" / "sample.yaml", NOTEBOOKS)
    jobs = plan(report_set, Warehouse(sample_url).organisations(), NOTEBOOKS)
    expected = organisations_leading_a_page(sample_url)
    per_organisation = {
        j.parameters["organisation"] for j in jobs if j.name.startswith("organisation-report-")
    }
    assert per_organisation == expected
    assert {j.name for j in jobs} == {"kpi-overview", "content-audit"} | {
        f"organisation-report-{slug}" for slug in expected
    }


def notebook(folder: Path, name: str, parameters: str) -> None:
    """A notebook of `folder` with this parameters cell (and nothing else)."""
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    made = nbformat.v4.new_notebook(cells=[cell], metadata={"kernelspec": kernel})
    nbformat.write(made, folder / f"{name}.ipynb")


def test_fan_out_follows_the_declared_parameters_not_the_name(tmp_path: Path) -> None:
    assert not hasattr(params, "PER_ORGANISATION")
    folder = tmp_path / "notebooks"
    folder.mkdir()
    # Named like the shipped organisation report, but declaring no organisation: runs once.
    notebook(folder, "organisation_report", 'as_of = "2026-10-31"\nperiod = "past-30-days"')
    # Any other name that declares one runs once per organisation.
    notebook(folder, "team_digest", 'as_of = "2026-10-31"\norganisation = "hm-treasury"')
    report_set = write(
        tmp_path,
        "as_of: 2026-10-31\nnotebooks: [organisation_report, team_digest]\n"
        "organisations: [alpha, beta]\n",
    )
    known = pd.DataFrame({"slug": ["alpha", "beta", "gamma"], "pages": [1, 2, 0]})
    jobs = plan(load_report_set(report_set, folder), known, folder)
    assert [(j.name, j.parameters) for j in jobs] == [
        ("organisation-report", {"as_of": "2026-10-31", "period": "past-30-days"}),
        ("team-digest-alpha", {"as_of": "2026-10-31", "organisation": "alpha"}),
        ("team-digest-beta", {"as_of": "2026-10-31", "organisation": "beta"}),
    ]
    # A set of notebooks none of which declares `organisation` needs no organisations.
    alone = write(tmp_path, "as_of: 2026-10-31\nnotebooks: [organisation_report]\n")
    assert [j.name for j in plan(load_report_set(alone, folder), known, folder)] == [
        "organisation-report"
    ]
    needing = write(tmp_path, "as_of: 2026-10-31\nnotebooks: [team_digest]\n")
    with pytest.raises(ConfigError, match="organisations: needed by team_digest"):
        load_report_set(needing, folder)
    selected = write(
        tmp_path, "as_of: 2026-10-31\nnotebooks: [team_digest]\norganisations: all with pages\n"
    )
    assert [
        j.parameters["organisation"] for j in plan(load_report_set(selected, folder), known, folder)
    ] == [
        "alpha",
        "beta",
    ]
