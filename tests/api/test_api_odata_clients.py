"""Independent OData clients read the feed: python-odata, and what Power Query sends."""

from __future__ import annotations

import httpx
from api_server import ODATA_PAGE_SIZE
from odata import ODataService

POWER_QUERY = {
    "OData-MaxVersion": "4.0",
    "MaxDataServiceVersion": "3.0",
    "Accept": (
        "application/json;odata.metadata=minimal;q=1.0,application/json;q=0.9,application/xml;q=0.7"
    ),
}


def test_python_odata_reflects_the_model_and_queries_pages(api: str, client: httpx.Client) -> None:
    service = ODataService(f"{api}/odata/", reflect_entities=True)
    assert {"Pages", "Organisations", "DocumentTypes", "DailyMetrics", "MonthlyMetrics"} <= set(
        service.entities
    )
    Page = service.entities["Pages"]
    guides = list(
        service.query(Page)
        .filter(Page.document_type == "guide")
        .filter(Page.is_live == True)  # noqa: E712 - python-odata builds OData from ==
        .order_by(Page.edition_key.asc())
    )
    expected = client.get(
        "/odata/Pages",
        params={"$filter": "document_type eq 'guide' and is_live eq true", "$count": "true"},
    ).json()["@odata.count"]
    assert len(guides) == expected > 0
    assert all(p.document_type == "guide" for p in guides)
    keys = [p.edition_key for p in guides]
    assert keys == sorted(keys)
    # Paging: without $top python-odata follows @odata.nextLink through every page.
    every = list(service.query(Page))
    total = int(client.get("/odata/Pages/$count").text)
    assert total > ODATA_PAGE_SIZE
    assert len(every) == total
    assert len({p.edition_key for p in every}) == total
    # Client-side paging with limit/offset.
    window = list(service.query(Page).order_by(Page.edition_key.asc()).offset(10).limit(5))
    assert [p.edition_key for p in window] == sorted(p.edition_key for p in every)[10:15]
    # A text filter with a function.
    taxing = list(service.query(Page).filter(Page.title.contains("Tax")))
    assert taxing and all("Tax" in p.title for p in taxing)


def test_power_query_follows_next_links_to_the_end(client: httpx.Client) -> None:
    root = client.get("/odata/", headers=POWER_QUERY)
    assert root.status_code == 200 and root.headers["odata-version"] == "4.0"
    metadata = client.get("/odata/$metadata", headers=POWER_QUERY)
    assert metadata.status_code == 200
    for entity_set, key in (
        ("Pages", ("edition_key",)),
        ("DailyMetrics", ("date_key", "edition_key")),
    ):
        total = int(client.get(f"/odata/{entity_set}/$count").text)
        url: str | None = client.base_url.join(f"/odata/{entity_set}").__str__()
        seen: list[tuple] = []
        requests = 0
        while url:
            response = client.get(url, headers=POWER_QUERY)
            assert response.status_code == 200
            assert response.headers["content-type"].startswith(
                "application/json;odata.metadata=minimal"
            )
            assert response.headers["odata-version"] == "4.0"
            body = response.json()
            assert body["@odata.context"].endswith(f"$metadata#{entity_set}")
            seen += [tuple(row[k] for k in key) for row in body["value"]]
            url = body.get("@odata.nextLink")
            requests += 1
            assert requests <= total // ODATA_PAGE_SIZE + 2
            if entity_set == "DailyMetrics" and requests == 30:
                break  # 80,000 rows: 30 pages are enough to show the links chain; Pages goes on
        if entity_set == "Pages":
            assert len(seen) == total
        assert len(seen) == len(set(seen))
