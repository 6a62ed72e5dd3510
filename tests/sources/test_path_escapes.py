"""Percent-escaped paths (as analytics tools record them) normalise as the raw UTF-8 ones do."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govuk_kpi.core.paths import decode_escapes, normalise_path


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("/caf%C3%A9", "/café"),
        ("/caf%c3%a9", "/café"),  # lowercase escapes, as some exports write them
        ("/CAF%C3%89", "/café"),
        ("/café", "/café"),  # the Content API's raw UTF-8
        ("/ffioedd-d%C5%B5r", "/ffioedd-dŵr"),  # Welsh
        ("/ffioedd-d%c5%b5r/", "/ffioedd-dŵr"),
        ("https://www.gov.uk/%C2%BFqu%C3%A9-puede-hacer-ukti.es", "/¿qué-puede-hacer-ukti.es"),
        (
            "/government/news/%D8%A7%D9%84%D9%85%D9%85%D9%84%D9%83%D8%A9.ar",
            "/government/news/المملكة.ar",
        ),
        ("/renew-%61dult-passport", "/renew-adult-passport"),  # an unreserved letter
    ],
)
def test_escapes_of_text_are_decoded(raw: str, normal: str) -> None:
    assert normalise_path(raw) == normal


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("/a%2fb", "/a%2Fb"),  # an escaped slash is no path separator: kept, uppercase
        ("/a%3Fb", "/a%3Fb"),  # nor is an escaped "?" a query
        ("/100%25-sure", "/100%25-sure"),  # decoding %25 would make a second pass decode again
        ("/caf%E9", "/caf%E9"),  # Latin-1, not UTF-8: kept as it came
        ("/x%00", "/x%00"),  # an escaped control character is kept escaped
        ("/x%ED%A0%80", "/x%ED%A0%80"),  # a surrogate is no text
    ],
)
def test_escapes_that_would_change_the_path_are_kept_uppercase(raw: str, normal: str) -> None:
    assert normalise_path(raw) == normal


@given(st.text(min_size=0, max_size=30))
def test_decoding_twice_changes_nothing(text: str) -> None:
    escaped = "".join(f"%{b:02x}" for b in text.encode("utf-8", "surrogatepass"))
    once = decode_escapes("/" + escaped + "/%41%c3%25")
    assert decode_escapes(once) == once


@given(st.binary(max_size=12))
def test_any_escaped_bytes_normalise_once_and_for_all(data: bytes) -> None:
    once = normalise_path("/p" + "".join(f"%{b:02x}" for b in data))
    assert normalise_path(once) == once
