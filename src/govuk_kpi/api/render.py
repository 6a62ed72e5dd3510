"""Turning frames into JSON-ready records and CSV, and choosing between them."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from starlette.requests import Request

from govuk_kpi.core.errors import InvalidArgument

CSV_TYPE = "text/csv; charset=utf-8"
# Excel reads UTF-8 CSV as the local code page unless it starts with a byte-order mark.
BOM = "\ufeff"


def plain(value: Any) -> Any:
    """A JSON-ready Python value: None for NaN/NaT, ISO 8601 for dates, int/float for numpy."""
    if value is None or value is pd.NaT:
        return None
    for kinds, convert in _PLAIN:
        if isinstance(value, kinds):
            return convert(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _number(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def _timestamp(value: pd.Timestamp) -> str | None:
    return None if pd.isna(value) else _instant(value.to_pydatetime())


# In order: bool before int (a bool is an int), Timestamp and datetime before date.
_PLAIN: tuple[tuple[type | tuple[type, ...], Callable[[Any], Any]], ...] = (
    ((bool, np.bool_), bool),
    ((int, np.integer), int),
    ((float, np.floating, Decimal), _number),
    (pd.Timestamp, _timestamp),
    (datetime, lambda value: _instant(value)),
    (date, lambda value: value.isoformat()),
)


def _instant(value: datetime) -> str:
    """RFC 3339: the warehouse keeps naive UTC, so say so with a Z."""
    return value.isoformat() + "Z" if value.tzinfo is None else value.isoformat()


def records(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The frame's rows as dicts of plain values."""
    names = list(columns or frame.columns)
    data: Iterable[Any] = frame[names].to_numpy(dtype=object) if len(frame) else []
    return [{n: plain(v) for n, v in zip(names, row, strict=True)} for row in data]


def csv_cell(value: Any) -> str:
    """How a plain value is written in CSV: empty for null, true/false, repr-free numbers."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return repr(value)
    return str(value)


def csv_lines(
    columns: Sequence[str], rows: Iterable[dict[str, Any]], *, bom: bool = True
) -> Iterator[str]:
    """CSV text, header first (after a byte-order mark unless `bom` is false), a chunk per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    yield (BOM if bom else "") + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_cell(row.get(c)) for c in columns])
        yield buffer.getvalue()


def csv_text(columns: Sequence[str], rows: Iterable[dict[str, Any]], *, bom: bool = True) -> str:
    return "".join(csv_lines(columns, rows, bom=bom))


def _accept(header: str) -> list[tuple[str, float]]:
    out = []
    for part in header.split(","):
        bits = [b.strip() for b in part.split(";")]
        if not bits[0]:
            continue
        q = 1.0
        for bit in bits[1:]:
            if bit.lower().startswith("q="):
                try:
                    q = float(bit[2:])
                except ValueError:
                    q = 0.0
        out.append((bits[0].lower(), q))
    return out


def wants_csv(request: Request, fmt: str | None) -> bool:
    """CSV when `?format=csv`, or when Accept prefers text/csv to JSON."""
    if fmt is not None:
        if fmt.lower() not in ("json", "csv"):
            raise InvalidArgument("format", "must be json or csv")
        return fmt.lower() == "csv"
    best_csv = best_json = 0.0
    for kind, q in _accept(request.headers.get("accept", "")):
        if kind == "text/csv":
            best_csv = max(best_csv, q)
        elif kind in ("application/json", "application/*", "*/*"):
            best_json = max(best_json, q if kind == "application/json" else q - 0.001)
    return best_csv > 0 and best_csv > best_json
