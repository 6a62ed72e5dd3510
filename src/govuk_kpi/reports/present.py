"""How a report shows figures: titles, the generated-data notice, charts with alt text,
captioned tables and plain sentences. No figures are computed here (that is `govuk_kpi.kpi`).

Every helper displays HTML it has escaped itself, so a page or organisation title holding
`<script>` shows as text in the rendered report. The HTML uses GOV.UK Frontend's classes
(`govuk-body`, `govuk-table`, the warning text...): the report template
(`templates/govuk/`) brings its stylesheet. Figures are said the GOV.UK way: 12,345 (no `.0`
on counts), ratios as percentages, changes of a ratio in percentage points, changes of a count
in per cent.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from govuk_kpi.core.metrics import BY_NAME
from govuk_kpi.reports.figures import report_meta

GENERATED_USAGE_NOTICE = (
    "The usage figures in this report (page views, unique page views, useful answers, "
    "searches and feedback counts) are GENERATED sample data, seeded and calibrated on real "
    "GOV.UK figures. They are not real GOV.UK usage."
)

# GOV.UK Design System colours: text on white passes WCAG AA (≥ 4.5:1); lines and bars pass
# the 3:1 of non-text contrast.
TEXT = "#0b0c0c"
BLUE = "#1d70b8"
DARK_BLUE = "#003078"
LIGHT_BLUE = "#5694ca"
SECONDARY = "#484949"
GRID = "#b1b4b6"
PALETTE = ("#1d70b8", "#d4351c", "#00703c", "#f47738", "#4c2c92", "#505a5f")
# Charts are drawn twice: wide for screens from GOV.UK Frontend's tablet breakpoint (641 px)
# up, narrow (and larger type) for phones, so they stay readable at 320 px.
NARROW_MEDIA = "(max-width: 40.0525em)"
WIDE_INCHES, NARROW_INCHES = 8.0, 3.6


def _show_html(html: str, text: str) -> None:
    try:
        from IPython.display import display
    except ImportError:
        return
    display({"text/html": html, "text/plain": text}, raw=True)


# -- words -----------------------------------------------------------------------------------
NO_DATA = "no data"
NO_EARLIER = "no earlier figure to compare"


def is_missing(value: Any) -> bool:
    """True for None and NaN: a figure there is none of."""
    return value is None or value != value


def number(value: Any) -> str:
    """12,345 (whole numbers with thousands separators); 'no data' for None/NaN."""
    return NO_DATA if is_missing(value) else f"{round(float(value)):,}"


def percent(value: Any, digits: int = 0) -> str:
    """A ratio as a percentage: 0.683 → '68%'."""
    return NO_DATA if is_missing(value) else f"{float(value) * 100:.{digits}f}%"


def change(value: Any) -> str:
    """A change ratio in words: 'up 5.2%', 'down 3.0%', 'unchanged', 'no earlier figure'."""
    if is_missing(value):
        return NO_EARLIER
    if abs(value) < 0.0005:
        return "unchanged"
    return f"{'up' if value > 0 else 'down'} {abs(value) * 100:.1f}%"


def points(value: Any) -> str:
    """A change of a ratio in percentage points: 0.0012 → 'up 0.1 percentage points'."""
    if is_missing(value):
        return NO_EARLIER
    shown = round(abs(float(value)) * 100, 1)
    if shown == 0:
        return "unchanged"
    unit = "percentage point" if shown == 1 else "percentage points"
    return f"{'up' if value > 0 else 'down'} {shown:g} {unit}"


def decimal(value: Any, digits: int = 1) -> str:
    """A figure that is not a count: 6.1 (thousands separated); 'no data' for None/NaN."""
    return NO_DATA if is_missing(value) else f"{float(value):,.{digits}f}"


def metric_unit(name: str) -> str:
    """The glossary's unit of a metric (`satisfaction` → 'ratio'); 'count' for the rest."""
    metric = BY_NAME.get(name.removesuffix("_previous"))
    return metric.unit if metric else "count"


def figure_words(value: Any, unit: str | None = "count") -> str:
    """A figure as readers see it, by its unit: count 12,345; ratio 68.2%; percent (per
    hundred) 6.1; anything else one decimal."""
    if is_missing(value):
        return NO_DATA
    if unit in (None, "count", "seconds", "minutes"):
        if float(value).is_integer() or abs(float(value)) >= 100:
            return number(value)
        return decimal(value)
    if unit == "ratio":
        return percent(value, 1)
    return decimal(value)


def day(value: Any) -> str:
    """'31 October 2026' from a date, datetime or ISO text."""
    from datetime import date

    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.day} {value:%B %Y}"


def say(text: str) -> None:
    """Show a plain sentence that reads a figure aloud (escaped).

    Returns nothing, so a notebook cell ending in `say(...)` shows the sentence once.
    """
    _show_html(f'<p class="govuk-body govuk-kpi-sentence">{escape(text)}</p>', text)


def heading(text: str, level: int = 2) -> None:
    """A section heading (h2, or `level` 2..6) shown from code, for sections whose words live
    in the package."""
    level = min(max(int(level), 2), 6)
    size = {2: "l", 3: "m"}.get(level, "s")
    _show_html(f'<h{level} class="govuk-heading-{size}">{escape(text)}</h{level}>', text)


# -- the top of every report -------------------------------------------------------------------
def title(text: str, subtitle: str | None = None) -> None:
    """The report's heading (and the title the site index shows for it)."""
    report_meta(title=text, subtitle=subtitle)
    html = f'<h1 class="govuk-heading-xl govuk-!-margin-bottom-2">{escape(text)}</h1>'
    if subtitle:
        html += f'<p class="govuk-body-l app-secondary">{escape(subtitle)}</p>'
    _show_html(html, text if not subtitle else f"{text}\n{subtitle}")


def notice(warehouse: Any) -> None:
    """State prominently when the warehouse's usage figures are generated sample data.

    Records whether they are (`Warehouse.usage_is_generated()`) in the report's metadata;
    returns nothing, so the cell shows the notice alone.
    """
    generated = bool(warehouse.usage_is_generated())
    report_meta(generated=generated)
    if generated:
        _show_html(
            '<div class="app-notice" role="note" aria-label="Generated sample data">'
            '<div class="govuk-warning-text">'
            '<span class="govuk-warning-text__icon" aria-hidden="true">!</span>'
            '<strong class="govuk-warning-text__text">'
            '<span class="govuk-visually-hidden">Warning</span> '
            f"Sample data. {escape(GENERATED_USAGE_NOTICE)}</strong></div></div>",
            f"Sample data. {GENERATED_USAGE_NOTICE}",
        )


# -- charts ------------------------------------------------------------------------------------
def _png(figure: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def chart(figure: Any, alt: str, caption: str | None = None, *, narrow: Any = None) -> None:
    """Show a matplotlib figure as an embedded PNG (a data URI) with alt text and a caption.

    `narrow`: the same chart drawn for phones, shown instead of `figure` on screens narrower
    than GOV.UK Frontend's tablet breakpoint. Either way the image never overflows its column.
    """
    wide = _png(figure)
    source = ""
    if narrow is not None:
        source = f'<source media="{NARROW_MEDIA}" srcset="data:image/png;base64,{_png(narrow)}">'
    html = (
        '<figure class="app-figure">'
        f'<picture>{source}<img class="app-figure__image" src="data:image/png;base64,{wide}" '
        f'alt="{escape(alt, quote=True)}"></picture>'
        + (
            f'<figcaption class="govuk-body-s app-figure__caption">{escape(caption)}</figcaption>'
            if caption
            else ""
        )
        + "</figure>"
    )
    _show_html(html, f"[chart] {alt}")


def _axes(width: float = WIDE_INCHES, height: float = 3.6, *, narrow: bool = False):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = 12 if narrow else 11
    plt.rcParams.update(
        {
            "font.size": size,
            "axes.titlesize": size,
            "axes.labelsize": size,
            "legend.fontsize": size - 1,
            "legend.frameon": False,
            "text.color": TEXT,
            "axes.labelcolor": TEXT,
            "axes.edgecolor": TEXT,
            "xtick.color": TEXT,
            "ytick.color": TEXT,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt.subplots(figsize=(width, height))


def _thousands(axis: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


def _compact(axis: Any) -> None:
    """Tick labels short enough for a phone: 1.2m, 800k, 950."""
    from matplotlib.ticker import FuncFormatter

    def short(v: float, _pos: Any) -> str:
        if abs(v) >= 1_000_000:
            return f"{v / 1_000_000:,.1f}m".replace(".0m", "m")
        if abs(v) >= 1_000:
            return f"{v / 1_000:,.0f}k"
        return f"{v:,.0f}"

    axis.set_major_formatter(FuncFormatter(short))


def _shorten(text: Any, length: int) -> str:
    text = str(text)
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _dates(values: Any) -> Any:
    """The values as datetimes (numpy datetime64) when they are all dates, else None."""
    import pandas as pd

    try:
        found = pd.to_datetime(pd.Series(list(values)), errors="coerce")
    except (TypeError, ValueError):
        return None
    if not len(found) or found.isna().any():
        return None
    return found.to_numpy()


def _date_axis(ax: Any, dates: Any, narrow: bool) -> None:
    import matplotlib.dates as mdates
    import numpy as np

    span = (dates.max() - dates.min()) / np.timedelta64(1, "D") if len(dates) else 0
    if span > 92:
        months = max(1, round(span / 30.4 / (3 if narrow else 6)))
        ax.xaxis.set_major_locator(mdates.MonthLocator(interval=months))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    else:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=4 if narrow else 8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%-d %b"))


def _is_daily(dates: Any) -> bool:
    import numpy as np

    if dates is None or len(dates) < 3:
        return False
    steps = np.diff(dates) / np.timedelta64(1, "D")
    return bool(np.median(steps) == 1)


def _value_axis(axis: Any, *, ratio: bool, narrow: bool) -> None:
    """A value axis's tick labels: per cent for a ratio, else 1.2m/800k on a phone, 12,345
    on a screen."""
    if ratio:
        from matplotlib.ticker import PercentFormatter

        axis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    elif narrow:
        _compact(axis)
    else:
        _thousands(axis)


NOT_FROM_ZERO = "The vertical axis does not start at zero."


@dataclass(frozen=True)
class _Line:
    """What a line chart draws: the values over `xs` (dates, or the x values as text), and
    their rolling average when the series is daily and long enough."""

    xs: Any
    dates: Any  # the x values as datetimes, or None when they are not all dates
    values: Any
    average: Any  # the `rolling`-day rolling average, or None
    rolling: int | None


def _line(frame: Any, x: str, y: str, rolling: int | None) -> _Line:
    values = frame[y].astype("float").reset_index(drop=True)
    dates = _dates(frame[x])
    average = None
    if rolling and _is_daily(dates) and len(values) >= 2 * rolling:
        average = values.rolling(rolling).mean()
    xs = dates if dates is not None else [str(v) for v in frame[x]]
    return _Line(xs, dates, values, average, rolling)


def _draw_line(line: _Line, *, label: str, ratio: bool, zero: bool, narrow: bool) -> Any:
    """The line chart drawn for phones (`narrow`) or wider screens."""
    fig, ax = _axes(NARROW_INCHES if narrow else WIDE_INCHES, 3.4 if narrow else 3.6, narrow=narrow)
    values = line.values
    if line.average is not None:
        ax.plot(line.xs, values, color=LIGHT_BLUE, linewidth=0.8, label="Each day")
        ax.plot(
            line.xs,
            line.average,
            color=DARK_BLUE,
            linewidth=2.5,
            label=f"{line.rolling}-day average",
        )
        ax.legend(loc="lower left", ncols=2)
    else:
        ax.plot(line.xs, values, color=BLUE, linewidth=2.5, marker="o", markersize=4)
    _value_axis(ax.yaxis, ratio=ratio, narrow=narrow)
    if zero:
        high = float(values.max()) if len(values) and values.notna().any() else 0.0
        ax.set_ylim(0, 1.0 if ratio else max(high * 1.1, 1.0))
    else:
        ax.text(0.0, 1.02, NOT_FROM_ZERO, transform=ax.transAxes, color=SECONDARY)
    ax.set_ylabel(label)
    ax.grid(axis="y", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    if line.dates is not None:
        _date_axis(ax, line.dates, narrow)
    return fig


def _line_alt(
    line: _Line, when: list[Any], *, label: str, show: Callable[[Any], str], zero: bool
) -> str | None:
    """Alt text from the data: span, lowest, highest, latest, the average; None when there
    is no figure to say."""
    values, average = line.values, line.average
    if not len(when) or not values.notna().any():
        return None
    low, high = values.idxmin(), values.idxmax()
    alt = (
        f"Line chart of {label.lower()} from {day(when[0])} to {day(when[-1])}: lowest "
        f"{show(values[low])} ({day(when[low])}), highest {show(values[high])} "
        f"({day(when[high])}), latest {show(values.iloc[-1])}."
    )
    if average is not None:
        alt += (
            f" The {line.rolling}-day average went from {show(average.dropna().iloc[0])} to "
            f"{show(average.iloc[-1])}."
        )
    return alt + (" The vertical axis starts at zero." if zero else f" {NOT_FROM_ZERO}")


def line_chart(
    frame: Any,
    x: str,
    y: str,
    *,
    label: str,
    alt: str | None = None,
    caption: str | None = None,
    ratio: bool = False,
    rolling: int | None = 7,
    zero: bool = True,
) -> str:
    """A line of `y` over `x`; alt text says the span, lowest, highest and latest values.

    Args:
        label: the metric and its grain, e.g. "Page views a day" (the axis label).
        ratio: `y` is a ratio: the axis reads in per cent, from 0% to 100%.
        rolling: a daily series also gets its `rolling`-day rolling average, drawn bold and
            labelled (None: no average).
        zero: the value axis starts at zero, so the chart does not turn a wobble into a cliff.
            False starts it near the data, and the chart and its caption say so.

    Returns:
        The alt text.
    """
    line = _line(frame, x, y, rolling)
    show = (lambda v: percent(v, 1)) if ratio else number
    if alt is None:
        alt = _line_alt(line, list(frame[x]), label=label, show=show, zero=zero)
    alt = alt or f"Line chart of {label.lower()}: no data."
    if not zero:
        caption = f"{caption} {NOT_FROM_ZERO}" if caption else NOT_FROM_ZERO
    wide = _draw_line(line, label=label, ratio=ratio, zero=zero, narrow=False)
    narrow = _draw_line(line, label=label, ratio=ratio, zero=zero, narrow=True)
    chart(wide, alt, caption, narrow=narrow)
    return alt


def bar_chart(
    frame: Any,
    category: str,
    value: str,
    *,
    label: str,
    alt: str | None = None,
    caption: str | None = None,
    limit: int = 10,
    ratio: bool = False,
) -> str:
    """Horizontal bars of `value` by `category`, largest first, each labelled with its value,
    from zero; alt text lists them all. On phones each name sits above its bar."""
    top = frame.head(limit)
    names = [str(n) for n in top[category]]
    values = [float(v) if v is not None and v == v else 0.0 for v in top[value]]
    show = percent if ratio else number
    count = len(values)

    def draw(narrow: bool) -> Any:
        positions = list(range(count - 1, -1, -1))  # the first row at the top
        if narrow:
            fig, ax = _axes(NARROW_INCHES, max(2.0, 0.62 * count + 0.7), narrow=True)
            ax.barh(positions, values, height=0.42, color=BLUE)
            for position, name in zip(positions, names, strict=True):
                ax.text(0, position + 0.3, _shorten(name, 38), va="bottom", ha="left")
            ax.set_yticks([])
            ax.spines["left"].set_visible(False)
            ax.set_ylim(-0.5, count - 0.1)
        else:
            fig, ax = _axes(WIDE_INCHES, max(2.0, 0.4 * count + 0.8))
            ax.barh(positions, values, color=BLUE)
            ax.set_yticks(positions, [_shorten(n, 50) for n in names])
        for position, amount in zip(positions, values, strict=True):
            ax.text(amount, position, f" {show(amount)}", va="center", ha="left", fontsize=10)
        ax.set_xlim(0, (max(values) if values and max(values) > 0 else 1.0) * 1.25)
        ax.set_xlabel(label)
        _value_axis(ax.xaxis, ratio=ratio, narrow=narrow)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(3 if narrow else 4))
        return fig

    if alt is None:
        parts = [f"{n}: {show(v)}" for n, v in zip(top[category], top[value], strict=True)]
        alt = f"Bar chart of {label.lower()}, largest first. " + "; ".join(parts) + "."
    chart(draw(False), alt, caption, narrow=draw(True))
    return alt


# -- tables ------------------------------------------------------------------------------------
# Formats whose cells are figures: right-aligned (GOV.UK's numeric cells).
NUMERIC = {"number", "count", "percent", "ratio", "change", "points", "decimal"}
# Columns of GOV.UK paths: they wrap anywhere rather than widen the table.
PATH_COLUMNS = {"base_path", "path"}
GOVUK = "https://www.gov.uk"


# How a cell of each format is said; a text cell (or any other format) as it is, blank when
# there is no value.
_CELL_WORDS: dict[str, Callable[[Any], str]] = {
    "number": number,
    "count": number,
    "percent": percent,
    "ratio": lambda value: percent(value, 1),
    "change": change,
    "points": points,
    "day": lambda value: "" if is_missing(value) else day(str(value)),
    "decimal": decimal,
}


def _cell(value: Any, kind: str) -> str:
    words = _CELL_WORDS.get(kind)
    if words is not None:
        return words(value)
    return "" if is_missing(value) else str(value)


def _default_kind(column: str, values: Any) -> str:
    """How to show a column no format was given for: text stays text; a figure is said by its
    metric's unit (`pviews` 12,345; `satisfaction` 68.2%; `*_change` up 5.2%)."""
    import pandas as pd

    if values is None or not pd.api.types.is_numeric_dtype(values):
        return "text"
    if pd.api.types.is_bool_dtype(values):
        return "text"
    if column.endswith("_change"):
        return "change"
    unit = metric_unit(column)
    if unit == "ratio":
        return "ratio"
    if unit == "count" and all(float(v).is_integer() for v in values.dropna()):
        return "number"
    return "number" if unit == "count" and column in BY_NAME else "decimal"


def _page_link(text: str, path: Any) -> str:
    """The text, linked to the page on www.gov.uk when `path` is a GOV.UK path."""
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        return escape(text)
    return f'<a class="govuk-link" href="{escape(GOVUK + path, quote=True)}">{escape(text)}</a>'


def _table_html(
    headings: Mapping[str, str],
    rows: list[dict[str, tuple[str, bool]]],
    caption: str,
    *,
    numeric: set[str],
) -> str:
    """A GOV.UK table in a region that scrolls sideways on its own on small screens.
    `rows`: column → (cell HTML, already escaped; whether it wraps anywhere)."""

    def header_class(column: str) -> str:
        return "govuk-table__header" + (
            " govuk-table__header--numeric" if column in numeric else ""
        )

    def cell_class(column: str, wrap: bool) -> str:
        found = "govuk-table__cell"
        if column in numeric:
            found += " govuk-table__cell--numeric"
        if column in PATH_COLUMNS:
            found += " app-table__cell--path"
        elif wrap:
            found += " app-table__cell--wrap"
        return found

    head = "".join(
        f'<th scope="col" class="{header_class(c)}">{escape(h)}</th>' for c, h in headings.items()
    )
    body = "".join(
        '<tr class="govuk-table__row">'
        + "".join(f'<td class="{cell_class(c, row[c][1])}">{row[c][0]}</td>' for c in headings)
        + "</tr>"
        for row in rows
    )
    # The caption is the table's own (for screen readers) and shown above the region, whole,
    # however far a wide table scrolls on a phone.
    return (
        f'<p class="govuk-body govuk-!-font-weight-bold app-table-caption" aria-hidden="true">'
        f"{escape(caption)}</p>"
        f'<div class="app-table-wrapper" role="region" aria-label="{escape(caption, quote=True)}" '
        'tabindex="0"><table class="govuk-table">'
        f'<caption class="govuk-visually-hidden">{escape(caption)}</caption>'
        f'<thead class="govuk-table__head"><tr class="govuk-table__row">{head}</tr>'
        f'</thead><tbody class="govuk-table__body">{body}</tbody></table></div>'
    )


def table(
    frame: Any,
    columns: Mapping[str, str] | Sequence[str],
    *,
    caption: str,
    formats: Mapping[str, str] | None = None,
    limit: int | None = None,
    empty: str = "None.",
    links: Mapping[str, str] | None = None,
    total: int | None = None,
) -> None:
    """An accessible GOV.UK table (caption, header cells with scope), every cell escaped: text
    left-aligned, figures right-aligned, page titles linked to the pages on www.gov.uk.

    Args:
        columns: column → heading (or a list of columns, headed by their names).
        formats: column → number (12,345), percent (68%), ratio (68.2%), change (up 5.2%),
            points (up 0.1 percentage points), decimal (6.1), day or text. A figure column
            not named here is said by its metric's unit (the glossary's), text as text.
        limit: show at most this many rows; the caption then says "10 of 174 shown".
        links: column → the column of GOV.UK paths its text links to; by default a `title`
            links to its row's `base_path` on https://www.gov.uk.
        total: how many rows there are in all when `frame` is already cut (a kpi frame's
            `attrs["total_results"]` says so by itself).
    """
    headings = dict(columns) if isinstance(columns, Mapping) else {c: c for c in columns}
    formats = formats or {}
    if links is None:
        links = {"title": "base_path"} if "base_path" in getattr(frame, "columns", ()) else {}
    rows = frame if limit is None else frame.head(limit)
    if not len(rows):
        _show_html(
            f'<p class="govuk-body"><strong>{escape(caption)}:</strong> {escape(empty)}</p>',
            empty,
        )
        return
    attrs = getattr(frame, "attrs", {}) or {}
    total = max(total or 0, int(attrs.get("total_results") or 0), len(frame))
    if len(rows) < total:
        caption = f"{caption} ({number(len(rows))} of {number(total)} shown)"
    kinds = {
        c: formats.get(c) or _default_kind(c, rows[c] if c in rows.columns else None)
        for c in headings
    }
    numeric = {c for c in headings if kinds[c] in NUMERIC}
    shown = []
    for record in rows.to_dict("records"):
        cells = {}
        for c in headings:
            kind = kinds[c]
            text = _cell(record.get(c), kind)
            html = _page_link(text, record.get(links[c])) if c in links else escape(text)
            cells[c] = (html, kind == "text")
        shown.append(cells)
    _show_html(
        _table_html(headings, shown, caption, numeric=numeric), f"{caption}: {len(rows)} rows"
    )


def trend_table(
    trend: Any,
    labels: Mapping[str, str],
    *,
    caption: str,
    units: Mapping[str, str] | None = None,
) -> None:
    """Figures this period against the period before, one row each, each said in its unit:
    counts 12,345 and their change in per cent, ratios 68.2% and their change in percentage
    points.

    Args:
        trend: one row per figure (its name in `figure` or the index) with `current`,
            `previous` and `change` (a ratio), as `Warehouse.headline_trend` returns.
        labels: figure → words, in the order shown.
        units: figure → unit (count, ratio, percent); by default the metric glossary's.
    """
    frame = trend.set_index("figure") if "figure" in trend.columns else trend
    units = dict(units or {})
    headings = {
        "figure": "Figure",
        "current": "This period",
        "previous": "Period before",
        "change": "Change",
    }
    rows = []
    for name, label in labels.items():
        row = frame.loc[name]
        unit = units.get(name) or metric_unit(name)
        moved = (
            points(row["current"] - row["previous"]) if unit == "ratio" else change(row["change"])
        )
        rows.append(
            {
                "figure": (escape(label), True),
                "current": (escape(figure_words(row["current"], unit)), False),
                "previous": (escape(figure_words(row["previous"], unit)), False),
                "change": (escape(moved), False),
            }
        )
    numeric = {"current", "previous", "change"}
    _show_html(
        _table_html(headings, rows, caption, numeric=numeric), f"{caption}: {len(rows)} rows"
    )


def save_csv(frame: Any, output_dir: str | Path | None, name: str) -> Path | None:
    """Write `frame` as CSV beside the report (`output_dir`); nothing when no directory."""
    if not output_dir:
        return None
    path = Path(output_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n")
    report_meta(files=[name])
    _show_html(
        f'<p class="govuk-body">The full table is in <a class="govuk-link" '
        f'href="{escape(name, quote=True)}">{escape(name)}</a>, a CSV file that opens in '
        "a spreadsheet.</p>",
        f"CSV: {name}",
    )
    return path
