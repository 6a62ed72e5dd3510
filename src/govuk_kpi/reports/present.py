"""How a report shows figures: titles, the generated-data notice, charts with alt text,
captioned tables and plain sentences. No figures are computed here (that is `govuk_kpi.kpi`).

Every helper displays HTML it has escaped itself, so a page or organisation title holding
`<script>` shows as text in the rendered report.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from govuk_kpi.reports.figures import report_meta

GENERATED_USAGE_NOTICE = (
    "The usage figures in this report (page views, unique page views, useful answers, "
    "searches and feedback counts) are GENERATED sample data, seeded and calibrated on real "
    "GOV.UK figures. They are not real GOV.UK usage."
)

# GOV.UK Design System colours: text on white passes WCAG AA (≥ 4.5:1).
TEXT = "#0b0c0c"
BLUE = "#1d70b8"
SECONDARY = "#505a5f"
PALETTE = ("#1d70b8", "#d4351c", "#00703c", "#f47738", "#4c2c92", "#505a5f")


def _show_html(html: str, text: str) -> None:
    try:
        from IPython.display import display
    except ImportError:
        return
    display({"text/html": html, "text/plain": text}, raw=True)


# -- words -----------------------------------------------------------------------------------
def number(value: Any) -> str:
    """12,345 (whole numbers with thousands separators); 'no data' for None/NaN."""
    if value is None or value != value:
        return "no data"
    return f"{round(float(value)):,}"


def percent(value: Any, digits: int = 0) -> str:
    """A ratio as a percentage: 0.683 → '68%'."""
    if value is None or value != value:
        return "no data"
    return f"{float(value) * 100:.{digits}f}%"


def change(value: Any) -> str:
    """A change ratio in words: 'up 5.2%', 'down 3.0%', 'unchanged', 'no earlier figure'."""
    if value is None or value != value:
        return "no earlier figure to compare"
    if abs(value) < 0.0005:
        return "unchanged"
    return f"{'up' if value > 0 else 'down'} {abs(value) * 100:.1f}%"


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
    _show_html(f'<p class="govuk-kpi-sentence">{escape(text)}</p>', text)


def heading(text: str, level: int = 2) -> None:
    """A section heading (h2, or `level` 2..6) shown from code, for sections whose words live
    in the package."""
    level = min(max(int(level), 2), 6)
    _show_html(f"<h{level}>{escape(text)}</h{level}>", text)


# -- the top of every report -------------------------------------------------------------------
def title(text: str, subtitle: str | None = None) -> None:
    """The report's heading (and the title the site index shows for it)."""
    report_meta(title=text, subtitle=subtitle)
    html = f"<h1>{escape(text)}</h1>"
    if subtitle:
        html += f'<p style="color:{SECONDARY};font-size:1.2em">{escape(subtitle)}</p>'
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
            f'<div role="note" aria-label="Generated sample data" style="border-left:10px solid '
            f"#d4351c;padding:0.6em 1em;margin:1em 0;background:#fff;color:{TEXT};"
            f'font-size:1.1em"><strong>Sample data.</strong> {escape(GENERATED_USAGE_NOTICE)}'
            "</div>",
            f"Sample data. {GENERATED_USAGE_NOTICE}",
        )


# -- charts ------------------------------------------------------------------------------------
def chart(figure: Any, alt: str, caption: str | None = None) -> None:
    """Show a matplotlib figure as an embedded PNG (a data URI) with alt text and a caption."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    html = (
        '<figure style="margin:1em 0">'
        f'<img src="data:image/png;base64,{data}" alt="{escape(alt, quote=True)}" '
        'style="max-width:100%;height:auto">'
        + (f"<figcaption>{escape(caption)}</figcaption>" if caption else "")
        + "</figure>"
    )
    _show_html(html, f"[chart] {alt}")


def _axes(width: float = 8, height: float = 3.6):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.spines.top": False, "axes.spines.right": False})
    return plt.subplots(figsize=(width, height))


def _thousands(axis: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


def line_chart(
    frame: Any,
    x: str,
    y: str,
    *,
    label: str,
    alt: str | None = None,
    caption: str | None = None,
    ratio: bool = False,
) -> str:
    """A line of `y` over `x`; alt text says the span, lowest, highest and latest values."""
    fig, ax = _axes()
    values = frame[y].astype("float")
    ax.plot(list(frame[x]), list(values), color=BLUE, linewidth=1.5)
    ax.set_ylabel(label)
    if ratio:
        from matplotlib.ticker import PercentFormatter

        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        _thousands(ax.yaxis)
    ax.grid(axis="y", color="#b1b4b6", linewidth=0.5)
    fig.autofmt_xdate()
    show = percent if ratio else number
    if alt is None and len(frame):
        low, high = values.idxmin(), values.idxmax()
        alt = (
            f"Line chart of {label.lower()} from {day(frame[x].iloc[0])} to "
            f"{day(frame[x].iloc[-1])}: lowest {show(values[low])} ({day(frame[x][low])}), "
            f"highest {show(values[high])} ({day(frame[x][high])}), "
            f"latest {show(values.iloc[-1])}."
        )
    alt = alt or f"Line chart of {label.lower()}: no data."
    chart(fig, alt, caption)
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
    """Horizontal bars of `value` by `category`, largest first; alt text lists them all."""
    top = frame.head(limit)
    fig, ax = _axes(8, max(2.0, 0.35 * len(top) + 0.8))
    names = [str(n) if len(str(n)) <= 50 else str(n)[:47] + "..." for n in top[category]]
    values = [float(v) if v == v and v is not None else 0.0 for v in top[value]]
    ax.barh(names[::-1], values[::-1], color=BLUE)
    ax.set_xlabel(label)
    if ratio:
        from matplotlib.ticker import PercentFormatter

        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        _thousands(ax.xaxis)
    show = percent if ratio else number
    if alt is None:
        parts = [f"{n}: {show(v)}" for n, v in zip(top[category], top[value], strict=True)]
        alt = f"Bar chart of {label.lower()}, largest first. " + "; ".join(parts) + "."
    chart(fig, alt, caption)
    return alt


# -- tables ------------------------------------------------------------------------------------
def _cell(value: Any, kind: str) -> str:
    if kind == "number":
        return number(value)
    if kind == "percent":
        return percent(value)
    if kind == "change":
        return change(value)
    if kind == "day":
        return "" if value is None or value != value else day(str(value))
    if kind == "decimal":
        return "no data" if value is None or value != value else f"{float(value):.1f}"
    return "" if value is None or value != value else str(value)


def table(
    frame: Any,
    columns: Mapping[str, str] | Sequence[str],
    *,
    caption: str,
    formats: Mapping[str, str] | None = None,
    limit: int | None = None,
    empty: str = "None.",
) -> None:
    """An accessible HTML table (caption, header cells with scope), every cell escaped.

    Args:
        columns: column → heading (or a list of columns, headed by their names).
        formats: column → number, percent, change, day, decimal or text.
    """
    headings = dict(columns) if isinstance(columns, Mapping) else {c: c for c in columns}
    formats = formats or {}
    rows = frame if limit is None else frame.head(limit)
    if not len(rows):
        _show_html(f"<p><strong>{escape(caption)}:</strong> {escape(empty)}</p>", empty)
        return
    numeric = {"number", "percent", "change", "decimal"}
    right = ' style="text-align:right"'
    head = "".join(
        f'<th scope="col"{right if formats.get(c) in numeric else ""}>{escape(h)}</th>'
        for c, h in headings.items()
    )
    body = []
    for record in rows.to_dict("records"):
        cells = []
        for c in headings:
            kind = formats.get(c, "text")
            align = ' style="text-align:right"' if kind in numeric else ""
            cells.append(f"<td{align}>{escape(_cell(record.get(c), kind))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    html = (
        '<table class="govuk-kpi-table" style="border-collapse:collapse">'
        f'<caption style="text-align:left;font-weight:bold">{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
    _show_html(html, f"{caption}: {len(rows)} rows")


def save_csv(frame: Any, output_dir: str | Path | None, name: str) -> Path | None:
    """Write `frame` as CSV beside the report (`output_dir`); nothing when no directory."""
    if not output_dir:
        return None
    path = Path(output_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n")
    report_meta(files=[name])
    _show_html(
        f'<p>The full table is in <a href="{escape(name, quote=True)}">{escape(name)}</a>.</p>',
        f"CSV: {name}",
    )
    return path
