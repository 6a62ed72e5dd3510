"""The typed manifest: one reading of `<name>.manifest.json`, old files included."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from datetime import date
from pathlib import Path

import pytest

from govuk_kpi.core.errors import ConfigError
from govuk_kpi.reports.manifest import (
    LEGACY_VERSION,
    SCHEMA_VERSION,
    Figure,
    Manifest,
    ManifestError,
    read_manifest,
    write_manifest,
)
from govuk_kpi.reports.params import load_report_set
from govuk_kpi.reports.site import load_manifests, render_index

ROOT = Path(__file__).resolve().parents[2]

# A manifest as builds wrote them before `schema_version` (version 1), cut down.
LEGACY = {
    "report": "organisation-report-hm-treasury",
    "as_of": "2026-10-31",
    "title": "HM Treasury: content performance",
    "subtitle": "1 October to 31 October 2026",
    "generated_usage": True,
    "status": "ok",
    "error": None,
    "notebook": "notebooks/organisation_report.ipynb",
    "notebook_sha256": "a" * 64,
    "params_file": "params/sample.yaml",
    "parameters": {"as_of": "2026-10-31", "organisation": "hm-treasury"},
    "code_version": "abc123",
    "packages": {"papermill": "2.6.0"},
    "data": {"newest_batch_id": 7},
    "batches": [{"batch_id": 7, "source": "analytics", "sha256": "b" * 64}],
    "inputs_key": "c" * 64,
    "outputs": {
        "notebook": "organisation-report-hm-treasury.ipynb",
        "html": "organisation-report-hm-treasury.html",
        "files": [],
    },
    "figures": {
        "org.pviews": {
            "value": 1234,
            "label": "Page views",
            "unit": "count",
            "query": "SELECT 1",
            "period": {"name": "past-30-days", "start": "2026-10-02", "end": "2026-10-31"},
            "headline": True,
            "batches": [7],
        },
        "org.pages": {
            "value": 12,
            "label": "Pages",
            "unit": "count",
            "query": None,
            "period": None,
            "headline": False,
            "batches": [7],
        },
    },
    "started_at": "2026-11-01T08:00:00",
    "finished_at": "2026-11-01T08:00:05",
    "duration_seconds": 5.1,
}


def test_a_manifest_without_a_version_reads_as_version_1_and_keeps_every_field() -> None:
    assert "schema_version" not in LEGACY
    manifest = Manifest.from_json(json.dumps(LEGACY))
    assert manifest.schema_version == SCHEMA_VERSION > LEGACY_VERSION  # migrated on read
    assert manifest.ok and not manifest.failed
    assert manifest.kind == "organisation_report"
    assert manifest.figures["org.pviews"] == Figure(
        value=1234,
        label="Page views",
        unit="count",
        query="SELECT 1",
        period={"name": "past-30-days", "start": "2026-10-02", "end": "2026-10-31"},
        headline=True,
        batches=(7,),
    )
    assert list(manifest.headlines()) == ["org.pviews"]
    assert manifest.to_dict() == {**LEGACY, "schema_version": SCHEMA_VERSION}


def test_a_manifest_round_trips_and_is_frozen(tmp_path: Path) -> None:
    manifest = Manifest.from_dict(LEGACY)
    path = tmp_path / "x.manifest.json"
    write_manifest(path, manifest)
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION
    assert read_manifest(path) == manifest
    assert Manifest.from_json(manifest.to_json()).to_json() == manifest.to_json()
    with pytest.raises(FrozenInstanceError):
        manifest.status = "failed"  # type: ignore[misc]


def test_an_unknown_version_or_a_broken_file_is_not_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="schema version 99"):
        Manifest.from_dict({**LEGACY, "schema_version": 99})
    with pytest.raises(ManifestError):
        Manifest.from_json("[1, 2]")
    (tmp_path / "broken.manifest.json").write_text("{", encoding="utf-8")
    assert read_manifest(tmp_path / "broken.manifest.json") is None
    assert read_manifest(tmp_path / "missing.manifest.json") is None


def test_the_index_reads_old_and_new_manifests_alike(tmp_path: Path) -> None:
    day = tmp_path / "2026-10-31"
    day.mkdir()
    (day / "organisation-report-hm-treasury.manifest.json").write_text(json.dumps(LEGACY))
    newer = {**LEGACY, "report": "kpi-overview", "title": "GOV.UK overview"}
    newer.update(notebook="notebooks/kpi_overview.ipynb", schema_version=SCHEMA_VERSION)
    (day / "kpi-overview.manifest.json").write_text(json.dumps(newer))
    future = {**LEGACY, "report": "future", "title": "From the future", "schema_version": 99}
    (day / "future.manifest.json").write_text(json.dumps(future))
    sets = load_manifests(tmp_path)
    assert [m.report for m in sets["2026-10-31"]] == [
        "kpi-overview",
        "organisation-report-hm-treasury",
    ]
    html = render_index(tmp_path)
    assert "GOV.UK overview" in html and "HM Treasury" in html
    assert "1,234" in html  # the headline figure, in words
    assert "From the future" not in html


def test_a_report_set_moves_to_another_day_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text("as_of: 2026-10-31\nnotebooks: [kpi_overview]\n", encoding="utf-8")
    report_set = load_report_set(path, ROOT / "notebooks")
    moved = report_set.on(date(2026, 10, 15))
    assert moved.as_of == date(2026, 10, 15) and report_set.as_of == date(2026, 10, 31)
    assert (moved.name, moved.path, moved.notebooks) == ("set", path, ["kpi_overview"])
    assert path.read_text(encoding="utf-8").startswith("as_of: 2026-10-31")
    with pytest.raises(FrozenInstanceError):
        report_set.as_of = date(2026, 1, 1)  # type: ignore[misc]
    with pytest.raises(ConfigError, match="period"):
        type(report_set)(path, "set", date(2026, 10, 31), "no-such-period", [], None).on(
            date(2026, 10, 1)
        )
