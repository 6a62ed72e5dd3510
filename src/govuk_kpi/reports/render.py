"""Executed notebook → stand-alone HTML: input hidden, nothing loaded from the network."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).with_name("templates")
# The project's own nbconvert template (templates/govuk/): GOV.UK Frontend's layout and
# typography, built on nbconvert's lab template for the outputs, minus every script it would
# fetch from a CDN. Its stylesheets are the site's copies (`govuk_kpi.reports.site`).
TEMPLATE_NAME = "govuk"
# A tag that would load something from another host: an absolute or protocol-relative URL in
# src, href or srcset (relative links to the site's own assets are fine; links a reader
# follows, <a href>, are not loads)...
REMOTE = re.compile(
    r"""<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*"""
    r"""\b(?:src|href|srcset|data)\s*=\s*["']?\s*(?:https?:|//)""",
    re.IGNORECASE,
)
# ...or CSS, in a <style> element or a style attribute, that imports or points at one.
STYLES = re.compile(r"""<style\b[^>]*>(.*?)</style>|\bstyle\s*=\s*"([^"]*)\"""", re.DOTALL)
REMOTE_CSS = re.compile(r"""@import\b|url\(\s*["']?\s*(?:https?:|//)""", re.IGNORECASE)
# Tags govuk_markdown gives GOV.UK Frontend's classes (when they have none).
MARKDOWN_CLASSES = {
    "h1": "govuk-heading-xl",
    "h2": "govuk-heading-l",
    "h3": "govuk-heading-m",
    "h4": "govuk-heading-s",
    "p": "govuk-body",
    "ul": "govuk-list govuk-list--bullet",
    "ol": "govuk-list govuk-list--number",
    "a": "govuk-link",
    "blockquote": "govuk-inset-text",
}
_TAG = re.compile(r"<(h[1-4]|p|ul|ol|a|blockquote)(?=[\s>])([^>]*)>")


CHECK_MARK = "NBVAL_CHECK_OUTPUT"


def for_readers(notebook: Any) -> Any:
    """A copy of the executed notebook with only what a reader should see.

    Kept: what cells show on purpose (HTML, charts, errors). Dropped: a cell's bare return
    value (`Out[n]`, e.g. a helper's result echoed as a repr) and the output of the figure
    checks that tests compare (`# NBVAL_CHECK_OUTPUT`), which are for machines.
    """
    import copy

    shown = copy.deepcopy(notebook)
    for cell in shown.cells:
        if cell.cell_type != "code":
            continue
        if CHECK_MARK in cell.source:
            cell.outputs = []
            continue
        cell.outputs = [o for o in cell.outputs if o.get("output_type") != "execute_result"]
    return shown


def govuk_markdown(html: str) -> str:
    """Markdown's HTML with GOV.UK Frontend's classes: headings, paragraphs, lists, links."""

    def classed(match: re.Match[str]) -> str:
        tag, attributes = match.group(1), match.group(2)
        if re.search(r"\bclass\s*=", attributes):
            return match.group(0)
        return f'<{tag} class="{MARKDOWN_CLASSES[tag]}"{attributes}>'

    return _TAG.sub(classed, html)


def _day(value: Any) -> str | None:
    """'31 October 2026' from an ISO date or timestamp; None when there is none."""
    from datetime import date

    if not value:
        return None
    try:
        found = date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
    return f"{found.day} {found:%B %Y}"


def render_html(
    notebook: Any,
    title: str,
    *,
    assets: str = "../assets",
    home: str = "../index.html",
) -> str:
    """The report's HTML (title escaped by the template), as `for_readers` leaves it.

    The page says the date of its data (the notebook's `as_of` parameter) and of its build
    (when papermill ran it), and links to the site's stylesheets at `assets` and its index at
    `home` (relative: a report lives in `<site>/<as-of>/`).
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        extra_template_basedirs=[str(TEMPLATES)],
        template_name=TEMPLATE_NAME,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
    )
    exporter.register_filter("govuk_markdown", govuk_markdown)
    run = notebook.get("metadata", {}).get("papermill", {}) or {}
    as_of = (run.get("parameters") or {}).get("as_of")
    report = {
        "title": title,
        "assets": assets,
        "home": home,
        "as_of": _day(as_of),
        "as_of_iso": str(as_of)[:10] if as_of else "",
        "built": _day(run.get("end_time") or run.get("start_time")),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # figure records have no HTML form, by design
        body, _ = exporter.from_notebook_node(
            for_readers(notebook), resources={"metadata": {"name": title}, "report": report}
        )
    return body


def remote_assets(html: str) -> list[str]:
    """Tags or styles that would load something over the network (there should be none)."""
    found = [m.group(0) for m in REMOTE.finditer(html)]
    for style in STYLES.finditer(html):
        css = style.group(1) or style.group(2) or ""
        found += [f"{m.group(0)}… in {style.group(0)[:80]}" for m in REMOTE_CSS.finditer(css)]
    return found
