"""Executed notebook → stand-alone HTML: input hidden, nothing loaded from the network."""

from __future__ import annotations

import re
import warnings
from typing import Any

from jinja2 import DictLoader

TEMPLATE = "govuk_kpi_report.html.j2"
# The lab template, minus every script it would fetch from a CDN (require.js, MathJax,
# mermaid, widgets); plus readable, high-contrast type.
TEMPLATE_SOURCE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<link rel="icon" href="data:,">
<style>
body { font-family: Arial, Helvetica, sans-serif; color: #0b0c0c; background: #ffffff; }
.jp-Notebook { max-width: 960px; margin: 0 auto; }
.jp-RenderedHTMLCommon table { font-size: 0.95em; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th { padding: 0.3em 0.6em;
  border-bottom: 1px solid #b1b4b6; }
.jp-RenderedHTMLCommon caption { padding: 0.4em 0; }
a { color: #1d70b8; }
</style>
{%- endblock extra_css -%}
"""
REMOTE = re.compile(
    r"""<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*["']?https?:"""
)


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


def render_html(notebook: Any, title: str) -> str:
    """The report's HTML (title escaped by the template), as `for_readers` leaves it."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        extra_loaders=[DictLoader({TEMPLATE: TEMPLATE_SOURCE})],
        template_file=TEMPLATE,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # figure records have no HTML form, by design
        body, _ = exporter.from_notebook_node(
            for_readers(notebook), resources={"metadata": {"name": title}}
        )
    return body


def remote_assets(html: str) -> list[str]:
    """Tags that would load something over the network (there should be none)."""
    return [m.group(0) for m in REMOTE.finditer(html)]
