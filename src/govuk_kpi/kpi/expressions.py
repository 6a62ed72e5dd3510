"""Derived metrics of DESIGN.md as SQL expressions, so the database can sort and page by them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, case, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement


def _ratio(numerator: ColumnElement, denominator: ColumnElement) -> ColumnElement:
    return case((denominator == 0, None), else_=cast(numerator, Float) / denominator)


def satisfaction(useful_yes: ColumnElement, useful_no: ColumnElement) -> ColumnElement:
    """useful_yes / (useful_yes + useful_no); NULL when both are 0 (from sums, never averages)."""
    return _ratio(useful_yes, useful_yes + useful_no)


def pviews_per_visit(pviews: ColumnElement, upviews: ColumnElement) -> ColumnElement:
    """pviews / upviews; NULL without unique page views."""
    return _ratio(pviews, upviews)


def searches_per_user(searches: ColumnElement, upviews: ColumnElement) -> ColumnElement:
    """searches / upviews × 100, capped at 100; NULL without unique page views."""
    share = _ratio(searches * literal(100.0), upviews)
    return case((share > 100, literal(100.0)), else_=share)


def derived_columns(columns: dict[str, ColumnElement]) -> list[ColumnElement]:
    """The three derived metrics, labelled, from columns named after the daily metrics."""
    return [
        satisfaction(columns["useful_yes"], columns["useful_no"]).label("satisfaction"),
        pviews_per_visit(columns["pviews"], columns["upviews"]).label("pviews_per_visit"),
        searches_per_user(columns["searches"], columns["upviews"]).label("searches_per_user"),
    ]


def coalesce_zero(column: ColumnElement) -> ColumnElement:
    """A sum that is 0, not NULL, for pages without facts in the period."""
    return func.coalesce(column, 0)


def total(column: ColumnElement) -> ColumnElement:
    """SUM as a whole number on every backend (PostgreSQL sums bigints into NUMERIC)."""
    return cast(func.sum(column), BigInteger)
