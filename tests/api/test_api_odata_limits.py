"""Paging within `$top`, keys and list limits: what an OData client relies on."""

from __future__ import annotations

import httpx
from api_server import ODATA_PAGE_SIZE

from govuk_kpi.api.odata.expressions import MAX_IN_ITEMS


def test_a_top_within_one_page_has_no_next_link(client: httpx.Client) -> None:
    total = int(client.get("/odata/Pages/$count").text)
    assert total > ODATA_PAGE_SIZE + 5
    few = client.get("/odata/Pages", params={"$top": 5}).json()
    assert len(few["value"]) == 5 and "@odata.nextLink" not in few
    exact = client.get("/odata/Pages", params={"$top": ODATA_PAGE_SIZE}).json()
    assert len(exact["value"]) == ODATA_PAGE_SIZE and "@odata.nextLink" not in exact


def test_a_top_over_pages_links_until_it_is_reached(client: httpx.Client) -> None:
    top = ODATA_PAGE_SIZE + 3
    body = client.get("/odata/Pages", params={"$top": top}).json()
    seen = list(body["value"])
    pages = 1
    while "@odata.nextLink" in body:
        body = client.get(body["@odata.nextLink"]).json()
        assert body["value"], "a next link must not lead to an empty page"
        seen.extend(body["value"])
        pages += 1
    assert len(seen) == top and pages == 2
    assert len({p["edition_key"] for p in seen}) == top


def test_a_key_property_given_twice_is_refused(client: httpx.Client) -> None:
    response = client.get("/odata/Pages(edition_key=1,edition_key=2)")
    assert response.status_code == 400, response.text
    assert "twice" in response.json()["error"]["message"]


def test_the_in_list_limit_can_be_reached_and_is_named(client: httpx.Client) -> None:
    keys = ",".join(str(k) for k in range(1, MAX_IN_ITEMS + 1))
    full = client.get("/odata/Pages/$count", params={"$filter": f"edition_key in ({keys})"})
    assert full.status_code == 200, full.text
    assert int(full.text) == int(client.get("/odata/Pages/$count").text)  # keys from 1
    over = client.get(
        "/odata/Pages/$count", params={"$filter": f"edition_key in ({keys},{MAX_IN_ITEMS + 1})"}
    )
    assert over.status_code == 400
    assert f"at most {MAX_IN_ITEMS} values" in over.json()["error"]["message"]


def test_ieee754_compatible_clients_get_int64_as_strings(client: httpx.Client) -> None:
    asked = "application/json;odata.metadata=minimal;IEEE754Compatible=true"
    for how in (
        {"headers": {"Accept": asked}},
        {"headers": {"Content-Type": asked}},
        {"params": {"$format": asked}},
    ):
        params = {"$top": 2, "$count": "true", **how.get("params", {})}
        response = client.get("/odata/DailyMetrics", params=params, headers=how.get("headers"))
        assert "IEEE754Compatible=true" in response.headers["content-type"]
        body = response.json()
        assert isinstance(body["@odata.count"], str) and int(body["@odata.count"]) > 2
        row = body["value"][0]
        assert isinstance(row["pviews"], str) and row["pviews"].isdigit()  # Edm.Int64
        assert isinstance(row["date_key"], int)  # Edm.Int32 stays a number
    plain = client.get("/odata/DailyMetrics", params={"$top": 1}).json()["value"][0]
    assert isinstance(plain["pviews"], int)


def test_a_40_client_reads_its_metadata_as_xml(client: httpx.Client) -> None:
    as_40 = {"OData-MaxVersion": "4.0"}
    by_accept = client.get("/odata/$metadata", headers={**as_40, "Accept": "application/json"})
    assert by_accept.status_code == 200
    assert by_accept.headers["content-type"].startswith("application/xml")
    by_format = client.get("/odata/$metadata", params={"$format": "json"}, headers=as_40)
    assert by_format.status_code == 406 and "4.01" in by_format.json()["error"]["message"]
    newer = client.get("/odata/$metadata", headers={"Accept": "application/json"})
    assert newer.headers["content-type"].startswith("application/json")


def test_valid_odata_not_supported_is_501(client: httpx.Client) -> None:
    for params in (
        {"$expand": "*"},
        {"$filter": "readability eq INF"},
        {"$filter": "readability eq -INF"},
        {"$filter": "1 eq 1"},
        {"$filter": "words eq 1 add 2"},
        {"$filter": "first_published_at lt 2026-01-01T00:00:00Z sub duration'P1D'"},
        {"$filter": "content_id eq 01234567-89ab-cdef-0123-456789abcdef"},
    ):
        response = client.get("/odata/Pages", params=params)
        assert response.status_code == 501, (params, response.text)
        assert response.json()["error"]["message"]
