"""The metric registry: the one place a metric's name, meaning, source, grain and formula live.

`docs/metrics.md` is rendered from here (`govuk-kpi docs metrics`), the API's `/metrics` serves
it, the schema's fact columns are named after `DAILY_METRICS` and `EDITION_METRICS`, and each
derived metric's one `Ratio` is compiled to SQL by `kpi.expressions` and evaluated here in Python
only where sums are already in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from govuk_kpi.core.prose_fields import render_markdown as render_prose_fields


@dataclass(frozen=True)
class Ratio:
    """A derived metric written once: sum(numerator) × scale / sum(denominator), capped.

    No value (NULL, None) when the denominator is 0 or missing; a missing numerator counts 0.
    """

    numerator: str
    denominator: tuple[str, ...]
    scale: float = 1.0
    cap: float | None = None

    @property
    def inputs(self) -> tuple[str, ...]:
        """The daily metrics it is computed from."""
        return tuple(dict.fromkeys((self.numerator, *self.denominator)))

    def value(self, sums: Mapping[str, float | None]) -> float | None:
        """The ratio of sums already in memory (the database computes it for queries)."""
        denominator = sum(sums[name] or 0 for name in self.denominator)
        if not denominator:
            return None
        # Divide then scale, as the figures have always been computed in Python.
        share = (sums[self.numerator] or 0) / denominator
        if self.scale != 1:
            share *= self.scale
        return share if self.cap is None else min(self.cap, share)


@dataclass(frozen=True)
class Metric:
    """One metric of the glossary."""

    name: str
    meaning: str
    source: str
    formula: str
    grain: str  # "daily" (summed over days), "edition" (one value per edition) or "derived"
    unit: str = "count"
    ratio: Ratio | None = None  # how a derived metric is computed from daily sums

    @property
    def integer(self) -> bool:
        """Whether its values are whole numbers (counts), not fractions."""
        return self.ratio is None and self.unit not in ("score", "ratio", "percent")


METRICS: tuple[Metric, ...] = (
    Metric("pviews", "Page views", "analytics", "sum of page_view events", "daily"),
    Metric(
        "upviews",
        "Unique page views: sessions or users that viewed the page that day",
        "analytics",
        "distinct users per page per day",
        "daily",
    ),
    Metric(
        "useful_yes",
        "Answers 'yes' to 'Is this page useful?'",
        "analytics events",
        "count of yes events",
        "daily",
    ),
    Metric(
        "useful_no",
        "Answers 'no' to 'Is this page useful?'",
        "analytics events",
        "count of no events",
        "daily",
    ),
    Metric(
        "searches",
        "Site searches started from the page",
        "analytics",
        "count of searches whose previous page is this one",
        "daily",
    ),
    Metric(
        "feedex",
        "Feedback comments left on the page",
        "feedback export",
        "count of comments",
        "daily",
    ),
    Metric(
        "entrances",
        "Sessions that entered the site on the page",
        "analytics",
        "count of sessions",
        "daily",
    ),
    Metric(
        "exits",
        "Sessions that left the site from the page",
        "analytics",
        "count of sessions",
        "daily",
    ),
    Metric(
        "bounces",
        "One-page visits that started on the page",
        "analytics",
        "count of sessions",
        "daily",
    ),
    Metric(
        "page_time", "Time spent on the page", "analytics", "sum of seconds", "daily", "seconds"
    ),
    Metric(
        "words",
        "Words in the edition's body text",
        "content item",
        "count of words of the body HTML's text, all parts",
        "edition",
    ),
    Metric(
        "chars",
        "Characters in the edition's body text",
        "content item",
        "count of characters of the body HTML's text",
        "edition",
    ),
    Metric(
        "sentences",
        "Sentences in the edition's body text",
        "content item",
        "count of sentences of the body HTML's text",
        "edition",
    ),
    Metric(
        "readability",
        "Flesch reading ease of the body text (higher is easier)",
        "content item",
        "206.835 - 1.015 × words/sentences - 84.6 × syllables/words",
        "edition",
        "score",
    ),
    Metric(
        "pdf_count",
        "PDF attachments of the edition",
        "content item",
        "attachments (or linked files) ending .pdf",
        "edition",
    ),
    Metric(
        "doc_count",
        "Other document attachments (Word, spreadsheet, ODF, CSV...)",
        "content item",
        "attachments (or linked files) of a document type other than PDF",
        "edition",
    ),
    Metric(
        "reading_time",
        "Minutes needed to read the body",
        "derived",
        "ceil(words / 200)",
        "edition",
        "minutes",
    ),
    Metric(
        "satisfaction",
        "Share of 'Is this page useful?' answers that were yes",
        "derived",
        "useful_yes / (useful_yes + useful_no); NULL when both are 0; over a period from the "
        "period's sums, never an average of daily ratios",
        "derived",
        "ratio",
        Ratio("useful_yes", ("useful_yes", "useful_no")),
    ),
    Metric(
        "pviews_per_visit",
        "Page views per unique page view",
        "derived",
        "pviews / upviews",
        "derived",
        "ratio",
        Ratio("pviews", ("upviews",)),
    ),
    Metric(
        "searches_per_user",
        "Searches from the page per 100 unique page views",
        "derived",
        "searches / upviews × 100, capped at 100",
        "derived",
        "percent",
        Ratio("searches", ("upviews",), scale=100.0, cap=100.0),
    ),
    Metric(
        "exit_rate",
        "Share of the page's views after which the session left the site",
        "derived",
        "exits / pviews; NULL when pviews is 0",
        "derived",
        "ratio",
        Ratio("exits", ("pviews",)),
    ),
    Metric(
        "bounce_rate",
        "Share of the sessions entering on the page that viewed no other page",
        "derived",
        "bounces / entrances; NULL when entrances is 0",
        "derived",
        "ratio",
        Ratio("bounces", ("entrances",)),
    ),
)

DAILY_METRICS: tuple[str, ...] = tuple(m.name for m in METRICS if m.grain == "daily")
EDITION_METRICS: tuple[str, ...] = tuple(m.name for m in METRICS if m.grain == "edition")
DERIVED_METRICS: tuple[str, ...] = tuple(m.name for m in METRICS if m.grain == "derived")
BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}


RATIOS: dict[str, Ratio] = {m.name: m.ratio for m in METRICS if m.ratio is not None}


def derived_value(name: str, sums: Mapping[str, float | None]) -> float | None:
    """Derived metric `name` of daily sums; KeyError for a name that is not a derived metric."""
    return RATIOS[name].value(sums)


def render_markdown() -> str:
    """The glossary as the Markdown page `docs/metrics.md`."""
    lines = [
        "# Metrics",
        "",
        "Every metric the warehouse, the reports and the API show. Rendered from",
        "`src/govuk_kpi/core/metrics.py` by `govuk-kpi docs metrics`: edit that file, not this.",
        "",
        "| name | meaning | source | formula | grain | unit |",
        "|---|---|---|---|---|---|",
    ]
    for m in METRICS:
        lines.append(
            f"| `{m.name}` | {m.meaning} | {m.source} | {m.formula} | {m.grain} | {m.unit} |"
        )
    return "\n".join(lines) + "\n\n" + render_prose_fields()
