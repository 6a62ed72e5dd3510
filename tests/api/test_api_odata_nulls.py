"""`$filter` with nulls as OData defines it (4.01 Part 2, 5.1.1.1), not as SQL does.

A comparison is true or false, never null: null eq null and null ne 'x' are true; gt, ge,
lt and le with a null operand are false, except null ge null and null le null; `in` is
`eq ... or eq ...`. So `not (p eq 'x')` and `p ne 'x'` keep the rows whose `p` is null
(Power Query folds "does not equal" into `ne`: a report excluding one organisation must
keep the pages with none), and for a filter of comparisons `f`,
count(f) + count(not f) = count. Checked through the served API on both databases: the
identities the tables imply on every entity set's nullable properties, and comparisons of
two properties judged row by row. The truth tables row by row on every entity set, and
random filters, are in test_api_odata_null_logic.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from odata_truth import count, fetch, judged, literal

from govuk_kpi.api.odata.model import entity_sets

SETS = entity_sets()
NULLABLE = {
    name: [p for p in entity.props if p.nullable and p.edm != "Edm.Double"]
    for name, entity in SETS.items()
}


def a_value(client: httpx.Client, name: str, prop: str) -> Any:
    body = client.get(
        f"/odata/{name}", params={"$filter": f"{prop} ne null", "$top": 1, "$select": prop}
    ).json()
    return body["value"][0][prop] if body["value"] else None


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
    every = fetch(client, "Pages", "edition_key,first_published_at,public_updated_at")
    for op in ("eq", "ne", "gt", "ge", "lt", "le"):
        condition = f"first_published_at {op} public_updated_at"
        got = {r["edition_key"] for r in fetch(client, "Pages", "edition_key", condition)}
        want = {
            r["edition_key"]
            for r in every
            if judged(
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


def test_a_comparison_of_two_literals_is_not_implemented(client: httpx.Client) -> None:
    response = client.get("/odata/Pages", params={"$filter": "1 eq 1"})
    assert response.status_code == 501, response.text
    assert response.json()["error"]["message"]
