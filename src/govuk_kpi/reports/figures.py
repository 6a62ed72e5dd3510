"""Named figures a notebook records, scrapbook-style, and reading them back.

`record(name, value, query)` shows nothing to readers: it emits a display output of its own
MIME type, which the executed notebook keeps and nbconvert's HTML leaves out. The builder reads
these outputs back into the report's manifest, so `govuk-kpi trace` can tell a figure's value,
the SQL behind it and the load batches it came from.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Mapping
from typing import Any

FIGURE_MIME = "application/vnd.govuk-kpi.figure+json"
REPORT_MIME = "application/vnd.govuk-kpi.report+json"


def plain(value: Any) -> Any:
    """A JSON-friendly value: numpy scalars to Python, NaN to None, dates to ISO text."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return _plain_scalar(value)


def _plain_scalar(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value if isinstance(value, int | float | str | bool) else str(value)


def _emit(mime: str, payload: Mapping[str, Any]) -> None:
    try:
        from IPython.display import display
    except ImportError:  # outside IPython: nothing to record into
        return
    display({mime: dict(payload)}, raw=True)


def record(
    name: str,
    value: Any,
    query: str | None = None,
    *,
    label: str | None = None,
    unit: str | None = None,
    period: Mapping[str, str] | None = None,
    headline: bool = False,
) -> Any:
    """Record a named figure of the report and return its (plain) value.

    Args:
        name: the figure's name in the manifest and for `govuk-kpi trace`.
        value: the number (or text) shown.
        query: the SQL behind it (a kpi frame's `attrs["query"]`).
        label: words for readers, e.g. "Page views".
        unit: count, ratio, percent...
        period: a kpi frame's `attrs["period"]` ({name, start, end}).
        headline: show it on the site index beside the report.
    """
    value = plain(value)
    _emit(
        FIGURE_MIME,
        {
            "name": name,
            "value": value,
            "query": query,
            "label": label or name,
            "unit": unit,
            "period": dict(period) if period else None,
            "headline": headline,
        },
    )
    return value


def record_series(
    prefix: str,
    series: Any,
    names: Iterable[str],
    *,
    labels: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    headline: Iterable[str] = (),
) -> dict[str, Any]:
    """Record several figures of one kpi Series/row (`prefix.name`), sharing its query."""
    headline = set(headline)
    attrs = getattr(series, "attrs", {}) or {}
    return {
        name: record(
            f"{prefix}.{name}" if prefix else name,
            series[name],
            attrs.get("query"),
            label=(labels or {}).get(name),
            unit=(units or {}).get(name),
            period=attrs.get("period"),
            headline=name in headline,
        )
        for name in names
    }


def report_meta(**fields: Any) -> None:
    """Record facts about the report itself (title, whether its usage is generated)."""
    _emit(REPORT_MIME, {k: plain(v) for k, v in fields.items()})


def read_report_outputs(notebook: Any) -> tuple[dict[str, dict], dict[str, Any]]:
    """The figures (by name, in order) and report facts recorded in an executed notebook."""
    figures: dict[str, dict] = {}
    meta: dict[str, Any] = {}
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            if FIGURE_MIME in data:
                figure = dict(data[FIGURE_MIME])
                figures[figure.pop("name")] = figure
            if REPORT_MIME in data:
                meta.update(data[REPORT_MIME])
    return figures, meta
