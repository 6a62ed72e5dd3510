"""What the OData null tests share: the standard's truth table and reads through the API."""

from __future__ import annotations

from typing import Any

import httpx


def literal(value: Any, edm: str) -> str:
    """`value` written as an OData literal of type `edm`; None is null."""
    if value is None:
        return "null"
    if edm == "Edm.String":
        return "'" + str(value).replace("'", "''") + "'"
    return str(value)


def judged(op: str, a: Any, b: Any) -> bool:
    """The standard's truth table for `a op b` (4.01 Part 2, 5.1.1.1); None is null."""
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    if a is None or b is None:
        return op in ("ge", "le") and a is None and b is None
    return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]


def count(client: httpx.Client, name: str, condition: str | None = None) -> int:
    params = {"$filter": condition} if condition else {}
    response = client.get(f"/odata/{name}/$count", params=params)
    assert response.status_code == 200, (condition, response.text)
    return int(response.text)


def fetch(
    client: httpx.Client, name: str, select: str, condition: str | None = None
) -> list[dict[str, Any]]:
    """Every row of `name` where `condition` holds, following next links."""
    params = {"$select": select}
    if condition:
        params["$filter"] = condition
    response = client.get(f"/odata/{name}", params=params)
    assert response.status_code == 200, (condition, response.text)
    body = response.json()
    out = list(body["value"])
    while body.get("@odata.nextLink"):
        body = client.get(body["@odata.nextLink"]).json()
        out.extend(body["value"])
    return out
