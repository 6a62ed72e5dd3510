"""`reports/index.html`: every dated report set, its reports, headline KPIs and links.

One self-contained page (inline CSS, no scripts, nothing from the network). Every title and
figure is escaped, so a page title holding `<script>` shows as text.
"""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path
from typing import Any

DATED = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CSS = """
body { font-family: Arial, Helvetica, sans-serif; color: #0b0c0c; background: #fff;
  max-width: 960px; margin: 0 auto; padding: 1em; line-height: 1.4; }
a { color: #1d70b8; } a:focus { outline: 3px solid #ffdd00; background: #ffdd00; color: #0b0c0c; }
.notice { border-left: 10px solid #d4351c; padding: 0.5em 1em; margin: 1em 0; }
table { border-collapse: collapse; width: 100%; margin-bottom: 2em; }
caption { text-align: left; font-weight: bold; padding: 0.4em 0; }
th, td { text-align: left; padding: 0.4em 0.6em; border-bottom: 1px solid #b1b4b6;
  vertical-align: top; }
.failed { color: #d4351c; font-weight: bold; }
.secondary { color: #505a5f; }
"""


def _value(figure: dict[str, Any]) -> str:
    value, unit = figure.get("value"), figure.get("unit")
    if value is None:
        return "no data"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if unit == "ratio" or figure.get("label", "").lower().startswith("satisfaction"):
            return f"{value * 100:.1f}%"
        return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.2f}"
    return str(value)


def load_manifests(root: Path) -> dict[str, list[dict[str, Any]]]:
    """Manifests by report date, newest date first, reports by name."""
    sets: dict[str, list[dict[str, Any]]] = {}
    if not root.is_dir():
        return sets
    for folder in sorted((p for p in root.iterdir() if DATED.match(p.name)), reverse=True):
        manifests = []
        for path in sorted(folder.glob("*.manifest.json")):
            try:
                manifests.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
        if manifests:
            sets[folder.name] = manifests
    return sets


def render_index(root: Path) -> str:
    sets = load_manifests(root)
    generated = any(m.get("generated_usage") for ms in sets.values() for m in ms)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        "<title>GOV.UK KPI reports</title>",
        f"<style>{CSS}</style></head><body>",
        '<header><h1>GOV.UK KPI reports</h1></header><main id="main">',
    ]
    if generated:
        parts.append(
            '<div class="notice" role="note"><strong>Sample data.</strong> Reports marked '
            "“generated usage” show page views, useful answers, searches and feedback counts "
            "that are generated sample data, not real GOV.UK usage.</div>"
        )
    if not sets:
        parts.append("<p>No reports have been built yet: run <code>make reports</code>.</p>")
    for as_of, manifests in sets.items():
        parts.append(f'<section aria-labelledby="set-{escape(as_of)}">')
        parts.append(f'<h2 id="set-{escape(as_of)}">Reports as of {escape(as_of)}</h2>')
        parts.append(
            f"<table><caption>{len(manifests)} reports as of {escape(as_of)}, with their "
            'headline figures</caption><thead><tr><th scope="col">Report</th>'
            '<th scope="col">Headline figures</th><th scope="col">Files</th></tr></thead><tbody>'
        )
        for m in manifests:
            name = str(m.get("report", ""))
            href = f"{as_of}/{m.get('outputs', {}).get('html') or name + '.html'}"
            title = escape(str(m.get("title") or name))
            notes = []
            if m.get("subtitle"):
                notes.append(f'<span class="secondary">{escape(str(m["subtitle"]))}</span>')
            if m.get("generated_usage"):
                notes.append('<span class="secondary">generated usage</span>')
            if m.get("status") == "failed":
                notes.append(f'<span class="failed">failed: {escape(str(m.get("error")))}</span>')
            figures = [
                f"<li>{escape(str(f.get('label') or n))}: <strong>{escape(_value(f))}</strong></li>"
                for n, f in (m.get("figures") or {}).items()
                if f.get("headline")
            ]
            files = [f'<a href="{escape(href, quote=True)}">report</a>']
            files += [
                f'<a href="{escape(f"{as_of}/{f}", quote=True)}">{escape(f)}</a>'
                for f in m.get("outputs", {}).get("files", [])
            ]
            files.append(
                f'<a href="{escape(f"{as_of}/{name}.manifest.json", quote=True)}">manifest</a>'
            )
            parts.append(
                f'<tr><th scope="row"><a href="{escape(href, quote=True)}">{title}</a>'
                + ("<br>" + "<br>".join(notes) if notes else "")
                + "</th>"
                + f"<td><ul>{''.join(figures)}</ul></td>"
                + f"<td>{' · '.join(files)}</td></tr>"
            )
        parts.append("</tbody></table></section>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def write_index(root: str | Path) -> Path:
    """Write `<root>/index.html` from the manifests under `<root>/<date>/`."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / "index.html"
    path.write_text(render_index(root), encoding="utf-8")
    return path
