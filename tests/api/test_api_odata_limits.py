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
