"""Read a text file line by line, never holding more than one line, with one set of rules.

The line-oriented readers (GA4's newline-delimited JSON, the GA UI's "Pages" CSV) read
through here, so every such file meets the same rules in the same words:

- a gzipped file (named `.gz`, or starting with gzip's magic bytes; the caller may say) is
  decompressed as it is read; one that is broken or cut short fails as
  `not a complete gzip file`;
- a line longer than `limits().max_line_bytes` fails the file as soon as it is seen, after
  reading at most that many bytes of it (a gzip bomb of one long line costs no memory);
- lines end in LF or CRLF; a UTF-8 byte-order mark at the start (Excel's "CSV UTF-8") is
  dropped; a carriage return anywhere else (CR-only line ends) fails the file;
- each line must be UTF-8: the first bad byte fails the file, naming its offset and line.

Each failure is an `InputError` naming the file and the line.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from govuk_kpi.core.errors import InputError
from govuk_kpi.core.limits import MAX_LINE_BYTES_ENV, limits

BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Line:
    """One line of a file: its 1-based number, its text without the line end, and whether
    a line end followed it (only a last line cut short has none)."""

    number: int
    text: str
    ended: bool


def is_gzip(path: Path) -> bool:
    """Whether the file is to be read as gzip: its name ends `.gz` or it starts as gzip does."""
    if path.name.endswith(".gz"):
        return True
    try:
        with path.open("rb") as handle:
            return handle.read(2) == GZIP_MAGIC
    except OSError:
        return False  # opening it again says why


def read_lines(path: Path, *, gzipped: bool | None = None) -> Iterator[Line]:
    """The file's lines, one at a time (see the module's rules).

    Args:
        path: the file.
        gzipped: whether to decompress it (default: when `is_gzip` says so).

    Raises:
        InputError: the file cannot be read, is a broken gzip file, or has a line too long,
            not UTF-8, or holding a carriage return that does not end it; naming the line.
    """
    packed = is_gzip(path) if gzipped is None else gzipped
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None
    with handle:
        if not packed:
            yield from _lines(path, handle, packed)
            return
        with gzip.GzipFile(fileobj=handle, mode="rb") as unpacked:
            yield from _lines(path, unpacked, packed)


def _lines(path: Path, handle: BinaryIO | gzip.GzipFile, packed: bool) -> Iterator[Line]:
    limit = limits().max_line_bytes
    offset = 0  # of the line's first byte, in the (decompressed) text
    number = 0
    while True:
        number += 1
        try:
            # A line of `limit` bytes and its CRLF (and the first line's byte-order mark), or
            # more than the limit allows: the check below refuses the line before more is read.
            raw = handle.readline(limit + 2 + (len(BOM) if number == 1 else 0))
        except (OSError, EOFError, zlib.error) as exc:
            if not packed:
                raise InputError(
                    str(path), f"cannot read: {getattr(exc, 'strerror', None) or exc}", number
                ) from None
            raise InputError(str(path), f"not a complete gzip file: {exc}", number) from None
        if not raw:
            return
        ended = raw.endswith(b"\n")
        body = raw[:-1] if ended else raw
        if body.endswith(b"\r") and ended:
            body = body[:-1]
        start = offset  # of the body's first byte
        if number == 1 and body.startswith(BOM):
            body = body[len(BOM) :]
            start += len(BOM)
        if len(body) > limit:
            raise InputError(
                str(path),
                f"line {number} is longer than the limit of {limit:,} bytes; "
                f"raise {MAX_LINE_BYTES_ENV} to allow it",
                number,
            )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                str(path),
                f"not UTF-8: byte 0x{body[exc.start]:02x} at offset {start + exc.start:,}",
                number,
            ) from None
        if "\r" in text:
            raise InputError(
                str(path),
                "a carriage return (CR) that does not end the line: lines must end in LF or "
                "CRLF (CR alone, old Mac line ends, is not read)",
                number,
            )
        yield Line(number, text, ended)
        offset += len(raw)
