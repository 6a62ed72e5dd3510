"""`$filter` with nulls as OData defines it (4.01 Part 2, 5.1.1.1), not as SQL does.

A comparison is true or false, never null: null eq null and null ne 'x' are true; gt, ge,
lt and le with a null operand are false, except null ge null and null le null; `in` is
`eq ... or eq ...`. So `not (p eq 'x')` and `p ne 'x'` keep the rows whose `p` is null
(Power Query folds "does not equal" into `ne`: a report excluding one organisation must
keep the pages with none), and for a filter of comparisons `f`,
count(f) + count(not f) = count. Checked through the served API on both databases: the
truth tables row by row on Pages (every row fetched and judged in Python), and the
identities the tables imply on every entity set's nullable properties.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govuk_kpi.api.odata.model import entity_sets

SETS = entity_sets()
NULLABLE = {
    name: [p for p in entity.props if p.nullable and p.edm != "Edm.Double"]
    for name, entity in SETS.items()
}


def count(client: httpx.Client, name: str, condition: str | None = None) -> int:
    params = {"$filter": condition} if condition else {}
    response = client.get(f"/odata/{name}/$count", params=params)
    assert response.status_code == 200, (condition, response.text)
    return int(response.text)


def rows(client: httpx.Client, name: str, select: str) -> list[dict[str, Any]]:
    """Every row of an entity set (following next links)."""
    out: list[dict[str, Any]] = []
    url: str | None = f"/odata/{name}?$select={select}"
    while url:
        body = client.get(url).json()
        out.extend(body["value"])
        url = body.get("@odata.nextLink")
    return out


def literal(value: Any, edm: str) -> str:
    if value is None:
        return "null"
    if edm == "Edm.String":
        return "'" + str(value).replace("'", "''") + "'"
    return str(value)


def a_value(client: httpx.Client, name: str, prop: str) -> Any:
    body = client.get(
        f"/odata/{name}", params={"$filter": f"{prop} ne null", "$top": 1, "$select": prop}
    ).json()
    return body["value"][0][prop] if body["value"] else None


# The truth tables, judged in Python: None is null.
def odata(op: str, a: Any, b: Any) -> bool:
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    if a is None or b is None:
        return op in ("ge", "le") and a is None and b is None
    return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]


PAGES_PROPS = ("organisation", "phase", "organisation_key", "first_published_at")


@pytest.mark.parametrize("prop", PAGES_PROPS)
def test_the_truth_tables_row_by_row(client: httpx.Client, prop: str) -> None:
    edm = SETS["Pages"].by_name[prop].edm
    every = rows(client, "Pages", f"edition_key,{prop}")
    nulls = sum(r[prop] is None for r in every)
    assert 0 < nulls < len(every), f"the sample should hold null and non-null {prop}"
    value = next(r[prop] for r in every if r[prop] is not None)
    parse = (lambda v: v and datetime.fromisoformat(v)) if edm == "Edm.DateTimeOffset" else None
    for op in ("eq", "ne", "gt", "ge", "lt", "le"):
        for compared in (value, None):
            condition = f"{prop} {op} {literal(compared, edm)}"
            body = client.get(
                "/odata/Pages",
                params={"$filter": condition, "$select": "edition_key", "$top": 100_000},
            )
            got = {r["edition_key"] for r in _all(client, body)}
            want = {
                r["edition_key"]
                for r in every
                if odata(
                    op,
                    parse(r[prop]) if parse else r[prop],
                    parse(compared) if parse else compared,
                )
            }
            assert got == want, condition


def _all(client: httpx.Client, first: httpx.Response) -> list[dict[str, Any]]:
    assert first.status_code == 200, first.text
    body = first.json()
    out = list(body["value"])
    while body.get("@odata.nextLink"):
        body = client.get(body["@odata.nextLink"]).json()
        out.extend(body["value"])
    return out


def test_not_equal_keeps_the_pages_with_no_organisation(client: httpx.Client) -> None:
    total = count(client, "Pages")
    one = count(client, "Pages", "organisation eq 'hm-revenue-customs'")
    none = count(client, "Pages", "organisation eq null")
    assert none > 0 and one > 0
    assert count(client, "Pages", "organisation ne 'hm-revenue-customs'") == total - one
    assert count(client, "Pages", "not (organisation eq 'hm-revenue-customs')") == total - one
    assert count(client, "Pages", "not (organisation in ('hm-revenue-customs'))") == total - one
    assert count(client, "Pages", "organisation in ('hm-revenue-customs')") == one


def test_two_properties_compare_with_nulls_as_odata_says(client: httpx.Client) -> None:
    every = rows(client, "Pages", "edition_key,first_published_at,public_updated_at")
    for op in ("eq", "ne", "gt", "ge", "lt", "le"):
        condition = f"first_published_at {op} public_updated_at"
        got = {r["edition_key"] for r in _all(client, client.get(
            "/odata/Pages", params={"$filter": condition, "$select": "edition_key"}))}  # fmt: skip
        want = {
            r["edition_key"]
            for r in every
            if odata(
                op,
                r["first_published_at"] and datetime.fromisoformat(r["first_published_at"]),
                r["public_updated_at"] and datetime.fromisoformat(r["public_updated_at"]),
            )
        }
        assert got == want, condition


@pytest.mark.parametrize("name", [n for n, props in NULLABLE.items() if props])
def test_every_entity_set_keeps_its_nulls(client: httpx.Client, name: str) -> None:
    total = count(client, name)
    for prop in NULLABLE[name]:
        p = prop.name
        value = a_value(client, name, p)
        if value is None:  # no row holds a value: nothing to compare with
            continue
        v = literal(value, prop.edm)
        null = count(client, name, f"{p} eq null")
        assert null + count(client, name, f"{p} ne null") == total, p
        assert count(client, name, f"{p} gt null") == 0 and count(client, name, f"{p} lt null") == 0
        assert count(client, name, f"{p} ge null") == null == count(client, name, f"{p} le null")
        equal = count(client, name, f"{p} eq {v}")
        assert equal + count(client, name, f"{p} ne {v}") == total, p
        assert count(client, name, f"not ({p} eq {v})") == total - equal, p
        above, at_most = count(client, name, f"{p} gt {v}"), count(client, name, f"{p} le {v}")
        assert above + at_most + null == total, p  # null is neither above nor at most
        assert count(client, name, f"not ({p} gt {v})") == at_most + null, p


def comparisons() -> st.SearchStrategy[str]:
    props = [p for p in SETS["Pages"].props if p.edm in ("Edm.String", "Edm.Int64")]
    values = {
        "Edm.String": st.sampled_from(["null", "'hm-revenue-customs'", "'live'", "'x'", "''"]),
        "Edm.Int64": st.sampled_from(["null", "0", "1", "250", "100000"]),
    }
    return st.sampled_from(props).flatmap(
        lambda p: st.tuples(
            st.just(p.name), st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"]), values[p.edm]
        ).map(lambda t: f"{t[0]} {t[1]} {t[2]}")
    )


def filters() -> st.SearchStrategy[str]:
    return st.recursive(
        comparisons(),
        lambda inner: st.one_of(
            inner.map(lambda f: f"not ({f})"),
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
                lambda t: f"({t[0]}) {t[1]} ({t[2]})"
            ),
        ),
        max_leaves=4,
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(condition=filters())
def test_a_filter_and_its_negation_share_out_every_row(
    client: httpx.Client, condition: str
) -> None:
    total = count(client, "Pages")
    assert count(client, "Pages", condition) + count(client, "Pages", f"not ({condition})") == total


def test_a_comparison_of_two_literals_is_not_implemented(client: httpx.Client) -> None:
    response = client.get("/odata/Pages", params={"$filter": "1 eq 1"})
    assert response.status_code == 501, response.text
    assert response.json()["error"]["message"]
