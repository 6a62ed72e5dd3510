"""Read JSON input safely: bounded size and nesting, and no value that JSON does not allow.

The JSON readers (content items, organisations) read through here, so a file too large,
nested too deeply, holding `NaN` or a key twice meets one rule with the same words:

- a file larger than `limits().max_file_bytes` is refused before it is read whole;
- text nested deeper than `limits().max_json_depth` is refused before it is parsed, naming the
  line (Python's parser would otherwise give up with a `RecursionError`);
- `NaN`, `Infinity`, a number out of range and a key repeated in one object are not JSON
  (RFC 8259) and would otherwise load as a guess (the last key wins, a float that is no
  number): the document is parsed again with each such value marked, and `flaw` says where.

The text fields of a document are checked with `text_value`: the right JSON type, valid
Unicode, no control characters in identifiers, control characters removed from prose
(`core.text`), and no longer than the warehouse keeps.
"""

from __future__ import annotations

import json
import math
import re
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from govuk_kpi.core.errors import InputError
from govuk_kpi.core.limits import MAX_JSON_DEPTH_ENV, limits
from govuk_kpi.core.text import strip_control
from govuk_kpi.sources.reading import cannot_read, not_utf8, too_large

# A JSON string, escapes included (possessive, so a long string costs one pass).
_STRING = r'"[^"\\]*+(?:\\.[^"\\]*+)*+"'
_STRINGS = re.compile(_STRING, re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")
_TOKENS = re.compile(_STRING + r"|[\[\]{}]", re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")
# An identifier holds no control character at all, tab and line ends included.
_ANY_CONTROL = re.compile("[\x00-\x1f\x7f]")


class BadValue(ValueError):
    """A value of the wrong JSON type or content; the message names the field."""


def read_text(path: Path) -> str:
    """The text of a UTF-8 file (a leading byte-order mark is allowed), within the size limit.

    Raises:
        InputError: the file cannot be read, is larger than the limit (refused before it is
            read whole), or is not UTF-8 (naming the offset and line of the first bad byte).
    """
    limit = limits().max_file_bytes
    try:
        size = path.stat().st_size
        if size > limit:
            raise too_large(path, size, limit)
        with path.open("rb") as handle:
            data = handle.read(limit + 1)  # a file that grows, or is no regular file
    except OSError as exc:
        raise cannot_read(path, exc) from None
    if len(data) > limit:
        raise too_large(path, len(data), limit, more=True)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise not_utf8(path, data, exc, line_in_message=True) from None


def too_deep(text: str, limit: int) -> int | None:
    """The offset of the first `[` or `{` that opens more than `limit` levels deep, or None.

    Cheap on ordinary documents: strings and everything but brackets are removed by regular
    expressions, then innermost pairs are removed `limit` times; only text that is still not
    empty (too deep, or unbalanced) is scanned bracket by bracket to find the place.
    """
    if text.count("[") + text.count("{") <= limit:
        return None
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    for _ in range(limit):
        if not brackets:
            return None
        inner = _INNERMOST.sub("", brackets)
        if inner == brackets:
            break  # unbalanced: malformed, but it may also be too deep; the scan tells
        brackets = inner
    if not brackets:
        return None
    depth = 0
    for token in _TOKENS.finditer(text):
        mark = token.group()
        if mark in "[{":
            depth += 1
            if depth > limit:
                return token.start()
        elif mark in "]}":
            depth -= 1
    return None


class _Flaw(ValueError):
    """A value JSON does not allow: the strict decoder stops at the first."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) < len(pairs):
        raise _Flaw
    return obj


def _no_constant(name: str) -> Any:
    raise _Flaw


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Flaw
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # past Python's limit on the digits of a number
        raise _Flaw from None


_STRICT = json.JSONDecoder(
    object_pairs_hook=_unique_keys,
    parse_constant=_no_constant,
    parse_float=_finite,
    parse_int=_whole,
)


class _Repeated(dict):
    """An object in which `key` appears more than once."""

    __slots__ = ("key",)
    key: str


class _Unallowed:
    """A value JSON does not allow, in place of what Python's parser would make of it."""

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what


def _marking_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            break
        seen.add(key)
    marked = _Repeated(obj)
    marked.key = key
    return marked


def _marking_float(text: str) -> Any:
    value = float(text)
    if math.isfinite(value):
        return value
    return _Unallowed(f"the number {text[:40]}, out of range")


def _marking_int(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return _Unallowed(f"a number of {len(text):,} digits")


_MARKING = json.JSONDecoder(
    object_pairs_hook=_marking_pairs,
    parse_constant=lambda name: _Unallowed(name),
    parse_float=_marking_float,
    parse_int=_marking_int,
)


def parse(path: Path, text: str, *, line_offset: int = 0) -> tuple[Any, bool]:
    """Parse JSON text; returns the document and whether it holds values JSON does not allow.

    When it does, those values are marked in the document and `flaw` names the first of a
    part of it (so a reader can reject one item of many).

    Args:
        path: The file, for errors.
        text: The JSON text (a whole file, or one line of a .jsonl file).
        line_offset: The lines before `text` in the file, so errors name the file's line.

    Raises:
        InputError: the text is nested too deeply or is not JSON, naming the line.
    """
    limit = limits().max_json_depth
    offset = too_deep(text, limit)
    if offset is not None:
        line = text.count("\n", 0, offset) + 1
        column = offset - text.rfind("\n", 0, offset)
        raise InputError(
            path,
            f"JSON nested more than {limit:,} levels deep (line {line + line_offset}, "
            f"column {column}; raise {MAX_JSON_DEPTH_ENV} to allow it)",
            row=line + line_offset,
        )
    try:
        try:
            return _STRICT.decode(text), False
        except _Flaw:
            return _MARKING.decode(text), True
    except json.JSONDecodeError as exc:
        line = exc.lineno + line_offset
        raise InputError(
            path, f"malformed JSON: {exc.msg} (line {line}, column {exc.colno})", row=line
        ) from None
    except RecursionError:  # the depth limit raised past what the parser can follow
        raise InputError(
            path, f"JSON nested too deeply for the parser (lower {MAX_JSON_DEPTH_ENV})"
        ) from None


def flaw(value: Any, name: str) -> str | None:
    """The first value JSON does not allow in `value` (document order), in words, or None.

    `name` names `value` itself ("the content item"); deeper places are named by their path
    (`details.parts[2].title`).
    """
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, _Unallowed):
            return f"{where or name} is {node.what}, which JSON does not allow"
        if isinstance(node, _Repeated):
            return f"the key {node.key!r} appears twice in {where or name}"
        if isinstance(node, Mapping):
            prefix = f"{where}." if where else ""
            items = cast("dict[str, Any]", node).items()  # parsed JSON: objects are dicts
            stack.extend((v, f"{prefix}{k}") for k, v in reversed(items))
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(node))))
    return None


# Python's types of decoded JSON and their JSON names, bool before int (a bool is an int).
_JSON_TYPES: tuple[tuple[type | types.UnionType, str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),
    (int | float, "number"),
    (str, "string"),
    (list, "array"),
    (Mapping, "object"),
)


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type: object, array, string, number, boolean, null."""
    return next((name for t, name in _JSON_TYPES if isinstance(value, t)), type(value).__name__)


def text_value(
    value: Any, field: str, *, identifier: bool = False, max_chars: int | None = None
) -> str | None:
    """A text field checked: a string or null; None when missing, null or blank.

    Prose (`identifier=False`) loses its control characters (tab, line feed and carriage return
    stay: `core.text`), so every database stores the same text; an identifier holding any
    (tab and line ends too) is refused, as no real identifier does.

    Raises:
        BadValue: not a string, not valid Unicode (a lone surrogate, which no database stores),
            an identifier with control characters, or longer than `max_chars` (the width of
            its column in the warehouse, which PostgreSQL enforces and SQLite does not).
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadValue(f"{field} is a JSON {json_type(value)}, not a string")
    if _SURROGATE.search(value):
        raise BadValue(f"{field} is not valid Unicode (it holds a lone surrogate)")
    if identifier:
        if _ANY_CONTROL.search(value):
            raise BadValue(f"{field} holds control characters")
    else:
        value = strip_control(value)
    if not value.strip():
        return None
    if max_chars is not None and len(value) > max_chars:
        raise BadValue(f"{field} is {len(value):,} characters long, more than {max_chars}")
    return value


def object_value(value: Any, field: str) -> Mapping[str, Any]:
    """An object field: the object, or an empty one when missing or null.

    Raises:
        BadValue: any other JSON type.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise BadValue(f"{field} is a JSON {json_type(value)}, not an object")
    return value


def array_value(value: Any, field: str) -> list[Any]:
    """An array field: the list, or an empty one when missing or null.

    Raises:
        BadValue: any other JSON type.
    """
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadValue(f"{field} is a JSON {json_type(value)}, not an array")
    return value
