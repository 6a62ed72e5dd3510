"""The OData v4 feed over real HTTP: documents, entity sets, query options, paging, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import httpx
import jsonschema
import pytest
from api_server import ODATA_PAGE_SIZE, serve
from lxml import etree

from govuk_kpi.api import create_app
from govuk_kpi.kpi import Warehouse
from govuk_kpi.warehouse.db import make_engine, upgrade
from govuk_kpi.warehouse.load_files import load_daily_path

CSDL = Path(__file__).with_name("odata-csdl")
SETS = ["Pages", "Organisations", "DocumentTypes", "DailyMetrics", "MonthlyMetrics"]


def _csdl_json_schema() -> dict:
    """The OASIS JSON Schema for CSDL JSON, its `\\p{..}` classes (which Python's `re` lacks)
    widened to `\\w`: a superset, so a document valid here has only word characters where
    the schema asks for letters or digits."""
    text = (CSDL / "csdl.schema.json").read_text(encoding="utf-8")
    text = re.sub(r"\\\\p\{[A-Za-z]+\}", r"\\\\w", text)
    return json.loads(text)


def _odata_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]
    assert "Traceback" not in response.text
    return error


def test_service_document(client: httpx.Client, api: str) -> None:
    for path in ("/odata", "/odata/"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["odata-version"] == "4.0"
        assert response.headers["content-type"].startswith(
            "application/json;odata.metadata=minimal"
        )
        body = response.json()
        assert body["@odata.context"] == f"{api}/odata/$metadata"
        assert [s["name"] for s in body["value"]] == SETS
        assert {s["kind"] for s in body["value"]} == {"EntitySet"}


def test_metadata_xml_validates_against_the_oasis_schema(client: httpx.Client) -> None:
    response = client.get("/odata/$metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.headers["odata-version"] == "4.0"
    schema = etree.XMLSchema(etree.parse(str(CSDL / "edmx.xsd")))
    document = etree.fromstring(response.content)
    assert schema.validate(document), schema.error_log
    ns = {"edm": "http://docs.oasis-open.org/odata/ns/edm"}
    names = document.xpath("//edm:EntityContainer/edm:EntitySet/@Name", namespaces=ns)
    assert names == SETS
    nav = document.xpath(
        "//edm:EntityType[@Name='Page']/edm:NavigationProperty[@Name='Organisation']/@Type",
        namespaces=ns,
    )
    assert nav == ["GovukKpi.Organisation"]


def test_metadata_json_validates_against_the_oasis_schema(client: httpx.Client) -> None:
    for params, headers in (({"$format": "json"}, {}), ({}, {"Accept": "application/json"})):
        response = client.get("/odata/$metadata", params=params, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        document = response.json()
        jsonschema.validate(document, _csdl_json_schema())
        assert document["$EntityContainer"] == "GovukKpi.Container"
        assert set(document["GovukKpi"]["Container"]) - {"$Kind"} == set(SETS)
    # Power Query's Accept prefers JSON for data but takes XML: $metadata stays XML for 4.0.
    powerquery = client.get(
        "/odata/$metadata",
        headers={
            "Accept": "application/json;odata.metadata=minimal;q=1.0,application/json;q=0.9,"
            "application/xml;q=0.7"
        },
    )
    assert powerquery.headers["content-type"].startswith("application/xml")


@pytest.mark.parametrize("name", SETS)
def test_every_entity_set_answers(client: httpx.Client, name: str) -> None:
    body = client.get(f"/odata/{name}", params={"$top": 3, "$count": "true"}).json()
    assert body["@odata.context"].endswith(f"/$metadata#{name}")
    assert len(body["value"]) == 3
    assert body["@odata.count"] >= 3


def test_pages_match_the_warehouse(client: httpx.Client, sample_url: str) -> None:
    warehouse = Warehouse(sample_url)
    path = warehouse.content(page_size=1).iloc[0]["base_path"]
    editions = warehouse.page_editions(path)
    body = client.get(
        "/odata/Pages", params={"$filter": f"base_path eq '{path}'", "$orderby": "edition_key"}
    ).json()
    live = [p for p in body["value"] if p["is_live"]]
    assert [p["edition_key"] for p in body["value"]] == editions["edition_key"].tolist()[
        -len(body["value"]) :
    ] or live
    page = body["value"][-1]
    assert page["base_path"] == path
    assert page["first_published_at"].endswith("Z")


def test_filter_select_orderby_top_skip_count(client: httpx.Client) -> None:
    params = {
        "$filter": "document_type eq 'guide' and not withdrawn"
        " and (words gt 100 or pdf_count ge 1)",
        "$select": "edition_key,title,words,pdf_count,document_type",
        "$orderby": "words desc,title",
        "$count": "true",
        "$top": "5",
        "$skip": "1",
    }
    body = client.get("/odata/Pages", params=params).json()
    assert body["@odata.context"].endswith(
        "#Pages(edition_key,title,words,pdf_count,document_type)"
    )
    values = body["value"]
    assert 0 < len(values) <= 5
    assert all(
        set(v) == {"edition_key", "title", "words", "pdf_count", "document_type"} for v in values
    )
    assert all(v["document_type"] == "guide" for v in values)
    assert all(v["words"] > 100 or v["pdf_count"] >= 1 for v in values)
    words = [v["words"] for v in values]
    assert words == sorted(words, reverse=True)
    everything = client.get(
        "/odata/Pages", params={k: v for k, v in params.items() if k not in ("$top", "$skip")}
    ).json()
    assert everything["@odata.count"] == body["@odata.count"]
    assert [v["edition_key"] for v in everything["value"][1:6]] == [
        v["edition_key"] for v in values
    ]


@pytest.mark.parametrize(
    "expression",
    [
        "contains(tolower(title),'tax')",
        "startswith(base_path,'/government')",
        "endswith(base_path,'guidance')",
        "toupper(locale) eq 'EN'",
        "year(first_published_at) ge 2020 and month(first_published_at) le 6",
        "day(valid_from) eq day(valid_from)",
        "document_type in ('guide','answer','detailed_guide')",
        "description eq null",
        "description ne null and length(description) gt 10",
        "first_published_at lt 2020-01-01T00:00:00Z",
        "first_published_at ge 2019-06-01",
        "not (withdrawn or is_live eq false)",
        "readability gt 50.5",
        "words ge 1e2",
        "trim(title) eq title",
    ],
)
def test_filter_functions_and_operators(client: httpx.Client, expression: str) -> None:
    response = client.get("/odata/Pages", params={"$filter": expression, "$count": "true"})
    assert response.status_code == 200, response.text
    assert response.json()["@odata.count"] >= 0


def test_filters_select_the_right_rows(client: httpx.Client) -> None:
    every = []
    url = "/odata/Pages?$select=edition_key,title,base_path,document_type,withdrawn"
    while url:
        body = client.get(url).json()
        every += body["value"]
        url = body.get("@odata.nextLink")

    def keys(expression: str) -> set[int]:
        found, next_url = set(), f"/odata/Pages?$select=edition_key&$filter={quote(expression)}"
        while next_url:
            body = client.get(next_url).json()
            found |= {v["edition_key"] for v in body["value"]}
            next_url = body.get("@odata.nextLink")
        return found

    assert keys("contains(tolower(title),'tax')") == {
        p["edition_key"] for p in every if "tax" in p["title"].lower()
    }
    assert keys("startswith(base_path,'/government/')") == {
        p["edition_key"] for p in every if p["base_path"].startswith("/government/")
    }
    assert keys("withdrawn") == {p["edition_key"] for p in every if p["withdrawn"]}
    assert keys("document_type in ('guide','answer')") == {
        p["edition_key"] for p in every if p["document_type"] in ("guide", "answer")
    }
    # '%' and '_' are text, not LIKE wildcards.
    assert keys("contains(title,'%')") == {p["edition_key"] for p in every if "%" in p["title"]}
    assert keys("contains(title,'_')") == {p["edition_key"] for p in every if "_" in p["title"]}


def test_options_without_dollar_and_in_any_case(client: httpx.Client) -> None:
    a = client.get("/odata/Pages", params={"$top": 2, "$select": "title"}).json()["value"]
    b = client.get("/odata/Pages", params={"TOP": 2, "select": "title"}).json()["value"]
    c = client.get("/odata/Pages", params={"$Top": 2, "$SELECT": "title"}).json()["value"]
    assert a == b == c and len(a) == 2


def test_expand_and_navigation(client: httpx.Client) -> None:
    body = client.get(
        "/odata/Pages",
        params={
            "$filter": "organisation ne null",
            "$top": 3,
            "$select": "edition_key,organisation_key,organisation",
            "$expand": "Organisation($select=organisation_key,slug,title),DocumentType",
        },
    ).json()
    for page in body["value"]:
        assert page["Organisation"]["organisation_key"] == page["organisation_key"]
        assert page["Organisation"]["slug"] == page["organisation"]
        assert set(page["Organisation"]) == {"organisation_key", "slug", "title"}
        assert "label" in page["DocumentType"]
    key = body["value"][0]["edition_key"]
    single = client.get(f"/odata/Pages({key})").json()
    assert single["@odata.context"].endswith("#Pages/$entity")
    assert single["edition_key"] == key
    organisation = client.get(f"/odata/Pages({key})/Organisation").json()
    assert organisation["organisation_key"] == body["value"][0]["organisation_key"]
    title = client.get(f"/odata/Pages({key})/title").json()
    assert title["value"] == single["title"]
    assert client.get("/odata/Pages/$count").text.isdigit()
    types = client.get("/odata/DocumentTypes('guide')").json()
    assert types["name"] == "guide"
    daily = client.get("/odata/DailyMetrics", params={"$top": 1}).json()["value"][0]
    composite = client.get(
        f"/odata/DailyMetrics(date_key={daily['date_key']},edition_key={daily['edition_key']})"
    ).json()
    assert composite["pviews"] == daily["pviews"]
    _odata_error(client.get("/odata/Pages(999999999)"), 404)
    _odata_error(client.get("/odata/Nothing"), 404)
    _odata_error(client.get("/odata/Pages('x')"), 400)


def test_server_driven_paging_returns_every_row_once(client: httpx.Client) -> None:
    total = int(client.get("/odata/Organisations/$count").text)
    assert total > ODATA_PAGE_SIZE
    seen, url, pages = [], "/odata/Organisations?$select=organisation_key&$count=true", 0
    while url:
        body = client.get(url).json()
        assert len(body["value"]) <= ODATA_PAGE_SIZE
        if "@odata.count" in body:
            assert body["@odata.count"] == total
        seen += [v["organisation_key"] for v in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1
    assert len(seen) == len(set(seen)) == total
    assert pages == -(-total // ODATA_PAGE_SIZE)
    # $top smaller than the set but bigger than a page: paging stops at $top.
    seen, url = [], f"/odata/Organisations?$top={ODATA_PAGE_SIZE + 5}&$skip=3"
    while url:
        body = client.get(url).json()
        seen += [v["organisation_key"] for v in body["value"]]
        url = body.get("@odata.nextLink")
    assert len(seen) == ODATA_PAGE_SIZE + 5
    small = client.get("/odata/Organisations", headers={"Prefer": "odata.maxpagesize=7"})
    assert len(small.json()["value"]) == 7
    assert small.headers["preference-applied"] == "odata.maxpagesize=7"


def test_next_links_use_keys_and_tokens_are_checked(client: httpx.Client) -> None:
    first = client.get("/odata/DailyMetrics", params={"$select": "date_key,edition_key"}).json()
    last = first["value"][-1]
    token = f"{ODATA_PAGE_SIZE}-{last['date_key']}-{last['edition_key']}"
    assert first["@odata.nextLink"].endswith(f"$skiptoken={token}")
    second = client.get(first["@odata.nextLink"]).json()["value"]
    assert (second[0]["date_key"], second[0]["edition_key"]) > (
        last["date_key"],
        last["edition_key"],
    )
    ordered = client.get("/odata/Pages", params={"$orderby": "title"}).json()
    assert ordered["@odata.nextLink"].endswith(f"$skiptoken={ODATA_PAGE_SIZE}")
    for bad in ("x", "1-2", "1-2-3-4", "-1", "1--2", "99999999999999999999"):
        _odata_error(client.get("/odata/DailyMetrics", params={"$skiptoken": bad}), 400)


def test_metadata_levels(client: httpx.Client, api: str) -> None:
    full = client.get(
        "/odata/Organisations",
        params={"$top": 1},
        headers={"Accept": "application/json;odata.metadata=full"},
    )
    assert "odata.metadata=full" in full.headers["content-type"]
    entity = full.json()["value"][0]
    assert entity["@odata.type"] == "#GovukKpi.Organisation"
    assert entity["@odata.id"] == f"{api}/odata/Organisations({entity['organisation_key']})"
    none = client.get(
        "/odata/Organisations",
        params={"$format": "application/json;odata.metadata=none"},
        headers={"Prefer": "odata.maxpagesize=1"},
    )
    assert "@odata.context" not in none.json()
    assert "@odata.nextLink" in none.json()  # paging links stay at every metadata level
    minimal = client.get("/odata/Organisations", params={"$top": 1, "$format": "json"}).json()
    assert "@odata.context" in minimal and "@odata.type" not in minimal["value"][0]


def test_versions(client: httpx.Client) -> None:
    ok = client.get("/odata/Pages", params={"$top": 1}, headers={"OData-MaxVersion": "4.01"})
    assert ok.status_code == 200 and ok.headers["odata-version"] == "4.0"
    _odata_error(client.get("/odata/Pages", headers={"OData-MaxVersion": "3.0"}), 400)
    _odata_error(client.get("/odata/Pages", headers={"OData-Version": "5.0"}), 400)
    _odata_error(client.get("/odata/Pages", headers={"Accept": "application/atom+xml"}), 406)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"$filter": "title eq"}, 400),
        ({"$filter": "nosuch eq 1"}, 400),
        ({"$filter": "title eq 1"}, 400),
        ({"$filter": "words eq 'many'"}, 400),
        ({"$filter": "title"}, 400),
        ({"$filter": "frobnicate(title)"}, 400),
        ({"$filter": "substring(title,1) eq 'x'"}, 501),
        ({"$filter": "words add 1 eq 2"}, 501),
        ({"$filter": "Organisation/title eq 'x'"}, 501),
        ({"$select": "nosuch"}, 400),
        ({"$orderby": "nosuch"}, 400),
        ({"$orderby": "title sideways"}, 400),
        ({"$top": "-1"}, 400),
        ({"$top": "ten"}, 400),
        ({"$skip": "1.5"}, 400),
        ({"$count": "maybe"}, 400),
        ({"$expand": "Nothing"}, 400),
        ({"$format": "yaml"}, 400),
        ({"$format": "xml"}, 406),
        ({"$search": "tax"}, 501),
        ({"$compute": "words mul 2 as w2"}, 501),
        ({"$unknown": "1"}, 400),
        ({"$top": "1", "top": "2"}, 400),
    ],
)
def test_errors_in_the_odata_format(client: httpx.Client, params, status) -> None:
    error = _odata_error(client.get("/odata/Pages", params=params), status)
    assert len(error["message"]) < 500


def test_odata_405(client: httpx.Client) -> None:
    response = client.post("/odata/Pages", json={})
    error = _odata_error(response, 405)
    assert "read-only" in error["message"]


def test_every_answer_says_whether_its_usage_is_generated(client: httpx.Client) -> None:
    # The sample's usage is generated: collections, $apply answers and single entities say so.
    pages = client.get("/odata/DailyMetrics", params={"$top": 2}).json()
    assert pages["@GovukKpi.GeneratedData"] is True
    applied = client.get(
        "/odata/MonthlyMetrics",
        params={"$apply": "aggregate(pviews with sum as pviews)"},
        headers={"Accept": "application/json;odata.metadata=none"},
    ).json()
    assert applied["@GovukKpi.GeneratedData"] is True
    key = client.get("/odata/Organisations", params={"$top": 1}).json()["value"][0]
    one = client.get(f"/odata/Organisations({key['organisation_key']})").json()
    assert one["@GovukKpi.GeneratedData"] is True
    # The annotation is a term of the model, so clients can look it up.
    xml = etree.fromstring(client.get("/odata/$metadata").content)
    terms = xml.findall(".//{http://docs.oasis-open.org/odata/ns/edm}Term")
    assert [(t.get("Name"), t.get("Type")) for t in terms] == [("GeneratedData", "Edm.Boolean")]


def test_real_usage_is_not_called_generated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/real.db"
    upgrade(url)
    day = tmp_path / "analytics.csv"
    day.write_text(
        "date,path,pviews,upviews,useful_yes,useful_no,searches,entrances,exits,bounces,"
        "page_time\n2026-10-30,/not-a-page,5,4,0,0,0,1,1,0,30\n"
    )
    engine = make_engine(url)
    assert load_daily_path(engine, day, "analytics").rows_unmatched == 1
    engine.dispose()
    with serve(create_app(url)) as base, httpx.Client(base_url=base) as http:
        body = http.get("/odata/Pages").json()
    assert body["@GovukKpi.GeneratedData"] is False
