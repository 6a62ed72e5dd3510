"""The one path normalisation of DESIGN.md, shared by loaders, the sample builder and the API."""

from __future__ import annotations

import re

MAX_PATH_LENGTH = 1500
_CONTROL = re.compile("[\x00-\x1f\x7f]")
# A run of percent-escapes (`%C3%A9`): decoded together, as the bytes of UTF-8 text.
_ESCAPES = re.compile("(?:%[0-9A-Fa-f]{2})+")
# Characters RFC 3986 calls unreserved: escaping them changes nothing, so they are decoded.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# UTF-8 lead bytes and the length of the character each starts.
_UTF8_LEADS = ((2, (0xC2, 0xDF)), (3, (0xE0, 0xEF)), (4, (0xF0, 0xF4)))
_GOVUK_PREFIXES = ("https://www.gov.uk", "http://www.gov.uk", "https://gov.uk", "http://gov.uk")


def normalise_path(raw: str) -> str:
    """Normalise an analytics path so it can be matched to an edition's base_path.

    Lowercase, strip the GOV.UK origin, the query string and the fragment, decode
    percent-escapes of text (`/caf%C3%A9` is `/café`; `decode_escapes`), and drop a trailing
    slash (but keep "/" itself).

    Raises:
        ValueError: the path is empty, not absolute after stripping, holds control characters (a
            NUL byte, a newline), or is longer than `MAX_PATH_LENGTH` characters.
    """
    path, on_govuk = _without_origin(_checked(raw.strip()).lower())
    path = _without_query(path)
    if not path and on_govuk:  # https://www.gov.uk?x=1 is the home page; "?x=1" is no path
        path = "/"
    if not path.startswith("/"):
        raise ValueError(f"path {raw[:80]!r} is neither absolute nor on www.gov.uk")
    path = decode_escapes(path)
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path


def _checked(path: str) -> str:
    """The stripped path, refused when empty, holding control characters, or too long."""
    if not path:
        raise ValueError("path is empty")
    if _CONTROL.search(path):
        raise ValueError("path contains control characters")
    if len(path) > MAX_PATH_LENGTH:
        raise ValueError(f"path is {len(path)} characters long; at most {MAX_PATH_LENGTH} allowed")
    return path


def _without_origin(path: str) -> tuple[str, bool]:
    """A lowercased path without GOV.UK's origin, and whether it had it."""
    for prefix in _GOVUK_PREFIXES:
        if path.startswith(prefix):
            return path[len(prefix) :], True
    return path, False


def _without_query(path: str) -> str:
    """The path without its query string and fragment."""
    for mark in ("?", "#"):
        cut = path.find(mark)
        if cut != -1:
            path = path[:cut]
    return path


def decode_escapes(path: str) -> str:
    """A path's percent-escapes in one canonical form: decoded where that changes no meaning.

    Analytics tools record `/caf%C3%A9` (or `/caf%c3%a9`) where the Content API holds `/café`.
    Escapes of UTF-8 text beyond ASCII and of RFC 3986's unreserved characters are decoded
    (and lowercased, as the rest of the path is); any other escape (`%2F`, `%3F`, `%25`, a
    byte that is not UTF-8) is kept, with uppercase hex digits, since decoding it would
    change the path or make a second pass decode again.
    """
    return _ESCAPES.sub(_decode_run, path)


def _decode_run(match: re.Match[str]) -> str:
    data = bytes.fromhex(match.group().replace("%", ""))
    out: list[str] = []
    i = 0
    while i < len(data):
        byte = data[i]
        size = next((n for n, lead in _UTF8_LEADS if lead[0] <= byte <= lead[1]), 1)
        try:
            text = data[i : i + size].decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        if text and (byte >= 0x80 or text in _UNRESERVED):
            out.append(text.lower())  # as the rest of the path was
            i += size
        else:
            out.append(f"%{byte:02X}")
            i += 1
    return "".join(out)
