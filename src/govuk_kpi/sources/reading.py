"""The plumbing every reader shares, written once: the words of a file-level failure (cannot
read, too large, not UTF-8, with the line), the collector paused while a large file's rows are
built, and the daily analytics rows built from per (day, page) tallies."""

from __future__ import annotations

import errno
import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from govuk_kpi.core.errors import InputError
from govuk_kpi.core.limits import MAX_FILE_BYTES_ENV
from govuk_kpi.sources.hashing import file_sha256

# Counts above this are garbage, and past 2**63 would wrap round in the int64 columns.
MAX_COUNT = 2**53


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while hundreds of thousands of rows are built.

    Reading and loading make no reference cycles worth collecting, but the collector's full
    passes over the millions of live objects (paths, rows, tuples) cost a large file seconds
    (a third of a large load's time).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def cannot_read(path: Path | str, exc: OSError) -> InputError:
    """The file-level failure of a file the system cannot read, in the system's words."""
    return InputError(str(path), f"cannot read: {exc.strerror or exc}")


def readable(path: Path) -> Path:
    """The path, once the system says it is there: else the failure in the system's words
    (a broken link, a link to itself, no permission)."""
    try:
        path.stat()
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise InputError(str(path), "no such file or directory") from None
        raise cannot_read(path, exc) from None
    return path


def input_sha256(path: Path) -> str:
    """A file's SHA-256; a file that cannot be read fails with the system's words."""
    try:
        return file_sha256(path)
    except OSError as exc:
        raise cannot_read(path, exc) from None


def too_large(path: Path | str, size: int, limit: int, *, more: bool = False) -> InputError:
    """The file-level failure of a file over the size limit."""
    at_least = "more than " if more else ""
    return InputError(
        str(path),
        f"the file is {at_least}{size:,} bytes, over the limit of {limit:,} "
        f"(raise {MAX_FILE_BYTES_ENV} to allow it)",
    )


def not_utf8(
    path: Path | str, data: bytes, exc: UnicodeDecodeError, *, line_in_message: bool = False
) -> InputError:
    """The file-level failure of bytes that are not UTF-8: the byte, its offset, its line."""
    line = data.count(b"\n", 0, exc.start) + 1
    where = f" (line {line})" if line_in_message else ""
    return InputError(
        str(path), f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}{where}", line
    )


def decode_utf8(path: Path | str, data: bytes, *, encoding: str = "utf-8") -> str:
    """The text of a whole file's bytes, or the failure naming the first bad byte's line."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise not_utf8(path, data, exc) from None


PageKey = tuple[date, str]


def check_totals(path: Path, totals: Iterable[tuple[PageKey, Mapping[str, int]]]) -> None:
    """Fail the file on the first figure of a page and day that adds up past `MAX_COUNT`."""
    for (when, page), figures in totals:
        for name, value in figures.items():
            if value > MAX_COUNT:
                raise InputError(
                    str(path),
                    f"{name} of {page} on {when.isoformat()} adds up to {value:,}, "
                    f"more than {MAX_COUNT:,}",
                )


def daily_frame(
    keys: Sequence[PageKey], figures: Mapping[PageKey, Mapping[str, int]], metrics: Sequence[str]
) -> pd.DataFrame:
    """`DailyRows.frame` of tallies: one row per (day, page) of `keys`, in their order."""
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime([k[0] for k in keys]).astype("datetime64[s]"),
            "path": pd.Series([k[1] for k in keys], dtype="str"),  # as read_daily_csv gives
        }
    )
    for name in metrics:
        frame[name] = np.array([figures[k][name] for k in keys], dtype=np.int64)
    return frame
