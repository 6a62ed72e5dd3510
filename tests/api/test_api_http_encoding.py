"""How answers are encoded: CSV with a byte-order mark (or none when asked), gzip when asked."""

from __future__ import annotations

import gzip

import httpx
import pytest

CSV_PATHS = [
    "/api/v1/content",
    "/api/v1/content/download",
    "/api/v1/organisations",
    "/api/v1/document_types",
    "/api/v1/metrics",
    "/api/v1/single_page",
]


@pytest.mark.parametrize("path", CSV_PATHS)
def test_csv_starts_with_a_byte_order_mark_unless_asked_not_to(
    client: httpx.Client, path: str
) -> None:
    params = {} if path.endswith("download") else {"format": "csv"}
    if path.endswith("single_page"):
        path += client.get("/api/v1/content").json()["results"][0]["base_path"]
    with_bom = client.get(path, params=params)
    assert with_bom.status_code == 200, with_bom.text
    assert with_bom.headers["content-type"] == "text/csv; charset=utf-8"
    assert with_bom.content.startswith(b"\xef\xbb\xbf")
    without = client.get(path, params={**params, "bom": "false"})
    assert without.status_code == 200
    assert not without.content.startswith(b"\xef\xbb\xbf")
    assert without.content == with_bom.content[3:]
    assert client.get(path, headers={"Accept": "text/csv"}).content[:3] == b"\xef\xbb\xbf"


def test_a_large_json_answer_is_gzipped_when_asked(api: str) -> None:
    # A raw client, so the test sees the bytes on the wire, not httpx's decoded text.
    with httpx.Client(base_url=api, headers={"Accept-Encoding": "gzip"}) as http:
        with http.stream("GET", "/api/v1/content", params={"page_size": 500}) as response:
            wire = b"".join(response.iter_raw())
        assert response.headers["content-encoding"] == "gzip"
        assert "accept-encoding" in response.headers["vary"].lower()
        assert "accept" in {v.strip().lower() for v in response.headers["vary"].split(",")}
        body = gzip.decompress(wire)
        assert len(wire) < len(body) / 3 and body.startswith(b'{"results":')
        etag = response.headers["etag"]
        assert etag.startswith('W/"')  # weak: true of the gzip-coded and the plain answer
        plain = http.get(
            "/api/v1/content", params={"page_size": 500}, headers={"Accept-Encoding": "identity"}
        )
        assert "content-encoding" not in plain.headers and plain.content == body
        assert plain.headers["etag"] == etag
        not_modified = http.get(
            "/api/v1/content", params={"page_size": 500}, headers={"If-None-Match": etag}
        )
        assert not_modified.status_code == 304
        for path, params in (
            ("/odata/Pages", {}),
            ("/api/v1/content/download", {}),
            ("/api/v1/content", {"format": "csv", "page_size": 500}),
        ):
            with http.stream("GET", path, params=params) as answer:
                assert answer.headers["content-encoding"] == "gzip", path


def test_a_small_answer_is_not_compressed(client: httpx.Client) -> None:
    small = client.get(
        "/api/v1/content", params={"sort": "nonsense"}, headers={"Accept-Encoding": "gzip"}
    )
    assert small.status_code == 400 and "content-encoding" not in small.headers
