"""The one path normalisation of DESIGN.md, shared by loaders, the sample builder and the API."""

from __future__ import annotations

import re

MAX_PATH_LENGTH = 1500
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_GOVUK_PREFIXES = ("https://www.gov.uk", "http://www.gov.uk", "https://gov.uk", "http://gov.uk")


def normalise_path(raw: str) -> str:
    """Normalise an analytics path so it can be matched to an edition's base_path.

    Lowercase, strip the GOV.UK origin, the query string and the fragment, and drop a
    trailing slash (but keep "/" itself).

    Raises:
        ValueError: the path is empty, not absolute after stripping, holds control characters (a
            NUL byte, a newline), or is longer than `MAX_PATH_LENGTH` characters.
    """
    path = raw.strip()
    if not path:
        raise ValueError("path is empty")
    if _CONTROL.search(path):
        raise ValueError("path contains control characters")
    if len(path) > MAX_PATH_LENGTH:
        raise ValueError(f"path is {len(path)} characters long; at most {MAX_PATH_LENGTH} allowed")
    path = path.lower()
    on_govuk = False
    for prefix in _GOVUK_PREFIXES:
        if path.startswith(prefix):
            path = path[len(prefix) :]
            on_govuk = True
            break
    for mark in ("?", "#"):
        cut = path.find(mark)
        if cut != -1:
            path = path[:cut]
    if not path and on_govuk:  # https://www.gov.uk?x=1 is the home page; "?x=1" is no path
        path = "/"
    if not path.startswith("/"):
        raise ValueError(f"path {raw[:80]!r} is neither absolute nor on www.gov.uk")
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path
