"""Conditional GETs: only a 2xx becomes a 304; ETags and Vary name what an answer depends on."""

from __future__ import annotations

import httpx
import pytest


def test_if_none_match_star_on_a_missing_page_is_a_404(client: httpx.Client) -> None:
    missing = client.get("/api/v1/single_page/no/such/page", headers={"If-None-Match": "*"})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "etag" not in missing.headers
    odata = client.get("/odata/Pages(999999999)", headers={"If-None-Match": "*"})
    assert odata.status_code == 404
    present = client.get("/api/v1/metrics", headers={"If-None-Match": "*"})
    assert present.status_code == 304 and present.content == b""


def test_a_stored_etag_does_not_hide_a_bad_query(client: httpx.Client) -> None:
    good = client.get("/api/v1/content", params={"sort": "nonsense"})
    assert good.status_code == 400
    # Clients send whatever ETag they hold; a bad query must still answer its 400.
    for held in ('W/"anything"', "*"):
        again = client.get(
            "/api/v1/content", params={"sort": "nonsense"}, headers={"If-None-Match": held}
        )
        assert again.status_code == 400
    since = client.get(
        "/api/v1/content",
        params={"sort": "nonsense"},
        headers={"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"},
    )
    assert since.status_code == 400


def test_head_keeps_the_conditional_answer(client: httpx.Client) -> None:
    etag = client.get("/api/v1/metrics").headers["etag"]
    head = client.head("/api/v1/metrics", headers={"If-None-Match": etag})
    assert head.status_code == 304


def test_etags_differ_across_prefer_page_sizes(client: httpx.Client) -> None:
    answers = [
        client.get("/odata/Pages", headers={"Prefer": f"odata.maxpagesize={n}"}) for n in (5, 10)
    ]
    plain = client.get("/odata/Pages")
    etags = {a.headers["etag"] for a in [*answers, plain]}
    assert len(etags) == 3
    assert len(answers[0].json()["value"]) == 5
    held = answers[0].headers["etag"]
    other = client.get(
        "/odata/Pages", headers={"Prefer": "odata.maxpagesize=10", "If-None-Match": held}
    )
    assert other.status_code == 200 and len(other.json()["value"]) == 10
    vary = {v.strip().lower() for v in plain.headers["vary"].split(",")}
    assert {"accept", "prefer", "odata-maxversion"} <= vary


@pytest.mark.parametrize("host", ["a.example", "b.example"])
def test_etags_differ_across_link_bases(client: httpx.Client, host: str) -> None:
    here = client.get("/odata/Pages")
    there = client.get("/odata/Pages", headers={"Host": host})
    assert there.json()["@odata.context"].startswith(f"http://{host}/")
    assert there.headers["etag"] != here.headers["etag"]
    assert (
        client.get(
            "/odata/Pages", headers={"Host": host, "If-None-Match": here.headers["etag"]}
        ).status_code
        == 200
    )


def test_rest_varies_on_accept_only(client: httpx.Client) -> None:
    vary = {v.strip().lower() for v in client.get("/api/v1/metrics").headers["vary"].split(",")}
    assert "accept" in vary and "prefer" not in vary


def test_a_matching_etag_on_the_bulk_download_is_a_304_and_the_server_goes_on(
    client: httpx.Client,
) -> None:
    first = client.get("/api/v1/content/download")
    assert first.status_code == 200
    again = client.get("/api/v1/content/download", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/api/v1/content/download").content == first.content
