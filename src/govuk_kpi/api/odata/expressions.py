"""OData `$filter` (and `$apply`) expressions: a tokenizer, a recursive-descent parser that builds
an expression tree, and a compiler from the tree to SQLAlchemy expressions.

URL text never reaches SQL: literals become bound parameters, and property names are looked
up in the entity set's declared columns (anything else is an error).

Grammar (precedence low to high)::

    expr       := or
    or         := and ("or" and)*
    and        := unary ("and" unary)*
    unary      := "not" unary | comparison
    comparison := primary ( ("eq"|"ne"|"gt"|"ge"|"lt"|"le") primary | "in" "(" list ")" )?
    primary    := literal | property | function "(" args ")" | "(" expr ")"
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar, cast

from sqlalchemy import and_, extract, false, func, literal, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

T = TypeVar("T")
MAX_LENGTH = 8000
MAX_DEPTH = 64
MAX_IN_ITEMS = 1000
# Room for a whole `in` list (a value and a comma each) and a few hundred tokens beside it.
MAX_TOKENS = 2 * MAX_IN_ITEMS + 500


class ODataError(Exception):
    """An error in a request's OData text: 400 (bad) or 501 (valid OData we do not support)."""

    def __init__(self, message: str, status: int = 400, target: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.target = target


# -- tokens ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<typed>(?i:duration|binary|geography|geometry|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)'(?:[^']|'')*')
  | (?P<guid>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})(?![\w-])
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,12})?)?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
  | (?P<timeofday>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,12})?)?)(?![\w:.])
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w.])
  | (?P<name>\$?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<punct>[(),/-])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    # string, datetime, date, number, name, punct, end; typed, guid, timeofday (unsupported)
    kind: str
    text: str
    position: int


def tokenize(text: str) -> list[Token]:
    """Split OData expression text into tokens; 400 on anything unexpected."""
    if len(text) > MAX_LENGTH:
        raise ODataError(f"expression is {len(text)} characters long; at most {MAX_LENGTH}")
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ODataError(f"unexpected character {text[position]!r} at position {position + 1}")
        kind = match.lastgroup or ""
        if kind == "string" and not match.group().endswith("'"):
            raise ODataError(f"unterminated string at position {position + 1}")
        if kind != "ws":
            tokens.append(Token(kind, match.group(), position))
        if len(tokens) > MAX_TOKENS:
            raise ODataError(
                f"expression has more than {MAX_TOKENS} tokens (names, values, operators)"
            )
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# -- the tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    """A literal: `'text'`, `5`, `2.5`, `1e3`, `2026-01-31`, `2026-01-31T10:00Z`, `true`,
    `null`."""

    value: Any
    edm: str  # Edm.String, Edm.Int64, Edm.Double, Edm.Decimal, Edm.Boolean, Edm.Date, ...; null


@dataclass(frozen=True)
class Property:
    """A property of the entity type, by name: `title`."""

    name: str


@dataclass(frozen=True)
class Call:
    """A call of a supported function, named in lower case: `contains(title,'tax')`."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class In:
    """`operand in (literal, ...)`."""

    operand: Node
    items: tuple[Literal, ...]


@dataclass(frozen=True)
class Binary:
    """`left op right`: a comparison (eq, ne, gt, ge, lt, le), `and` or `or`."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    """`not operand`."""

    operand: Node


# Any node of the tree.
Node = Literal | Property | Call | Binary | Not | In


COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
ARITHMETIC = ("add", "sub", "mul", "div", "divby", "mod")
SUPPORTED_FUNCTIONS = {
    "contains": 2,
    "startswith": 2,
    "endswith": 2,
    "tolower": 1,
    "toupper": 1,
    "trim": 1,
    "length": 1,
    "year": 1,
    "month": 1,
    "day": 1,
    "hour": 1,
    "minute": 1,
    "second": 1,
}
KNOWN_FUNCTIONS = {
    "concat",
    "indexof",
    "substring",
    "matchespattern",
    "date",
    "time",
    "fractionalseconds",
    "totaloffsetminutes",
    "now",
    "maxdatetime",
    "mindatetime",
    "totalseconds",
    "round",
    "floor",
    "ceiling",
    "cast",
    "isof",
    "has",
    "any",
    "all",
    "hassubset",
    "hassubsequence",
    "case",
}


# Valid literal forms no property of this service holds.
_UNSUPPORTED_LITERALS = {
    "typed": "duration, binary, geography, geometry and enumeration literals",
    "guid": "Guid literals",
    "timeofday": "TimeOfDay literals",
}


class Parser:
    """Recursive descent over a token list. `parse_expression` gives one expression tree."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    # token helpers
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at_word(self, *words: str) -> bool:
        token = self.current
        return token.kind == "name" and token.text in words

    def at_punct(self, mark: str) -> bool:
        return self.current.kind == "punct" and self.current.text == mark

    def expect_punct(self, mark: str) -> None:
        if not self.at_punct(mark):
            raise self.error(f"expected {mark!r}")
        self.advance()

    def expect_name(self) -> str:
        if self.current.kind != "name":
            raise self.error("expected a name")
        return self.advance().text

    def error(self, message: str) -> ODataError:
        token = self.current
        found = "the end" if token.kind == "end" else repr(token.text[:40])
        return ODataError(f"{message} at position {token.position + 1}, found {found}")

    def expect_end(self) -> None:
        if self.current.kind != "end":
            raise self.error("expected the end of the expression")

    def separated(
        self, read: Callable[[], T], mark: str = ",", *, most: int | None = None, too_many: str = ""
    ) -> list[T]:
        """One or more items `read` gives, between `mark`s; `too_many` (a 400) past `most`."""
        items = [read()]
        while self.at_punct(mark):
            self.advance()
            items.append(read())
            if most is not None and len(items) > most:
                raise ODataError(too_many)
        return items

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ODataError(f"expression nested more than {MAX_DEPTH} deep")

    # grammar
    def parse_expression(self) -> Any:
        self._enter()
        try:
            return self._or()
        finally:
            self.depth -= 1

    def _or(self) -> Any:
        return self._joined("or", self._and)

    def _and(self) -> Any:
        return self._joined("and", self._unary)

    def _joined(self, word: str, operand: Callable[[], Any]) -> Any:
        """`operand (word operand)*`, grouped from the left."""
        node = operand()
        while self.at_word(word):
            self.advance()
            node = Binary(word, node, operand())
        return node

    def _unary(self) -> Any:
        if self.at_word("not"):
            self.advance()
            self._enter()
            try:
                return Not(self._unary())
            finally:
                self.depth -= 1
        return self._comparison()

    def _comparison(self) -> Any:
        left = self._operand()
        if self.at_word(*COMPARISONS):
            op = self.advance().text
            return Binary(op, left, self._operand())
        if self.at_word("in"):
            self.advance()
            self.expect_punct("(")
            items = self.separated(
                self._literal_only,
                most=MAX_IN_ITEMS,
                too_many=f"at most {MAX_IN_ITEMS} values in an 'in' list",
            )
            self.expect_punct(")")
            return In(left, tuple(items))
        return left

    def _operand(self) -> Any:
        """A primary; valid operators this service does not evaluate after it are 501."""
        node = self._primary()
        if self.at_word(*ARITHMETIC):
            raise ODataError(f"arithmetic operator {self.current.text!r} is not supported", 501)
        if self.at_word("has"):
            raise ODataError("operator 'has' is not supported", 501)
        return node

    def _literal_only(self) -> Literal:
        node = self._primary()
        if not isinstance(node, Literal):
            raise self.error("expected a literal value in the list")
        return node

    def _primary(self) -> Any:
        token = self.current
        if token.kind in _UNSUPPORTED_LITERALS:
            raise ODataError(f"{_UNSUPPORTED_LITERALS[token.kind]} are not supported", 501)
        literal_of = _LITERAL_TOKENS.get(token.kind)
        if literal_of is not None:
            self.advance()
            return literal_of(token.text)
        if token.kind == "name":
            return self._named(token.text)
        if self.at_punct("("):
            self.advance()
            node = self.parse_expression()
            self.expect_punct(")")
            return node
        if self.at_punct("-"):
            # A negative number is one token; a minus before anything else is negation.
            raise ODataError("the negation operator '-' is not supported", 501)
        raise self.error("expected a value, a property or '('")

    def _named(self, word: str) -> Any:
        """A primary that is a name: a keyword literal, a function call or a property."""
        keyword = _KEYWORD_LITERALS.get(word)
        if keyword is not None:
            self.advance()
            return keyword
        if word in ("INF", "NaN"):  # valid Edm.Double literals; no property holds them
            raise ODataError(f"the literal {word} is not supported", 501)
        if word.startswith("$"):
            raise ODataError(f"{word} is not supported in expressions", 501)
        self.advance()
        if self.at_punct("("):
            return self._call(word)
        if self.at_punct("/"):
            raise ODataError("navigation paths in expressions are not supported", 501)
        return Property(word)

    def _call(self, name: str) -> Call:
        lowered = name.lower()
        if lowered not in SUPPORTED_FUNCTIONS:
            if lowered in KNOWN_FUNCTIONS or "." in name:
                raise ODataError(f"function {name}() is not supported", 501)
            raise ODataError(f"unknown function {name}()")
        self.expect_punct("(")
        self._enter()
        try:
            args = self.separated(self.parse_expression)
        finally:
            self.depth -= 1
        self.expect_punct(")")
        if len(args) != SUPPORTED_FUNCTIONS[lowered]:
            raise ODataError(
                f"{lowered}() takes {SUPPORTED_FUNCTIONS[lowered]} argument(s), got {len(args)}"
            )
        return Call(lowered, tuple(args))


def _number(text: str) -> Literal:
    if re.fullmatch(r"-?\d+", text):
        value = int(text)
        if not -(2**63) <= value < 2**63:
            raise ODataError(f"number {text[:30]} is out of range")
        return Literal(value, "Edm.Int64")
    if "e" in text.lower():
        number = float(text)
        if number in (float("inf"), float("-inf")):
            raise ODataError(f"number {text[:30]} is out of range")
        return Literal(number, "Edm.Double")
    return Literal(Decimal(text), "Edm.Decimal")


def _datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ODataError(f"invalid date-time {text!r}") from exc
    # The warehouse keeps naive UTC.
    return value.astimezone(UTC).replace(tzinfo=None)


def _string_literal(text: str) -> Literal:
    return Literal(text[1:-1].replace("''", "'"), "Edm.String")


def _date_literal(text: str) -> Literal:
    try:
        return Literal(date.fromisoformat(text), "Edm.Date")
    except ValueError as exc:
        raise ODataError(f"invalid date {text!r}") from exc


def _date_time_literal(text: str) -> Literal:
    return Literal(_datetime(text), "Edm.DateTimeOffset")


# The value of each kind of literal token, from its text.
_LITERAL_TOKENS: dict[str, Callable[[str], Literal]] = {
    "string": _string_literal,
    "number": _number,
    "date": _date_literal,
    "datetime": _date_time_literal,
}
# The names that are literals.
_KEYWORD_LITERALS = {
    "true": Literal(True, "Edm.Boolean"),
    "false": Literal(False, "Edm.Boolean"),
    "null": Literal(None, "null"),
}


def parse_filter(text: str) -> Any:
    """Parse `$filter` text into an expression tree."""
    if not text.strip():
        raise ODataError("$filter is empty")
    parser = Parser(tokenize(text))
    node = parser.parse_expression()
    parser.expect_end()
    return node


# -- compiling ------------------------------------------------------------------------------

NUMERIC = {"Edm.Int32", "Edm.Int64", "Edm.Double", "Edm.Decimal", "Edm.Byte", "Edm.Int16"}
TEMPORAL = {"Edm.Date", "Edm.DateTimeOffset"}
Columns = dict[str, tuple[ColumnElement, str]]


def _family(edm: str) -> str:
    if edm in NUMERIC:
        return "number"
    if edm in TEMPORAL:
        return "temporal"
    return edm


class Compiler:
    """Compile an expression tree against `columns` (property name → (column, Edm type))."""

    def __init__(self, columns: Columns, type_name: str) -> None:
        self.columns = columns
        self.type_name = type_name

    def boolean(self, node: Any) -> ColumnElement:
        expression, edm = self.value(node)
        if edm != "Edm.Boolean":
            raise ODataError(f"the expression is {edm}, not a boolean condition")
        if isinstance(node, Property):
            return expression.is_(True)
        if isinstance(node, Literal):
            return true() if node.value else false()
        return expression

    def value(self, node: Any) -> tuple[Any, str]:
        """A node's SQL expression (or a literal's value) and its Edm type."""
        compile_node = self._BY_NODE.get(type(node))
        if compile_node is None:
            raise ODataError("unsupported expression")  # pragma: no cover
        return compile_node(self, node)

    def _literal(self, node: Literal) -> tuple[Any, str]:
        return node.value, node.edm

    def _property(self, node: Property) -> tuple[Any, str]:
        if node.name not in self.columns:
            raise ODataError(f"{self.type_name} has no property {node.name!r}", target=node.name)
        return self.columns[node.name]

    def _not(self, node: Not) -> tuple[Any, str]:
        return not_(self.boolean(node.operand)), "Edm.Boolean"

    def _binary(self, node: Binary) -> tuple[Any, str]:
        if node.op in ("and", "or"):
            combine = and_ if node.op == "and" else or_
            return combine(self.boolean(node.left), self.boolean(node.right)), "Edm.Boolean"
        return self._compare(node), "Edm.Boolean"

    def _in(self, node: In) -> tuple[Any, str]:
        operand, edm = self.value(node.operand)
        values = [self._coerce(item, edm) for item in node.items]
        if any(v is None for v in values):
            raise ODataError("null cannot be in an 'in' list; use eq null")
        # As `p eq a or p eq b`: false, not null, for a null property.
        column = _sql(operand)
        return and_(column.is_not(None), column.in_(values)), "Edm.Boolean"

    def _coerce(self, literal_node: Literal, edm: str) -> Any:
        """A literal's value, checked against the type it is compared with."""
        if literal_node.edm == "null":
            return None
        if _family(literal_node.edm) != _family(edm):
            raise ODataError(f"cannot compare {edm} with {literal_node.edm} value")
        value = literal_node.value
        if (
            edm == "Edm.DateTimeOffset"
            and isinstance(value, date)
            and not isinstance(value, datetime)
        ):
            return datetime(value.year, value.month, value.day)
        if edm == "Edm.Date" and isinstance(value, datetime):
            raise ODataError("cannot compare Edm.Date with a date-time value")
        if edm in ("Edm.Int32", "Edm.Int64") and isinstance(value, Decimal):
            return float(value)
        if edm == "Edm.Double" and isinstance(value, Decimal):
            return float(value)
        return value

    def _compare(self, node: Binary) -> ColumnElement:
        left_literal = isinstance(node.left, Literal)
        right_literal = isinstance(node.right, Literal)
        op = node.op
        if left_literal and not right_literal:
            swapped = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}.get(op, op)
            return self._compare(Binary(swapped, node.right, node.left))
        left, left_edm = self.value(node.left)
        if right_literal:
            if left_literal:
                # Valid OData, but a condition on no property: not something this service does.
                raise ODataError("a comparison of two literals is not supported", status=501)
            value = self._coerce(cast(Literal, node.right), left_edm)
            left = _sql(left)
            if value is None:
                # null equals null and nothing else; gt and lt with null are false.
                return {
                    "eq": left.is_(None),
                    "ne": left.is_not(None),
                    "ge": left.is_(None),
                    "le": left.is_(None),
                }.get(op, false())
            if left_edm == "Edm.Boolean" and op not in ("eq", "ne"):
                raise ODataError(f"cannot use {op} with booleans")
            right: Any = literal(value, type_=left.type) if _typed(left) else literal(value)
            return _compared(op, left, right, literal_right=True)
        right, right_edm = self.value(node.right)
        if _family(left_edm) != _family(right_edm):
            raise ODataError(f"cannot compare {left_edm} with {right_edm}")
        return _compared(op, _sql(left), _sql(right), literal_right=False)

    def _call(self, node: Call) -> tuple[ColumnElement, str]:
        name = node.name
        if name in ("contains", "startswith", "endswith"):
            haystack = self._string(node.args[0], name)
            needle_node = node.args[1]
            if isinstance(needle_node, Literal):
                if needle_node.edm != "Edm.String":
                    raise ODataError(f"{name}() needs a string to look for")
                method = getattr(haystack, name)
                return method(needle_node.value, autoescape=True), "Edm.Boolean"
            needle = self._string(needle_node, name)
            return getattr(haystack, name)(needle), "Edm.Boolean"
        if name in ("tolower", "toupper", "trim"):
            sql = {"tolower": func.lower, "toupper": func.upper, "trim": func.trim}[name]
            return sql(self._string(node.args[0], name)), "Edm.String"
        if name == "length":
            return func.length(self._string(node.args[0], name)), "Edm.Int32"
        # year, month, day, hour, minute, second
        operand, edm = self.value(node.args[0])
        if isinstance(node.args[0], Literal) or edm not in TEMPORAL:
            raise ODataError(f"{name}() needs a date or date-time property")
        if edm == "Edm.Date" and name in ("hour", "minute", "second"):
            raise ODataError(f"{name}() needs a date-time, not a date")
        return extract(name, operand), "Edm.Int32"

    def _string(self, node: Any, function: str) -> ColumnElement:
        value, edm = self.value(node)
        if edm != "Edm.String":
            raise ODataError(f"{function}() needs a string, not {edm}")
        return _sql(value)

    # How each kind of node compiles.
    _BY_NODE: ClassVar[dict[type, Callable[[Compiler, Any], tuple[Any, str]]]] = {
        Literal: _literal,
        Property: _property,
        Not: _not,
        Binary: _binary,
        In: _in,
        Call: _call,
    }


def _compared(op: str, left: ColumnElement, right: ColumnElement, *, literal_right: bool) -> Any:
    """`left op right` as OData means it (4.01 Part 2, 5.1.1.1): true or false, never null.

    null eq null and null ne x are true; gt, ge, lt and le with a null operand are false,
    except null ge null and null le null (null equals itself). SQL's comparisons are null
    when an operand is, so a row whose property is null would drop out of both `p ne 'x'`
    and `not (p eq 'x')`. `literal_right`: the right side is a literal, never null.
    """
    if op in ("eq", "ne"):
        return _equality(op, left, right, literal_right=literal_right)
    ordered = _ORDERINGS[op](left, right)
    if literal_right:
        return and_(left.is_not(None), ordered)
    compared = and_(left.is_not(None), right.is_not(None), ordered)
    if op in ("ge", "le"):
        return or_(and_(left.is_(None), right.is_(None)), compared)
    return compared


def _equality(op: str, left: ColumnElement, right: ColumnElement, *, literal_right: bool) -> Any:
    """`eq` or `ne` with null equal to itself and to nothing else."""
    if literal_right:
        if op == "eq":
            return and_(left.is_not(None), left == right)
        return or_(left.is_(None), left != right)
    if op == "eq":
        return left.is_not_distinct_from(right)
    return left.is_distinct_from(right)


_ORDERINGS: dict[str, Callable[[Any, Any], Any]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def _sql(value: Any) -> ColumnElement:
    return value if isinstance(value, ColumnElement) else literal(value)


def _typed(column: ColumnElement) -> bool:
    return column.type is not None and column.type.__class__.__name__ != "NullType"


def compile_filter(text: str, columns: Columns, type_name: str) -> ColumnElement:
    """`$filter` text to a SQLAlchemy boolean expression over `columns`."""
    return Compiler(columns, type_name).boolean(parse_filter(text))
