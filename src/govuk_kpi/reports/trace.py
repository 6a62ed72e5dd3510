"""`govuk-kpi trace REPORT FIGURE`: a figure's value, its SQL, and the loads it came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from govuk_kpi.core.errors import ConfigError
from govuk_kpi.reports.manifest import MANIFEST_SUFFIX, read_manifest
from govuk_kpi.reports.site import DATED


def find_manifest(report: str, root: str | Path = "reports") -> Path:
    """The manifest of REPORT: a path (.ipynb, .html, .manifest.json), `<date>/<name>`, or a
    name (its newest date)."""
    root = Path(root)
    given = Path(report)
    for suffix in (".ipynb", ".html", MANIFEST_SUFFIX):
        if given.name.endswith(suffix):
            given = given.with_name(given.name.removesuffix(suffix))
            break
    candidates = [given.with_name(given.name + MANIFEST_SUFFIX)]
    candidates.append(root / given.parent / (given.name + MANIFEST_SUFFIX))
    for path in candidates:
        if path.is_file():
            return path
    if root.is_dir():
        dated = sorted((p for p in root.iterdir() if DATED.match(p.name)), reverse=True)
        for folder in dated:
            path = folder / (given.name + MANIFEST_SUFFIX)
            if path.is_file():
                return path
    raise ConfigError(f"no report {report!r} under {root}/ (build it with govuk-kpi reports build)")


def trace(report: str, figure: str, root: str | Path = "reports") -> dict[str, Any]:
    """The figure's record from the report's manifest, with the load batches in full."""
    path = find_manifest(report, root)
    manifest = read_manifest(path)
    if manifest is None:
        raise ConfigError(f"{path}: cannot be read as a report manifest")
    figures = manifest.figures
    if figure not in figures:
        raise ConfigError(
            f"{path}: no figure {figure!r}; the report records: {', '.join(figures) or 'none'}"
        )
    found = figures[figure].to_dict()
    by_id = {b["batch_id"]: dict(b) for b in manifest.batches}
    found["batches"] = [by_id[i] for i in figures[figure].batches if i in by_id]
    found.update(name=figure, manifest=str(path), report=manifest.report)
    found["generated_usage"] = manifest.generated_usage
    return found


def format_trace(found: dict[str, Any]) -> str:
    period = found.get("period") or {}
    lines = [
        f"report:  {found['report']} ({found['manifest']})",
        f"figure:  {found['name']} — {found.get('label')}",
        f"value:   {json.dumps(found.get('value'))}"
        + (f" {found['unit']}" if found.get("unit") else ""),
    ]
    if period:
        lines.append(
            f"period:  {period.get('name', '')} {period.get('start')} to {period.get('end')}"
        )
    if found.get("generated_usage"):
        lines.append("note:    the usage figures behind it are GENERATED sample data")
    lines += ["", "query:", found.get("query") or "(none recorded)", "", "load batches:"]
    for b in found["batches"]:
        span = f" {b['date_from']}..{b['date_to']}" if b.get("date_from") else ""
        generated = " (generated)" if b.get("is_generated") else ""
        lines.append(
            f"  #{b['batch_id']} {b['source']}{span}{generated} sha256 {b['sha256']}  {b['uri']}"
        )
    return "\n".join(lines)
