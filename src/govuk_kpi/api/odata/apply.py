"""`$apply` (OData Data Aggregation): filter, groupby and aggregate, compiled to SQL.

    $apply=filter(year eq 2026)/groupby((organisation,month),aggregate(pviews with sum as total))
    $apply=groupby((organisation),aggregate(satisfaction))

Each derived metric of the registry is a custom aggregate of the entity types that carry it
(`Aggregation.CustomAggregate`, named after the property): `aggregate(satisfaction)` is the
registry's `Ratio` over the sums of its inputs in each group, never a sum or mean of the rows'
ratios, and null where the group's denominator is 0.

Each transformation takes a relation (a subquery and its typed columns) and gives the next;
the result is a select whose columns are the grouped properties and the aliases.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Float, Select, cast, func, select
from sqlalchemy.sql.elements import ColumnElement

from govuk_kpi.api.odata.expressions import (
    MAX_DEPTH,
    NUMERIC,
    Columns,
    Compiler,
    ODataError,
    Parser,
    tokenize,
)
from govuk_kpi.core.metrics import RATIOS
from govuk_kpi.kpi.expressions import ratio, total

METHODS = ("sum", "average", "min", "max", "countdistinct")
UNSUPPORTED = ("compute", "concat", "expand", "search", "orderby", "top", "skip", "topcount",
               "bottomcount", "toppercent", "bottompercent", "topsum", "bottomsum", "identity",
               "nest", "outerjoin", "join", "ancestors", "descendants", "traverse")  # fmt: skip
_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


@dataclass(frozen=True)
class Aggregate:
    source: str | None  # None for $count
    method: str  # sum, average, min, max, countdistinct, count, or custom (a custom aggregate)
    alias: str


@dataclass(frozen=True)
class Transformation:
    kind: str  # filter, groupby, aggregate
    condition: Any = None
    groups: tuple[str, ...] = ()
    aggregates: tuple[Aggregate, ...] = ()


def parse_apply(text: str) -> list[Transformation]:
    """Parse `$apply` text into transformations."""
    if not text.strip():
        raise ODataError("$apply is empty")
    parser = Parser(tokenize(text))
    steps = parser.separated(
        lambda: _transformation(parser),
        "/",
        most=MAX_DEPTH,
        too_many=f"at most {MAX_DEPTH} transformations",
    )
    parser.expect_end()
    return steps


def _transformation(parser: Parser) -> Transformation:
    name = parser.expect_name().lower()
    if name in UNSUPPORTED:
        raise ODataError(f"$apply transformation {name}() is not supported", 501)
    parser.expect_punct("(")
    read = _TRANSFORMATIONS.get(name)
    if read is None:
        raise ODataError(f"unknown $apply transformation {name}()")
    return read(parser)


def _filter(parser: Parser) -> Transformation:
    """`filter(condition)`, from after its "("."""
    condition = parser.parse_expression()
    parser.expect_punct(")")
    return Transformation("filter", condition=condition)


def _aggregate_step(parser: Parser) -> Transformation:
    """`aggregate(...)`, from after its "("."""
    aggregates = _aggregates(parser)
    parser.expect_punct(")")
    return Transformation("aggregate", aggregates=aggregates)


def _groupby(parser: Parser) -> Transformation:
    """`groupby((properties)[,aggregate(...)])`, from after its "("."""
    parser.expect_punct("(")
    groups = parser.separated(lambda: _group_name(parser))
    parser.expect_punct(")")
    aggregates: tuple[Aggregate, ...] = ()
    if parser.at_punct(","):
        parser.advance()
        inner = parser.expect_name().lower()
        if inner != "aggregate":
            raise ODataError(f"groupby() takes aggregate(), not {inner}()", 501)
        parser.expect_punct("(")
        aggregates = _aggregates(parser)
        parser.expect_punct(")")
    parser.expect_punct(")")
    if len(set(groups)) != len(groups):
        raise ODataError("groupby() names a property twice")
    return Transformation("groupby", groups=tuple(groups), aggregates=aggregates)


# Each transformation `$apply` compiles, read from after its "(".
_TRANSFORMATIONS: dict[str, Callable[[Parser], Transformation]] = {
    "filter": _filter,
    "aggregate": _aggregate_step,
    "groupby": _groupby,
}


def _group_name(parser: Parser) -> str:
    name = parser.expect_name()
    if parser.at_punct("/"):
        raise ODataError("grouping by navigation paths is not supported", 501)
    return name


def _aggregates(parser: Parser) -> tuple[Aggregate, ...]:
    found = parser.separated(lambda: _aggregate(parser))
    aliases = [a.alias for a in found]
    if len(set(aliases)) != len(aliases):
        raise ODataError("aggregate() uses an alias twice")
    return tuple(found)


def _aggregate(parser: Parser) -> Aggregate:
    """`$count as alias`, `property with method as alias`, or a custom aggregate."""
    source = parser.expect_name()
    if source == "$count":
        return Aggregate(None, "count", _alias(parser))
    if source.startswith("$"):
        raise ODataError(f"{source} cannot be aggregated")
    if not parser.at_word("with"):
        return _custom(parser, source)
    parser.advance()
    method = _method(parser)
    return Aggregate(source, method, _alias(parser))


def _custom(parser: Parser, source: str) -> Aggregate:
    """A custom aggregate: named alone, its alias optional (its own name by default)."""
    if parser.at_punct("("):
        raise ODataError("aggregating an expression is not supported", 501)
    if not (parser.at_word("as") or parser.at_punct(",") or parser.at_punct(")")):
        raise parser.error("expected 'with'")
    alias = source
    if parser.at_word("as"):
        parser.advance()
        alias = parser.expect_name()
    return Aggregate(source, "custom", _checked_alias(alias))


def _method(parser: Parser) -> str:
    method = parser.expect_name()
    if method not in METHODS:
        if "." in method:
            raise ODataError(f"aggregation method {method} is not supported", 501)
        raise ODataError(f"unknown aggregation method {method!r}; use {', '.join(METHODS)}")
    return method


def _alias(parser: Parser) -> str:
    """`as alias`."""
    if not parser.at_word("as"):
        raise parser.error("expected 'as' and an alias")
    parser.advance()
    return _checked_alias(parser.expect_name())


def _checked_alias(alias: str) -> str:
    if not _ALIAS.match(alias):
        raise ODataError(f"invalid alias {alias!r}")
    return alias


@dataclass
class Relation:
    """A subquery with its typed columns, and conditions waiting to be applied to it."""

    columns: Columns
    where: list[ColumnElement] = field(default_factory=list)
    entity_rows: bool = True  # the entity set's own rows (filtered), not an earlier aggregation


def _custom_aggregate(
    aggregate: Aggregate, relation: Relation, type_name: str
) -> tuple[ColumnElement, str]:
    """A derived metric over the rows of each group: its `Ratio` of their sums."""
    name = aggregate.source
    assert name is not None
    definition = RATIOS.get(name)
    if definition is None or name not in relation.columns:
        raise ODataError(
            f"{name!r} is not a custom aggregate of {type_name}; aggregate a property with a "
            f"method, e.g. '{name} with sum as total'",
            target=name,
        )
    if not relation.entity_rows or not set(definition.inputs) <= set(relation.columns):
        raise ODataError(
            f"the custom aggregate {name!r} applies to {type_name} rows, not to the output of "
            "an earlier groupby() or aggregate()",
            target=name,
        )
    sums = {m: total(relation.columns[m][0]) for m in definition.inputs}
    return ratio(definition, sums), "Edm.Double"


def _aggregate_column(aggregate: Aggregate, columns: Columns) -> tuple[ColumnElement, str]:
    if aggregate.method == "count":
        return cast(func.count(), BigInteger), "Edm.Int64"
    assert aggregate.source is not None
    if aggregate.source not in columns:
        raise ODataError(f"no property {aggregate.source!r} to aggregate", target=aggregate.source)
    column, edm = columns[aggregate.source]
    if aggregate.method == "countdistinct":
        return cast(func.count(column.distinct()), BigInteger), "Edm.Int64"
    if aggregate.method in ("min", "max"):
        return getattr(func, aggregate.method)(column), edm
    if edm not in NUMERIC:
        raise ODataError(f"cannot {aggregate.method} {edm} property {aggregate.source!r}")
    if aggregate.source in RATIOS:
        # A ratio of a period is the ratio of its sums: a sum or mean of rows' ratios is not
        # meaningful, so it is refused (400) and the custom aggregate offered instead.
        inputs = " and ".join(RATIOS[aggregate.source].inputs)
        raise ODataError(
            f"cannot {aggregate.method} the ratio {aggregate.source!r}: a {aggregate.method} of "
            f"ratios is not meaningful; use the custom aggregate 'aggregate({aggregate.source})', "
            f"the ratio of the sums of {inputs}",
            target=aggregate.source,
        )
    if aggregate.method == "average":
        return cast(func.avg(column), Float), "Edm.Double"
    if edm in ("Edm.Double", "Edm.Decimal"):
        return cast(func.sum(column), Float), "Edm.Double"
    return cast(func.sum(column), BigInteger), "Edm.Int64"


def apply_transformations(
    steps: list[Transformation], columns: Columns, type_name: str
) -> tuple[Select, Columns]:
    """Compile transformations over `columns`; returns the final select and its columns."""
    relation = Relation(columns)
    for number, step in enumerate(steps):
        if step.kind == "filter":
            condition = Compiler(relation.columns, type_name).boolean(step.condition)
            relation.where.append(condition)
        else:
            relation = _aggregated(step, relation, type_name, f"apply{number}")
    return _selected(relation.columns, relation.where), relation.columns


def _aggregated(
    step: Transformation, relation: Relation, type_name: str, subquery_name: str
) -> Relation:
    """A groupby or aggregate over `relation`: a subquery of the grouped properties and the
    aggregates."""
    out = _grouped(step.groups, relation, type_name)
    for aggregate in step.aggregates:
        if aggregate.alias in step.groups:
            raise ODataError(f"alias {aggregate.alias!r} is also a grouped property")
        if aggregate.method == "custom":
            column, edm = _custom_aggregate(aggregate, relation, type_name)
        else:
            column, edm = _aggregate_column(aggregate, relation.columns)
        out[aggregate.alias] = (column, edm)
    query = _selected(out, relation.where)
    if step.groups:
        query = query.group_by(*[out[group][0] for group in step.groups])
    sub = query.subquery(subquery_name)
    return Relation({name: (sub.c[name], edm) for name, (_, edm) in out.items()}, entity_rows=False)


def _grouped(groups: tuple[str, ...], relation: Relation, type_name: str) -> Columns:
    """The grouped properties' columns, in the order groupby() names them."""
    out: Columns = {}
    for name in groups:
        if name not in relation.columns:
            raise ODataError(f"{type_name} has no property {name!r} to group by", target=name)
        out[name] = relation.columns[name]
    return out


def _selected(columns: Columns, where: list[ColumnElement]) -> Select:
    """A select of `columns`, each labelled with its name, where every condition holds."""
    query = select(*[column.label(name) for name, (column, _) in columns.items()])
    if where:
        query = query.where(*where)
    return query
