"""The report site: `reports/index.html` (every dated report set, its reports grouped, their
headline KPIs, links) and `reports/assets/` (GOV.UK Frontend's stylesheet and the site's own).

The pages use GOV.UK Frontend, installed from the npm registry by `make install` (`npm ci`,
package.json) and copied into the site by every build: no script, stylesheet or font comes from
the network, and the site works offline. The copy leaves out what is only for services on
gov.uk: the GDS Transport fonts (text falls back to Arial/Helvetica) and the crown. Every title
and figure is escaped, so a page title holding `<script>` shows as text.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

from govuk_kpi.core.errors import ConfigError
from govuk_kpi.reports.manifest import MANIFEST_SUFFIX, Figure, Manifest, read_manifest
from govuk_kpi.reports.present import change, day, figure_words
from govuk_kpi.reports.render import TEMPLATES

DATED = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ASSETS = "assets"
FRONTEND = "govuk-frontend"
FRONTEND_CSS = "dist/govuk/govuk-frontend.min.css"
SITE_CSS = TEMPLATES / "govuk" / "static" / "report-site.css"
# Where node_modules/ is looked for: $GOVUK_KPI_NODE_MODULES, the working directory, the project.
NODE_MODULES_VARIABLE = "GOVUK_KPI_NODE_MODULES"
PROJECT = Path(__file__).resolve().parents[3]
# Kinds of report, in the order the index shows them: (notebook, heading).
GROUPS = (
    ("kpi_overview", "Site overview"),
    ("content_audit", "Content audit"),
    ("organisation_report", "Organisations, A to Z"),
)
OTHER_GROUP = "Other reports"


# -- assets ------------------------------------------------------------------------------------
def frontend_dir() -> Path:
    """GOV.UK Frontend's package folder in node_modules/ (`make install` puts it there)."""
    places = (
        [Path(os.environ[NODE_MODULES_VARIABLE])] if os.environ.get(NODE_MODULES_VARIABLE) else []
    )
    places += [Path.cwd() / "node_modules", PROJECT / "node_modules"]
    for place in places:
        if (place / FRONTEND / FRONTEND_CSS).is_file():
            return place / FRONTEND
    raise ConfigError(
        f"GOV.UK Frontend is not installed (looked for {FRONTEND}/{FRONTEND_CSS} in "
        f"{', '.join(str(p) for p in places)}): run `make install` (npm ci), or set "
        f"{NODE_MODULES_VARIABLE} to a node_modules folder that has it"
    )


def offline_css(css: str) -> str:
    """GOV.UK Frontend's compiled CSS without anything it would fetch: no GDS Transport
    font faces (the font is for gov.uk; text falls back to Arial), no crown images.

    Raises ConfigError when a `url()` other than a data URI is left, so a new version that
    fetches something else fails the build instead of the reader's browser.
    """
    css = re.sub(r"@font-face\s*\{[^}]*\}", "", css)
    css = re.sub(r"(font-family:)\s*[\"']?GDS Transport[\"']?\s*,\s*", r"\1", css)
    css = re.sub(
        r"(font-family:)\s*[\"']?GDS Transport[\"']?\s*(?=[;}])", r"\1arial,sans-serif", css
    )
    css = re.sub(r"[a-z-]*:\s*url\(\s*[\"']?/assets/images/[^)]*\)[^;}]*;?", "", css)
    left = [
        u for u in re.findall(r"url\(\s*([^)]*)\)", css) if not u.strip("\"' ").startswith("data:")
    ]
    if left or "@import" in css:
        raise ConfigError(f"GOV.UK Frontend's CSS would fetch {left or '@import'}: not copied")
    return css


def _write_if_changed(path: Path, text: str) -> None:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def write_assets(root: str | Path) -> Path:
    """Copy GOV.UK Frontend's stylesheet (made offline) and the site's own into
    `<root>/assets/`; returns that folder. Unchanged files are left alone."""
    source = frontend_dir()
    version = json.loads((source / "package.json").read_text(encoding="utf-8"))["version"]
    css = offline_css((source / FRONTEND_CSS).read_text(encoding="utf-8"))
    css = css.replace('@charset "UTF-8";', "", 1)
    header = (
        f'@charset "UTF-8";\n/* GOV.UK Frontend {version} (MIT licence, © Crown copyright), '
        "from the npm registry, without the GDS Transport fonts and the crown. */\n"
    )
    target = Path(root) / ASSETS
    _write_if_changed(target / FRONTEND / "govuk-frontend.min.css", header + css)
    _write_if_changed(target / "report-site.css", SITE_CSS.read_text(encoding="utf-8"))
    return target


# -- the index ---------------------------------------------------------------------------------
def _value(figure: Figure, name: str = "") -> str:
    """A headline figure as readers see it: 34,183,106; 68.2%; up 5.1%."""
    value, unit = figure.value, figure.unit
    if isinstance(value, int | float) and not isinstance(value, bool):
        label = str(figure.label or "").lower()
        if name.endswith("_change") or label.endswith(": change"):
            return change(value)
        if unit is None and label.startswith("satisfaction"):
            unit = "ratio"
        return figure_words(value, unit)
    return "no data" if value is None else str(value)


def load_manifests(root: Path) -> dict[str, list[Manifest]]:
    """Manifests by report date, newest date first, reports by name (any that cannot be read
    as a manifest of a known schema version are left out)."""
    sets: dict[str, list[Manifest]] = {}
    if not root.is_dir():
        return sets
    for folder in sorted((p for p in root.iterdir() if DATED.match(p.name)), reverse=True):
        read = (read_manifest(path) for path in sorted(folder.glob(f"*{MANIFEST_SUFFIX}")))
        manifests = [m for m in read if m is not None]
        if manifests:
            sets[folder.name] = manifests
    return sets


def _report(as_of: str, manifest: Manifest) -> dict[str, Any]:
    name, outputs, title = manifest.report, manifest.outputs, manifest.title
    figures = [
        {"label": str(f.label or n), "value": _value(f, n)} for n, f in manifest.headlines().items()
    ]
    suffix = ": content performance"
    return {
        "title": title,
        # organisation reports are listed by the organisation's name alone
        "name": title.removesuffix(suffix),
        "subtitle": str(manifest.subtitle or ""),
        "href": f"{as_of}/{outputs.html}",
        "notebook_href": f"{as_of}/{outputs.notebook}",
        "manifest_href": f"{as_of}/{name}{MANIFEST_SUFFIX}",
        "files": [
            {"href": f"{as_of}/{f}", "text": f"Download the full list: {f}"} for f in outputs.files
        ],
        "figures": figures,
        "by_label": {f["label"]: f["value"] for f in figures},
        "generated": manifest.generated_usage,
        "failed": manifest.failed,
        "error": str(manifest.error or ""),
    }


def _groups(as_of: str, manifests: list[Manifest]) -> list[dict[str, Any]]:
    """The reports of one date by kind: overview, audit, organisations A to Z, any others."""
    found: dict[str, list[dict[str, Any]]] = {}
    for manifest in manifests:
        kind = manifest.kind
        key = kind if kind in dict(GROUPS) else "other"
        found.setdefault(key, []).append(_report(as_of, manifest))
    groups = []
    for key, heading in (*GROUPS, ("other", OTHER_GROUP)):
        reports = sorted(found.get(key, []), key=lambda r: r["name"].casefold())
        if not reports:
            continue
        group: dict[str, Any] = {"key": key, "heading": heading, "reports": reports}
        if key == "organisation_report":
            labels: list[str] = []
            for report in reports:
                labels += [f["label"] for f in report["figures"] if f["label"] not in labels]
            count = len(reports)
            generated = all(r["generated"] for r in reports)
            group.update(
                table=True,
                labels=labels,
                all_generated=generated,
                caption=(
                    f"{count} organisation {'report' if count == 1 else 'reports'}, A to Z, "
                    "with their headline figures" + (" (generated usage)" if generated else "")
                ),
            )
        groups.append(group)
    return groups


def render_index(root: Path) -> str:
    """The site index's HTML from the manifests under `root`."""
    from jinja2 import Environment, FileSystemLoader

    sets = load_manifests(root)
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES / "govuk")), autoescape=True, trim_blocks=False
    )
    shown: list[dict[str, Any]] = []
    for as_of, manifests in sets.items():
        count = len(manifests)
        shown.append(
            {
                "as_of": as_of,
                "as_of_words": day(date.fromisoformat(as_of)),
                "count": f"{count} {'report' if count == 1 else 'reports'}",
                "groups": _groups(as_of, manifests),
                "reports": sorted(
                    (_report(as_of, m) for m in manifests), key=lambda r: r["title"].casefold()
                ),
            }
        )
    generated = any(m.generated_usage for ms in sets.values() for m in ms)
    html = environment.get_template("site.html.j2").render(sets=shown, generated=generated)
    return html.rstrip() + "\n"


def write_index(root: str | Path) -> Path:
    """Write `<root>/index.html` from the manifests under `<root>/<date>/`, and the site's
    assets (`write_assets`)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    write_assets(root)
    path = root / "index.html"
    path.write_text(render_index(root), encoding="utf-8")
    return path
