"""The registry's derived metrics compiled to SQL, so the database can sort and page by them."""

from __future__ import annotations

from collections.abc import Mapping
from functools import reduce
from operator import add
from typing import Any

from sqlalchemy import BigInteger, Float, case, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

from govuk_kpi.core.metrics import METRICS, Ratio


def ratio(
    definition: Ratio, columns: Mapping[str, ColumnElement[Any]]
) -> ColumnElement[float | None]:
    """`definition` over `columns` (named after the daily metrics): NULL when its denominator
    is 0, from sums, never an average of ratios."""
    numerator = columns[definition.numerator]
    if definition.scale != 1:
        numerator = numerator * literal(definition.scale)
    denominator = reduce(add, (columns[name] for name in definition.denominator))
    share = case((denominator == 0, None), else_=cast(numerator, Float) / denominator)
    if definition.cap is None:
        return share
    return case((share > definition.cap, literal(definition.cap)), else_=share)


def derived_columns(columns: Mapping[str, ColumnElement[Any]]) -> list[ColumnElement[float | None]]:
    """Every derived metric of the registry, labelled, from columns named after the daily
    metrics."""
    return [ratio(m.ratio, columns).label(m.name) for m in METRICS if m.ratio is not None]


def total(column: ColumnElement[Any]) -> ColumnElement[int]:
    """SUM as a whole number on every backend (PostgreSQL sums bigints into NUMERIC)."""
    return cast(func.sum(column), BigInteger)
