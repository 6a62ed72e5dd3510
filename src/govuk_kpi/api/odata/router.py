"""The OData v4 service at `/odata`: service document, $metadata, entity sets, keys,
navigation, $count, query options and server-driven paging."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, Select, func, literal, select, tuple_
from sqlalchemy.exc import DataError, DBAPIError, StatementError

from govuk_kpi.api.odata.apply import apply_transformations, parse_apply
from govuk_kpi.api.odata.expressions import (
    Columns,
    Literal,
    ODataError,
    Parser,
    compile_filter,
    tokenize,
)
from govuk_kpi.api.odata.metadata import GENERATED_ANNOTATION, csdl_json, csdl_xml
from govuk_kpi.api.odata.model import NAMESPACE, EntitySet, Nav, entity_sets
from govuk_kpi.api.odata.rollup_route import route_to_rollup
from govuk_kpi.api.render import plain

DEFAULT_PAGE_SIZE = 1000
MAX_TOP = 2**31 - 1
ODATA_VERSION = "4.0"
SUPPORTED_OPTIONS = {
    "filter",
    "select",
    "orderby",
    "top",
    "skip",
    "count",
    "expand",
    "format",
    "apply",
    "skiptoken",
}
UNSUPPORTED_OPTIONS = {"search", "compute", "levels", "index", "schemaversion", "deltatoken", "id"}
METADATA_LEVELS = ("minimal", "full", "none")
CODES = {400: "BadRequest", 404: "NotFound", 406: "NotAcceptable", 501: "NotImplemented"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESOURCE = re.compile(
    r"^(?P<set>[A-Za-z_][A-Za-z0-9_]*)(?:\((?P<key>[^()]*)\))?(?:/(?P<tail>[$A-Za-z_][A-Za-z0-9_]*))?/?$"
)


# -- the request's options --------------------------------------------------------------------


@dataclass
class Options:
    """System query options, named with or without `$`, in any case."""

    values: dict[str, str] = field(default_factory=dict)
    metadata: str = "minimal"

    def get(self, name: str) -> str | None:
        return self.values.get(name)


def _options(request: Request) -> Options:
    values: dict[str, str] = {}
    for raw, value in request.query_params.multi_items():
        name = raw.lower()
        bare = name[1:] if name.startswith("$") else name
        if bare in SUPPORTED_OPTIONS or bare in UNSUPPORTED_OPTIONS:
            if bare in values:
                raise ODataError(f"query option ${bare} given more than once", target=f"${bare}")
            if bare in UNSUPPORTED_OPTIONS:
                raise ODataError(f"${bare} is not supported", 501, target=f"${bare}")
            values[bare] = value
        elif name.startswith("$"):
            raise ODataError(f"unknown system query option {raw}", target=raw)
    options = Options(values)
    options.metadata = _metadata_level(request, options.get("format"))
    return options


def _media_parameters(media: str) -> tuple[str, dict[str, str]]:
    parts = [p.strip() for p in media.split(";")]
    params = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        params[key.strip().lower()] = value.strip().lower()
    return parts[0].lower(), params


def _metadata_level(request: Request, fmt: str | None) -> str:
    """odata.metadata from $format, else from the best JSON media type in Accept."""
    level = _level_from_format(fmt) if fmt is not None else _level_from_accept(request)
    if level not in METADATA_LEVELS:
        raise ODataError(f"odata.metadata={level} is not one of {', '.join(METADATA_LEVELS)}")
    return level


def _level_from_format(fmt: str) -> str:
    """odata.metadata of a `$format` (JSON only)."""
    kind, params = _media_parameters(fmt)
    if kind not in ("json", "application/json"):
        if kind in ("xml", "application/xml", "atom", "application/atom+xml"):
            raise ODataError(f"$format={fmt} is not supported; use json", 406)
        raise ODataError(f"unknown $format {fmt!r}; use json", target="$format")
    return params.get("odata.metadata", "minimal")


def _level_from_accept(request: Request) -> str:
    """odata.metadata of the highest-q `application/json` in Accept; 406 when Accept allows
    no JSON at all."""
    level = "minimal"
    best = -1.0
    acceptable = False
    accept = request.headers.get("accept", "")
    for media in accept.split(","):
        if not media.strip():
            continue
        kind, params = _media_parameters(media)
        q = _quality(params)
        if kind in ("application/json", "application/*", "*/*") and q > 0:
            acceptable = True
            if kind == "application/json" and q > best:
                best = q
                level = params.get("odata.metadata", "minimal")
    if accept.strip() and not acceptable:
        raise ODataError("this service answers application/json; Accept allows none", 406)
    return level


def _quality(params: dict[str, str]) -> float:
    """A media range's q (1 when absent, 0 when unreadable)."""
    try:
        return float(params.get("q", "1"))
    except ValueError:
        return 0.0


def _check_versions(request: Request) -> None:
    for header in ("odata-maxversion", "odata-version"):
        raw = request.headers.get(header)
        if raw is None:
            continue
        try:
            version = tuple(int(p) for p in raw.strip().split("."))
        except ValueError as exc:
            raise ODataError(f"{header}: {raw!r} is not a version number") from exc
        if header == "odata-maxversion" and version < (4, 0):
            raise ODataError(f"this service speaks OData 4.0; OData-MaxVersion is {raw}")
        if header == "odata-version" and not (4, 0) <= version <= (4, 1):
            raise ODataError(f"this service speaks OData 4.0; the request is OData-Version {raw}")


def _speaks_401(request: Request) -> bool:
    """Whether the client takes OData 4.01 formats (no `OData-MaxVersion`, or 4.01 or more):
    CSDL JSON is one; a 4.0 client reads CSDL XML."""
    raw = request.headers.get("odata-maxversion")
    if raw is None:
        return True
    return tuple(int(p) for p in raw.strip().split(".")) >= (4, 1)  # checked by _check_versions


# -- responses ---------------------------------------------------------------------------------


# Whether this request asked for IEEE754Compatible=true (set per request in `_answer`).
_IEEE754: ContextVar[bool] = ContextVar("ieee754_compatible", default=False)


def _asks_ieee754(request: Request) -> bool:
    """`IEEE754Compatible=true` as a parameter of `$format`, `Accept` or `Content-Type`: the
    client (JavaScript, Excel) holds numbers as doubles, so Int64 and Decimal come as strings."""
    texts = [request.headers.get("accept", ""), request.headers.get("content-type", "")]
    texts += [v for k, v in request.query_params.multi_items() if k.lower().lstrip("$") == "format"]
    return any(
        _media_parameters(media)[1].get("ieee754compatible") == "true"
        for text in texts
        for media in text.split(",")
    )


def _content_type(level: str) -> str:
    ieee754 = "true" if _IEEE754.get() else "false"
    return (
        f"application/json;odata.metadata={level};odata.streaming=true;"
        f"IEEE754Compatible={ieee754};charset=utf-8"
    )


def _int64(value: int) -> int | str:
    """An Int64 or Decimal as JSON: a string for IEEE754Compatible clients (OData JSON 4.01,
    3.2), whose doubles lose digits past 2**53."""
    return str(value) if _IEEE754.get() else value


class ODataJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str
        ).encode("utf-8")


def _json(body: dict[str, Any], level: str, headers: dict[str, str] | None = None) -> Response:
    response = ODataJSON(body, headers={"OData-Version": ODATA_VERSION, **(headers or {})})
    response.headers["content-type"] = _content_type(level)
    return response


def _value(value: Any, edm: str) -> Any:
    """A property's value as OData JSON writes its Edm type."""
    if value is None:
        return None
    return _JSON_BY_EDM.get(edm, plain)(value)


def _date_time_offset(value: Any) -> Any:
    if isinstance(value, datetime):
        text = value.isoformat()
        return text if value.tzinfo else text + "Z"
    if isinstance(value, str):
        return value.replace(" ", "T") + ("" if value.endswith("Z") else "Z")
    return plain(value)


def _date(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return plain(value)


def _decimal(value: Any) -> Any:
    return str(value) if _IEEE754.get() else plain(value)


_JSON_BY_EDM: dict[str, Callable[[Any], Any]] = {
    "Edm.DateTimeOffset": _date_time_offset,
    "Edm.Date": _date,
    "Edm.Int32": int,
    "Edm.Int64": lambda value: _int64(int(value)),
    "Edm.Decimal": _decimal,
    "Edm.Boolean": bool,
}


def _key_text(entity: EntitySet, row: dict[str, Any]) -> str:
    def one(name: str) -> str:
        value = row[name]
        edm = entity.by_name[name].edm
        if edm == "Edm.String":
            return quote("'" + str(value).replace("'", "''") + "'", safe="'")
        return str(value)

    if len(entity.keys) == 1:
        return one(entity.keys[0])
    return ",".join(f"{k}={one(k)}" for k in entity.keys)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/odata"


# -- the service -------------------------------------------------------------------------------


class Service:
    """Answers one OData request."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.engine: Engine = request.app.state.warehouse.engine
        self.page_size: int = request.app.state.odata_page_size
        self.base = _base(request)
        self.sets = entity_sets()

    # resources
    def service_document(self, level: str) -> Response:
        body: dict[str, Any] = {
            "value": [{"name": n, "kind": "EntitySet", "url": n} for n in self.sets]
        }
        if level != "none":
            body = {"@odata.context": f"{self.base}/$metadata", **body}
        return _json(body, level)

    def metadata(self) -> Response:
        fmt = None
        for raw, value in self.request.query_params.multi_items():
            if raw.lower() in ("$format", "format"):
                fmt = value.lower()
        accept = self.request.headers.get("accept", "").lower()
        json_allowed = _speaks_401(self.request)
        if fmt is not None:
            kind = fmt.split(";")[0].strip()
            if kind in ("json", "application/json"):
                if not json_allowed:
                    raise ODataError(
                        "$metadata as JSON (CSDL JSON) is OData 4.01; OData-MaxVersion is "
                        f"{self.request.headers['odata-maxversion']}: ask for xml",
                        406,
                        target="$format",
                    )
                return _json(csdl_json(), "minimal")
            if kind not in ("xml", "application/xml"):
                raise ODataError(f"$metadata comes as xml or json, not {fmt!r}", target="$format")
        elif "application/json" in accept and "xml" not in accept and json_allowed:
            return _json(csdl_json(), "minimal")
        return Response(
            csdl_xml(),
            media_type="application/xml",
            headers={"OData-Version": ODATA_VERSION},
        )

    def resource(self, path: str, options: Options) -> Response:
        match = _RESOURCE.match(path)
        if match is None:
            raise ODataError(f"no resource at /odata/{path[:200]}", 404)
        entity = self.sets.get(match.group("set"))
        if entity is None:
            raise ODataError(f"no entity set {match.group('set')!r}", 404)
        key_text, tail = match.group("key"), match.group("tail")
        if key_text is None:
            return self._set_resource(entity, tail, path, options)
        key = self._parse_key(entity, key_text)
        if tail is None:
            return self.single(entity, key, options)
        return self._member(entity, key, key_text, tail, options)

    def _set_resource(
        self, entity: EntitySet, tail: str | None, path: str, options: Options
    ) -> Response:
        """The entity set (`/Pages`) or its count (`/Pages/$count`)."""
        if tail == "$count":
            return self.count_only(entity, options)
        if tail is not None:
            raise ODataError(f"no resource at /odata/{path[:200]}", 404)
        return self.collection(entity, options)

    def _member(
        self, entity: EntitySet, key: dict[str, Any], key_text: str, tail: str, options: Options
    ) -> Response:
        """What follows an entity's key: a navigation property or a property."""
        nav = entity.nav(tail)
        if nav is not None:
            return self._navigate(entity, key, nav, options)
        if tail in entity.by_name:
            return self._property_value(entity, key, key_text, tail, options)
        raise ODataError(f"{entity.type_name} has no property {tail!r}", 404)

    def _navigate(
        self, entity: EntitySet, key: dict[str, Any], nav: Nav, options: Options
    ) -> Response:
        """The entity a navigation property leads to; 204 when it leads nowhere."""
        row = self._fetch_one(entity, key)
        target = self.sets[nav.target]
        if row[nav.local] is None:
            return Response(status_code=204, headers={"OData-Version": ODATA_VERSION})
        return self.single(target, {target.keys[0]: row[nav.local]}, options)

    def _property_value(
        self, entity: EntitySet, key: dict[str, Any], key_text: str, name: str, options: Options
    ) -> Response:
        """One property of one entity (`/Pages(1)/title`)."""
        row = self._fetch_one(entity, key)
        prop = entity.by_name[name]
        body = {"value": _value(row[name], prop.edm)}
        if options.metadata != "none":
            body = {
                "@odata.context": (f"{self.base}/$metadata#{entity.name}({key_text})/{name}"),
                **body,
            }
        return _json(body, options.metadata)

    def _parse_key(self, entity: EntitySet, text: str) -> dict[str, Any]:
        pairs: dict[str, Any] = {}
        if "=" in text and not text.lstrip().startswith("'"):
            for part in _split_outside_quotes(text):
                name, sep, value = part.partition("=")
                if not sep or not _NAME.match(name.strip()):
                    raise ODataError(f"key of {entity.name} must be {', '.join(entity.keys)}")
                if name.strip() in pairs:
                    raise ODataError(f"key property {name.strip()} is given twice")
                inner = Parser(tokenize(value))
                pairs[name.strip()] = inner._primary()
                inner.expect_end()
        else:
            if len(entity.keys) != 1:
                raise ODataError(f"key of {entity.name} must be {', '.join(entity.keys)}")
            parser = Parser(tokenize(text))
            pairs[entity.keys[0]] = parser._primary()
            parser.expect_end()
        if set(pairs) != set(entity.keys):
            raise ODataError(f"key of {entity.name} must be {', '.join(entity.keys)}")
        key: dict[str, Any] = {}
        for name, node in pairs.items():
            if not isinstance(node, Literal) or node.value is None:
                raise ODataError(f"key {name} must be a literal value")
            edm = entity.by_name[name].edm
            is_text = edm == "Edm.String"
            if is_text != (node.edm == "Edm.String"):
                raise ODataError(f"key {name} must be {edm}")
            key[name] = node.value
        return key

    def _columns(self, entity: EntitySet) -> tuple[Any, Columns]:
        sub = entity.source.subquery("e")
        return sub, {p.name: (sub.c[p.name], p.edm) for p in entity.props}

    def _fetch_one(self, entity: EntitySet, key: dict[str, Any]) -> dict[str, Any]:
        _, columns = self._columns(entity)
        query = select(*[c.label(n) for n, (c, _) in columns.items()]).where(
            *[columns[k][0] == v for k, v in key.items()]
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            raise ODataError(f"no {entity.type_name} with key {key}", 404)
        return dict(row)

    def single(self, entity: EntitySet, key: dict[str, Any], options: Options) -> Response:
        for name in ("filter", "orderby", "top", "skip", "count", "apply", "skiptoken"):
            if options.get(name) is not None:
                raise ODataError(f"${name} does not apply to a single entity", target=f"${name}")
        row = self._fetch_one(entity, key)
        selected = self._select(entity, options.get("select"))
        expands = self._expand(entity, options.get("expand"))
        out = self._shape(entity, [row], selected, expands, options.metadata)[0]
        out = {GENERATED_ANNOTATION: self._generated(), **out}
        if options.metadata != "none":
            out = {"@odata.context": f"{self.base}/$metadata#{entity.name}/$entity", **out}
        return _json(out, options.metadata)

    def _generated(self) -> bool:
        """Whether the usage behind the answer is generated sample data (said on every answer,
        as the REST API's `generated_data` is)."""
        return self.request.app.state.warehouse.usage_is_generated()

    def count_only(self, entity: EntitySet, options: Options) -> Response:
        query, _ = self._query(entity, options)
        with self.engine.connect() as connection:
            count = connection.execute(
                select(func.count()).select_from(query.subquery())
            ).scalar_one()
        return Response(str(count), media_type="text/plain", headers={"OData-Version": "4.0"})

    def _query(self, entity: EntitySet, options: Options) -> tuple[Select, Columns]:
        _, columns = self._columns(entity)
        query: Select = select(*[c.label(n) for n, (c, _) in columns.items()])
        if options.get("apply") is not None:
            steps = parse_apply(options.get("apply") or "")
            with self.engine.connect() as connection:
                routed = route_to_rollup(connection, entity.name, steps, entity.type_name)
            query, columns = routed or apply_transformations(steps, columns, entity.type_name)
        if options.get("filter") is not None:
            where = compile_filter(options.get("filter") or "", columns, entity.type_name)
            if options.get("apply") is not None:
                sub = query.subquery("applied")
                columns = {n: (sub.c[n], edm) for n, (_, edm) in columns.items()}
                query = select(*[c.label(n) for n, (c, _) in columns.items()])
                where = compile_filter(options.get("filter") or "", columns, entity.type_name)
            query = query.where(where)
        return query, columns

    def _select(self, entity: EntitySet, text: str | None) -> list[str]:
        if text is None or text.strip() in ("", "*"):
            return [p.name for p in entity.props]
        names = [n.strip() for n in text.split(",")]
        for name in names:
            if name == "*":
                return [p.name for p in entity.props]
            if "/" in name or "(" in name:
                raise ODataError("$select of paths is not supported", 501, target="$select")
            if name not in entity.by_name:
                raise ODataError(
                    f"{entity.type_name} has no property {name[:80]!r}", target="$select"
                )
        return list(dict.fromkeys(names))

    def _expand(self, entity: EntitySet, text: str | None) -> list[tuple[str, str | None]]:
        if text is None or not text.strip():
            return []
        out: list[tuple[str, str | None]] = []
        for item in _split_top_level(text):
            if item.strip().startswith("*"):  # valid OData: every navigation property
                raise ODataError(
                    "$expand=* is not supported; name the navigation properties",
                    501,
                    target="$expand",
                )
            match = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*", item)
            if match is None:
                raise ODataError(f"cannot read $expand item {item[:80]!r}", target="$expand")
            name, inner = match.group(1), match.group(2)
            if entity.nav(name) is None:
                raise ODataError(
                    f"{entity.type_name} has no navigation property {name!r}", target="$expand"
                )
            select_text = None
            if inner:
                for part in _split_top_level(inner, ";"):
                    option, _, value = part.partition("=")
                    if option.strip().lower().lstrip("$") != "select":
                        raise ODataError(
                            f"$expand option {option.strip()[:40]} is not supported", 501
                        )
                    select_text = value
            out.append((name, select_text))
        return out

    def _order(self, options: Options, columns: Columns, keys: Sequence[str]) -> list[Any]:
        clauses: list[Any] = []
        seen: set[str] = set()
        text = options.get("orderby")
        if text is not None:
            for item in text.split(","):
                parts = item.split()
                if not parts or len(parts) > 2:
                    raise ODataError(f"cannot read $orderby item {item[:80]!r}", target="$orderby")
                name = parts[0]
                direction = parts[1].lower() if len(parts) == 2 else "asc"
                if direction not in ("asc", "desc"):
                    raise ODataError(
                        f"order {parts[1][:20]!r} is not asc or desc", target="$orderby"
                    )
                if "/" in name or "(" in name:
                    raise ODataError("$orderby by expressions is not supported", 501)
                if name not in columns:
                    raise ODataError(f"no property {name[:80]!r} to order by", target="$orderby")
                column = columns[name][0]
                clauses.append(
                    column.desc().nulls_last()
                    if direction == "desc"
                    else column.asc().nulls_first()
                )
                seen.add(name)
        for name in keys:
            if name not in seen:
                clauses.append(columns[name][0].asc())
        return clauses

    def collection(self, entity: EntitySet, options: Options) -> Response:
        applied = options.get("apply") is not None
        if applied:
            _refuse_beside_apply(options)
        query, columns = self._query(entity, options)
        top = _integer(options.get("top"), "$top")
        skip = _integer(options.get("skip"), "$skip") or 0
        # Keyset paging when rows are in key order and keys are whole numbers: the token is
        # "<rows served>-<last key values>", so deep pages cost as little as the first.
        keyset = not applied and _keyset_pageable(entity, options)
        token, after = _skiptoken(options.get("skiptoken"), len(entity.keys) if keyset else 0)
        counted = _count_wanted(options)
        page_size = self._page_size()
        keys = list(columns) if applied else list(entity.keys)
        # The applied relation may be ordered by its own columns; the entity's by its keys.
        sub = query.subquery("q")
        ordered_columns: Columns = {n: (sub.c[n], edm) for n, (_, edm) in columns.items()}
        order = self._order(options, ordered_columns, keys)
        remaining = None if top is None else max(0, top - token)
        limit = page_size if remaining is None else min(page_size, remaining)
        paged = (
            select(*[c.label(n) for n, (c, _) in ordered_columns.items()])
            .order_by(*order)
            .limit(limit + 1)
        )
        if after is not None:
            paged = paged.where(_after_keys([ordered_columns[k][0] for k in entity.keys], after))
        else:
            paged = paged.offset(skip + token)
        rows, count = self._fetch_page(paged, sub, limit, counted)
        # A next link only while rows remain within $top: a page that reaches $top is the last.
        more = len(rows) > limit and (remaining is None or limit < remaining)
        rows = rows[:limit]
        values, context = (
            self._applied_values(entity, columns, rows)
            if applied
            else self._entity_values(entity, rows, options)
        )
        body = self._collection_body(context, count, values, options.metadata)
        if more:
            next_token = _next_token(token + limit, rows, entity.keys if keyset else ())
            body["@odata.nextLink"] = self._next_link(next_token)
        headers = {}
        if self._preferred_page_size() is not None:
            headers["Preference-Applied"] = f"odata.maxpagesize={page_size}"
        return _json(body, options.metadata, headers)

    def _fetch_page(
        self, paged: Select, relation: Any, limit: int, counted: bool
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page's rows (one more than `limit`, when there are more) and, when asked for,
        how many rows `relation` holds in all."""
        with self.engine.connect() as connection:
            rows = [dict(r) for r in connection.execute(paged).mappings().all()] if limit else []
            count = (
                connection.execute(select(func.count()).select_from(relation)).scalar_one()
                if counted
                else None
            )
        return rows, count

    def _applied_values(
        self, entity: EntitySet, columns: Columns, rows: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], str]:
        """The rows of an `$apply` result, and their context URL."""
        values = [{n: _value(r[n], columns[n][1]) for n in columns} for r in rows]
        return values, f"{self.base}/$metadata#{entity.name}({','.join(columns)})"

    def _entity_values(
        self, entity: EntitySet, rows: list[dict[str, Any]], options: Options
    ) -> tuple[list[dict[str, Any]], str]:
        """The entities of a page, `$select`ed and `$expand`ed, and their context URL."""
        selected = self._select(entity, options.get("select"))
        expands = self._expand(entity, options.get("expand"))
        values = self._shape(entity, rows, selected, expands, options.metadata)
        context = f"{self.base}/$metadata#{entity.name}"
        if options.get("select") is not None or expands:
            parts = [*selected] if options.get("select") is not None else []
            parts += [f"{name}()" for name, _ in expands]
            context += f"({','.join(parts)})"
        return values, context

    def _collection_body(
        self, context: str, count: int | None, values: list[dict[str, Any]], level: str
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if level != "none":
            body["@odata.context"] = context
        if count is not None:
            body["@odata.count"] = _int64(count)
        body[GENERATED_ANNOTATION] = self._generated()
        body["value"] = values
        return body

    def _preferred_page_size(self) -> int | None:
        prefer = self.request.headers.get("prefer", "")
        match = re.search(r"(?:odata\.)?maxpagesize\s*=\s*(\d{1,9})", prefer, re.IGNORECASE)
        return int(match.group(1)) if match else None

    def _page_size(self) -> int:
        preferred = self._preferred_page_size()
        if preferred is not None and preferred > 0:
            return min(preferred, self.page_size)
        return self.page_size

    def _next_link(self, token: str) -> str:
        params = [
            (k, v)
            for k, v in self.request.query_params.multi_items()
            if k.lower().lstrip("$") != "skiptoken"
        ]
        params.append(("$skiptoken", token))
        path = self.request.url.path
        query = urlencode(params, quote_via=quote, safe="$(),/'")
        return f"{str(self.request.base_url).rstrip('/')}{path}?{query}"

    def _shape(
        self,
        entity: EntitySet,
        rows: list[dict[str, Any]],
        selected: list[str],
        expands: list[tuple[str, str | None]],
        level: str,
    ) -> list[dict[str, Any]]:
        related: dict[str, dict[Any, dict[str, Any]]] = {}
        for name, select_text in expands:
            nav = entity.nav(name)
            assert nav is not None
            target = self.sets[nav.target]
            wanted = {r[nav.local] for r in rows if r[nav.local] is not None}
            found: dict[Any, dict[str, Any]] = {}
            if wanted:
                _, columns = self._columns(target)
                key_column = columns[target.keys[0]][0]
                query = select(*[c.label(n) for n, (c, _) in columns.items()]).where(
                    key_column.in_(sorted(wanted))
                )
                with self.engine.connect() as connection:
                    for mapping in connection.execute(query).mappings():
                        found[mapping[target.keys[0]]] = dict(mapping)
            target_selected = self._select(target, select_text)
            related[name] = {
                k: self._shape(target, [v], target_selected, [], level)[0] for k, v in found.items()
            }
        out = []
        for row in rows:
            item: dict[str, Any] = {}
            if level == "full":
                key = _key_text(entity, row)
                item["@odata.type"] = f"#{NAMESPACE}.{entity.type_name}"
                item["@odata.id"] = f"{self.base}/{entity.name}({key})"
                item["@odata.editLink"] = f"{entity.name}({key})"
            for name in selected:
                item[name] = _value(row[name], entity.by_name[name].edm)
            if level == "full":
                key = _key_text(entity, row)
                for nav in entity.navs:
                    item[f"{nav.name}@odata.navigationLink"] = f"{entity.name}({key})/{nav.name}"
            for name, _ in expands:
                nav = entity.nav(name)
                assert nav is not None
                item[name] = related[name].get(row[nav.local])
            out.append(item)
        return out


def _integer(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    if not re.fullmatch(r"\d{1,10}", text.strip()):
        raise ODataError(f"{name} must be a whole number ≥ 0", target=name)
    value = int(text)
    if value > MAX_TOP:
        raise ODataError(f"{name} must be at most {MAX_TOP}", target=name)
    return value


def _skiptoken(text: str | None, keys: int) -> tuple[int, list[int] | None]:
    """(rows served so far, last key values or None) from a $skiptoken this service made."""
    if text is None:
        return 0, None
    parts = text.strip().split("-")
    if not all(re.fullmatch(r"\d{1,19}", p) for p in parts) or len(parts) not in (1, keys + 1):
        raise ODataError("$skiptoken is not one this service made", target="$skiptoken")
    served = int(parts[0])
    values = [int(p) for p in parts[1:]]
    if served > MAX_TOP or any(v >= 2**63 for v in values):
        raise ODataError("$skiptoken is out of range", target="$skiptoken")
    return served, values or None


def _refuse_beside_apply(options: Options) -> None:
    if options.get("select") is not None:
        raise ODataError("use $apply's groupby instead of $select with $apply", 501)
    if options.get("expand") is not None:
        raise ODataError("$expand with $apply is not supported", 501)


def _keyset_pageable(entity: EntitySet, options: Options) -> bool:
    """Whether the rows come in key order and every key is a whole number."""
    return options.get("orderby") is None and all(
        entity.by_name[k].edm in ("Edm.Int32", "Edm.Int64") for k in entity.keys
    )


def _count_wanted(options: Options) -> bool:
    count_text = (options.get("count") or "false").lower()
    if count_text not in ("true", "false"):
        raise ODataError("$count must be true or false", target="$count")
    return count_text == "true"


def _after_keys(key_columns: list[Any], after: list[int]) -> Any:
    """Rows whose keys come after the last page's (a row-value comparison for two or more)."""
    if len(after) == 1:
        return key_columns[0] > after[0]
    return tuple_(*key_columns) > tuple_(*[literal(v) for v in after])


def _next_token(served: int, rows: list[dict[str, Any]], keys: Sequence[str]) -> str:
    """The `$skiptoken` of the next page: rows served, then the last row's keys for keyset
    paging (`keys` empty otherwise)."""
    return str(served) + "".join(f"-{int(rows[-1][k])}" for k in keys)


def _split_outside_quotes(text: str) -> list[str]:
    parts, start, quoted = [], 0, False
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif char == "," and not quoted:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _split_top_level(text: str, separator: str = ",") -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ODataError("unbalanced parentheses", target="$expand")
        elif char == separator and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    if depth != 0:
        raise ODataError("unbalanced parentheses", target="$expand")
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _answer(request: Request, path: str) -> Response:
    _check_versions(request)
    _IEEE754.set(_asks_ieee754(request))
    service = Service(request)
    if path in ("", "/"):
        return service.service_document(_options(request).metadata)
    if path == "$metadata":
        return service.metadata()
    if path.startswith("$"):
        raise ODataError(f"{path[:40]} is not supported", 501)
    options = _options(request)
    try:
        return service.resource(path, options)
    except DataError as exc:
        # A value the database refused (e.g. out of its range): the request's fault.
        raise ODataError("the database could not evaluate this query's values") from exc
    except StatementError as exc:
        if isinstance(exc, DBAPIError):
            raise
        # A value that could not be bound to its column's type.
        raise ODataError("a value in this query does not fit its property's type") from exc


def build_router() -> APIRouter:
    """The `/odata` routes (left out of the REST OpenAPI document)."""
    router = APIRouter(prefix="/odata", include_in_schema=False)

    @router.get("")
    @router.get("/")
    def service_root(request: Request) -> Response:
        return _run(request, "")

    @router.get("/{path:path}")
    def resource(request: Request, path: str) -> Response:
        return _run(request, path)

    return router


def _run(request: Request, path: str) -> Response:
    from govuk_kpi.api.problems import problem_response

    try:
        return _answer(request, path)
    except ODataError as exc:
        return problem_response(
            request,
            exc.status,
            exc.message,
            invalid_params=[{"name": exc.target, "reason": exc.message}] if exc.target else None,
            code=CODES.get(exc.status, str(exc.status)),
            headers={"OData-Version": ODATA_VERSION},
        )
