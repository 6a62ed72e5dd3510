"""The question every `kpi` module answers: a small frozen value, resolved before it is asked.

`Warehouse` (the facade) turns an analyst's keywords (`period="past-30-days"`,
`organisation="hm-revenue-customs"`) into a `Query`; the question modules take a connection and
a `Query` and return a DataFrame. Nothing in a `Query` is looked up yet: the organisation is a
slug or content_id, resolved to keys by `frames.of_organisation` when a query runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from govuk_kpi.core.periods import Period


@dataclass(frozen=True)
class Query:
    """What to count: a resolved period (its days), and optional filters."""

    period: Period
    organisation: str | None = None
    document_type: str | None = None
    search: str | None = None
