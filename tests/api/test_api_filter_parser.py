"""The $filter tokenizer, parser and compiler, without HTTP: trees, precedence, bound values."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import Boolean, Column, Date, DateTime, Integer, MetaData, String, Table
from sqlalchemy.dialects import postgresql, sqlite

from govuk_kpi.api.odata.apply import apply_transformations, parse_apply
from govuk_kpi.api.odata.expressions import (
    MAX_DEPTH,
    Binary,
    Call,
    In,
    Literal,
    Not,
    ODataError,
    Property,
    compile_filter,
    parse_filter,
    tokenize,
)

TABLE = Table(
    "t",
    MetaData(),
    Column("title", String),
    Column("words", Integer),
    Column("withdrawn", Boolean),
    Column("day", Date),
    Column("at", DateTime),
)
COLUMNS = {
    "title": (TABLE.c.title, "Edm.String"),
    "words": (TABLE.c.words, "Edm.Int64"),
    "withdrawn": (TABLE.c.withdrawn, "Edm.Boolean"),
    "day": (TABLE.c.day, "Edm.Date"),
    "at": (TABLE.c.at, "Edm.DateTimeOffset"),
}


def test_tokens() -> None:
    kinds = [t.kind for t in tokenize("title eq 'it''s' and day ge 2026-01-31 or words lt -5")]
    assert kinds == [
        "name", "name", "string", "name", "name", "name", "date", "name", "name", "name",
        "number", "end",
    ]  # fmt: skip
    assert tokenize("at gt 2026-01-31T10:00:00Z")[2].kind == "datetime"
    assert tokenize("x eq 1.5e3")[2].kind == "number"
    with pytest.raises(ODataError, match="unexpected character ';'"):
        tokenize("title eq 'a'; drop table t")
    with pytest.raises(ODataError, match="unexpected character"):
        tokenize("title eq 'unterminated")


def test_precedence_and_tree() -> None:
    tree = parse_filter("not withdrawn and words gt 5 or title eq 'x'")
    five = Binary("gt", Property("words"), Literal(5, "Edm.Int64"))
    assert tree == Binary(
        "or",
        Binary("and", Not(Property("withdrawn")), five),
        Binary("eq", Property("title"), Literal("x", "Edm.String")),
    )
    grouped = parse_filter("not (withdrawn or words gt 5)")
    assert isinstance(grouped, Not) and grouped.operand.op == "or"
    call = parse_filter("contains(tolower(title),'tax')")
    assert call == Call(
        "contains", (Call("tolower", (Property("title"),)), Literal("tax", "Edm.String"))
    )
    listed = parse_filter("title in ('a', 'b')")
    assert listed == In(Property("title"), (Literal("a", "Edm.String"), Literal("b", "Edm.String")))
    assert parse_filter("day eq 2026-02-01").right == Literal(date(2026, 2, 1), "Edm.Date")
    assert parse_filter("at lt 2026-02-01T01:00:00+01:00").right.value == datetime(2026, 2, 1)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "title eq",
        "eq 'x'",
        "title eq 'x' 'y'",
        "(title eq 'x'",
        "title eq 'x')",
        "contains(title,'a'",
        "title in ()",
        "title in (title)",
        "words eq 1.2.3",
        "2026-02-30 eq day",
    ],
)
def test_syntax_errors(text: str) -> None:
    with pytest.raises(ODataError) as caught:
        parse_filter(text)
    assert caught.value.status == 400


def test_depth_and_length_limits() -> None:
    with pytest.raises(ODataError, match="nested more than"):
        parse_filter("(" * (MAX_DEPTH + 1) + "withdrawn" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(ODataError, match="nested more than"):
        parse_filter("not " * (MAX_DEPTH + 1) + "withdrawn")
    with pytest.raises(ODataError, match="characters long"):
        parse_filter("title eq '" + "a" * 10_000 + "'")
    parse_filter("(" * (MAX_DEPTH - 2) + "withdrawn" + ")" * (MAX_DEPTH - 2))


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_values_are_bound_never_pasted(dialect) -> None:
    nasty = "x' OR '1'='1'; DROP TABLE t; --"
    escaped = nasty.replace("'", "''")
    expression = compile_filter(
        f"title eq '{escaped}' or contains(title,'{escaped}') or words in (1,2)", COLUMNS, "T"
    )
    compiled = expression.compile(dialect=dialect)
    sql = str(compiled)
    assert "DROP" not in sql and "OR '1'" not in sql
    assert nasty in compiled.params.values()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title eq 5", "cannot compare"),
        ("words eq 'five'", "cannot compare"),
        ("nosuch eq 1", "no property"),
        ("title", "not a boolean"),
        ("withdrawn gt true", "booleans"),
        ("year(title) eq 2026", "date"),
        ("hour(day) eq 1", "date-time"),
        ("contains(words,'1')", "string"),
        ("day eq 2026-01-01T00:00:00Z", "date-time"),
    ],
)
def test_type_errors(text: str, message: str) -> None:
    with pytest.raises(ODataError, match=message):
        compile_filter(text, COLUMNS, "T")


@pytest.mark.parametrize(
    "text",
    [
        "substring(title,1) eq 'a'",
        "words add 1 eq 2",
        "geo.distance(a,b) lt 1",
        "$it eq 1",
        "1 eq 1",
        "words eq 1 add 2",
        "words has 1",
        "-words eq 1",
        "readability eq -INF",
        "readability eq NaN",
        "published eq duration'P1D'",
        "kind eq Ns.Colour'Red'",
        "key eq 01234567-89ab-cdef-0123-456789abcdef",
        "at eq 12:30:00",
    ],
)
def test_unsupported_is_501(text: str) -> None:
    with pytest.raises(ODataError) as caught:
        compile_filter(text, COLUMNS, "T")
    assert caught.value.status == 501


def test_apply_parses_and_compiles() -> None:
    steps = parse_apply(
        "filter(words gt 1)/groupby((title,day),aggregate(words with sum as total,$count as n))"
        "/filter(total gt 10)/aggregate(total with max as biggest)"
    )
    assert [s.kind for s in steps] == ["filter", "groupby", "filter", "aggregate"]
    query, columns = apply_transformations(steps, COLUMNS, "T")
    assert list(columns) == ["biggest"] and columns["biggest"][1] == "Edm.Int64"
    sql = str(query.compile(dialect=postgresql.dialect()))
    assert "GROUP BY" in sql and "max(" in sql
