"""Path normalisation, as DESIGN.md states it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govuk_kpi.core.paths import MAX_PATH_LENGTH, normalise_path


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("/renew-adult-passport", "/renew-adult-passport"),
        ("/Renew-Adult-Passport", "/renew-adult-passport"),
        ("https://www.gov.uk/renew-adult-passport", "/renew-adult-passport"),
        ("http://gov.uk/renew-adult-passport/", "/renew-adult-passport"),
        ("/renew-adult-passport?utm_source=email&x=1", "/renew-adult-passport"),
        ("/renew-adult-passport#how-to-apply", "/renew-adult-passport"),
        ("/renew-adult-passport/", "/renew-adult-passport"),
        ("/", "/"),
        ("https://www.gov.uk", "/"),
        ("https://www.gov.uk/?q=1", "/"),
        ("  /guidance/x  ", "/guidance/x"),
    ],
)
def test_normalisation(raw: str, normal: str) -> None:
    assert normalise_path(raw) == normal


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("/a" * MAX_PATH_LENGTH, "at most 1500"),
        ("guidance/x", "neither absolute"),
        ("https://example.com/x", "neither absolute"),
        ("/x\x00y", "control characters"),
        ("/x\ny", "control characters"),
    ],
)
def test_rejected_paths(raw: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        normalise_path(raw)


@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF), max_size=60))
def test_normalising_is_idempotent(tail: str) -> None:
    try:
        once = normalise_path("/" + tail)
    except ValueError:
        return
    assert normalise_path(once) == once
    assert "?" not in once and "#" not in once
    assert once == "/" or not once.endswith("/")
