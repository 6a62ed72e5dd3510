"""How reports say figures and show tables (govuk_kpi.reports.present), the site's assets and
the check that a page fetches nothing from the network: fast, no notebook, no browser."""

from __future__ import annotations

import pandas as pd
import pytest

from govuk_kpi.core.errors import ConfigError
from govuk_kpi.reports import present
from govuk_kpi.reports.manifest import Figure
from govuk_kpi.reports.render import govuk_markdown, remote_assets
from govuk_kpi.reports.site import _value, offline_css


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    found: list[str] = []
    monkeypatch.setattr(present, "_show_html", lambda html, _text: found.append(html))
    return found


def test_counts_ratios_and_changes_are_said_the_govuk_way() -> None:
    assert present.number(34183106.0) == "34,183,106"
    assert present.figure_words(218.0) == "218"
    assert present.figure_words(0.682, "ratio") == "68.2%"
    assert present.figure_words(6.1234, "percent") == "6.1"
    assert present.figure_words(None, "ratio") == "no data"
    assert present.points(0.6831 - 0.6822) == "up 0.1 percentage points"
    assert present.points(-0.01) == "down 1 percentage point"
    assert present.points(0.00001) == "unchanged"
    assert present.change(-0.006) == "down 0.6%"
    assert present.metric_unit("satisfaction") == "ratio"
    assert present.metric_unit("pages") == "count"


def test_index_headlines_use_the_units_recorded_or_the_label() -> None:
    assert _value(Figure.from_dict({"value": 34183106.0, "unit": "count"})) == "34,183,106"
    assert _value(Figure.from_dict({"value": 0.682, "label": "Satisfaction"})) == "68.2%"
    assert _value(Figure.from_dict({"value": 12.0, "label": "Working well"})) == "12"
    assert (
        _value(Figure.from_dict({"value": 0.051, "unit": "ratio", "label": "Page views: change"}))
        == "up 5.1%"
    )
    assert _value(Figure.from_dict({"value": None})) == "no data"


def test_a_table_links_titles_aligns_figures_and_says_when_it_is_cut(shown) -> None:
    frame = pd.DataFrame(
        {
            "title": ["<script>x</script>", "Tax"],
            "base_path": ["/a", "/b"],
            "pviews": [1234.0, 56.0],
        }
    )
    frame.attrs["total_results"] = 174
    present.table(frame, {"title": "Page", "pviews": "Page views"}, caption="Top", limit=1)
    html = shown[-1]
    assert (
        '<a class="govuk-link" href="https://www.gov.uk/a">&lt;script&gt;x&lt;/script&gt;</a>'
        in (html)
    )
    assert "Top (1 of 174 shown)" in html
    assert 'class="govuk-table__cell govuk-table__cell--numeric">1,234<' in html
    assert 'class="govuk-table__header govuk-table__header--numeric">Page views<' in html
    assert "Tax" not in html and "<script>" not in html


def test_a_trend_table_says_a_ratio_in_per_cent_and_its_change_in_points(shown) -> None:
    trend = pd.DataFrame(
        {
            "figure": ["pviews", "satisfaction"],
            "current": [34183106.0, 0.6831],
            "previous": [34385105.0, 0.6822],
            "change": [-0.0059, 0.0013],
        }
    )
    present.trend_table(
        trend, {"pviews": "Page views", "satisfaction": "Satisfaction"}, caption="Headline"
    )
    html = shown[-1]
    assert ">34,183,106<" in html and ">down 0.6%<" in html
    assert ">68.3%<" in html and ">up 0.1 percentage points<" in html
    assert ".0<" not in html and ">0.7<" not in html


def test_charts_start_at_zero_and_daily_series_get_a_rolling_average(shown) -> None:
    days = pd.date_range("2026-01-01", periods=60, freq="D")
    frame = pd.DataFrame({"date": days.date, "pviews": [1000.0 + (i % 7) * 100 for i in range(60)]})
    alt = present.line_chart(frame, "date", "pviews", label="Page views a day")
    assert "7-day average" in alt and "starts at zero" in alt
    assert shown[-1].count("data:image/png;base64,") == 2  # narrow and wide
    assert 'media="(max-width: 40.0525em)"' in shown[-1]
    alt = present.line_chart(frame, "date", "pviews", label="Page views a day", zero=False)
    assert "does not start at zero" in alt and "does not start at zero" in shown[-1]


def test_markdown_gets_govuk_classes() -> None:
    html = govuk_markdown('<h2 id="x">Top</h2><p>Words <a href="y">link</a></p><p class="k">')
    assert html == (
        '<h2 class="govuk-heading-l" id="x">Top</h2><p class="govuk-body">Words '
        '<a class="govuk-link" href="y">link</a></p><p class="k">'
    )


def test_remote_loads_are_found_and_local_assets_are_not() -> None:
    assert remote_assets('<link rel="stylesheet" href="../assets/a.css">') == []
    assert remote_assets('<a href="https://www.gov.uk/tax">Tax</a>') == []
    assert remote_assets('<img src="data:image/png;base64,AAA=">') == []
    assert remote_assets('<script src="https://cdn.example/x.js"></script>')
    assert remote_assets('<link rel="stylesheet" href="//cdn.example/x.css">')
    assert remote_assets('<source srcset="https://cdn.example/x.png">')
    assert remote_assets("<style>@import 'x.css';</style>")
    assert remote_assets('<div style="background:url(https://x.example/a.png)">')
    assert remote_assets("<p>url(https://x.example) in words</p>") == []


def test_govuk_frontend_css_is_copied_without_fonts_or_crown() -> None:
    css = (
        '@font-face{font-family:GDS Transport;src:url(/assets/fonts/light.woff2) format("woff2")}'
        ".a{font-family:GDS Transport,arial,sans-serif}.b{font-family:GDS Transport}"
        ".c:before{content:'';background-image:url(/assets/images/govuk-crest.svg);color:red}"
    )
    assert offline_css(css) == (
        ".a{font-family:arial,sans-serif}.b{font-family:arial,sans-serif}"
        ".c:before{content:'';color:red}"
    )
    with pytest.raises(ConfigError):
        offline_css(".d{background:url(/assets/other.png)}")
