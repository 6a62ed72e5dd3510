"""The report builder: manifests, back-test, incremental skips, failures, trace, the site."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from govuk_kpi.cli import main
from govuk_kpi.reports.build import VOLATILE, build_reports
from govuk_kpi.reports.manifest import SCHEMA_VERSION
from govuk_kpi.reports.render import remote_assets

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SET = """name: test
as_of: 2026-10-31
period: past-30-days
notebooks: [kpi_overview, organisation_report, content_audit]
organisations: [department-for-transport, hm-revenue-customs]
parameters:
  old_years: 10.0
"""
REPORTS = {
    "kpi-overview",
    "organisation-report-department-for-transport",
    "organisation-report-hm-revenue-customs",
    "content-audit",
}


def manifests(root: Path) -> dict[str, dict]:
    return {
        p.name.removesuffix(".manifest.json"): json.loads(p.read_text())
        for p in sorted((root / "2026-10-31").glob("*.manifest.json"))
    }


def steady(manifest: dict) -> dict:
    return {k: v for k, v in manifest.items() if k not in VOLATILE}


@pytest.fixture(scope="module")
def twice(sample_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The same report set built from scratch twice, into two folders."""
    base = tmp_path_factory.mktemp("reports")
    params = base / "test.yaml"
    params.write_text(SET, encoding="utf-8")
    results = {}
    for run in ("first", "second"):
        results[run] = build_reports(
            [params], url=sample_url, out_root=base / run, notebook_dir=NOTEBOOKS, jobs=2
        )
    return {"base": base, "params": params, "url": sample_url, **results}


@pytest.mark.slow
def test_every_report_builds_with_html_and_manifest(twice: dict) -> None:
    assert not twice["first"].failed, twice["first"].summary()
    out = twice["base"] / "first" / "2026-10-31"
    found = manifests(twice["base"] / "first")
    assert set(found) == REPORTS
    for name, manifest in found.items():
        assert manifest["status"] == "ok"
        assert manifest["generated_usage"] is True
        assert len(manifest["notebook_sha256"]) == 64
        assert manifest["code_version"] and manifest["packages"]["papermill"]
        assert manifest["data"]["newest_batch_id"] == max(
            b["batch_id"] for b in manifest["batches"]
        )
        assert all(len(b["sha256"]) == 64 for b in manifest["batches"])
        assert manifest["figures"], name
        html = (out / f"{name}.html").read_text()
        assert remote_assets(html) == []
        assert "GENERATED sample data" in html
        assert "data:image/png;base64," in html and 'alt="' in html
        assert "wh = Warehouse()" not in html  # input hidden
        # Readers see what cells show on purpose: no echoed return values, no test checks.
        assert ' jp-OutputArea-executeResult"' not in html, name
        assert "NBVAL" not in html
        executed = nbformat.read(out / f"{name}.ipynb", as_version=4)
        assert executed.cells[0].metadata.get("tags") == ["parameters"]
        assert executed.cells[1].metadata.get("tags") == ["injected-parameters"]
        intro = next(c.source for c in executed.cells if c.cell_type == "markdown")
        assert 0 < html.index("<h1") < html.index(" ".join(intro.split()[:3])), name
    assert (out / "content-audit.csv").read_text().startswith("category,reasons,base_path")
    # The build's own manifests, in memory, are what it wrote.
    built = {m.report: m for m in twice["first"].manifests}
    assert set(built) == REPORTS
    for name, manifest in built.items():
        assert (out / f"{name}.manifest.json").read_text() == manifest.to_json()
        assert manifest.schema_version == SCHEMA_VERSION


@pytest.mark.slow
def test_back_test_two_builds_agree_apart_from_times(twice: dict) -> None:
    first, second = manifests(twice["base"] / "first"), manifests(twice["base"] / "second")
    assert {n: steady(m) for n, m in first.items()} == {n: steady(m) for n, m in second.items()}
    overview = first["kpi-overview"]["figures"]
    shown = (twice["base"] / "first" / "2026-10-31" / "kpi-overview.html").read_text()
    assert "31157775 212" not in shown  # the drift check's printout is for nbval, not readers
    assert overview["site.pviews"]["value"] == pytest.approx(31157775)
    assert overview["site.pages"]["value"] == 212
    assert first["content-audit"]["figures"]["audit.needs_improvement"]["value"] == 8


def outputs(path: Path) -> list:
    """The cells of an executed notebook without papermill's times, its folder as OUT."""
    cells = nbformat.read(path, as_version=4).cells
    found = [(c.cell_type, c.source, c.get("execution_count"), c.get("outputs")) for c in cells]
    return json.loads(json.dumps(found).replace(str(path.parent.resolve()), "OUT"))


def html(path: Path) -> str:
    """A report's HTML, its folder as OUT and papermill's random id of the injected cell as X."""
    text = path.read_text().replace(str(path.parent.resolve()), "OUT")
    return re.sub(r"cell-id=[0-9a-f]{8}\b", "cell-id=X", text)


@pytest.mark.slow
def test_warm_kernels_build_what_a_kernel_per_report_builds(twice: dict) -> None:
    """The same reports on a fresh kernel each (papermill's own) and on warm kernels."""
    cold_root = twice["base"] / "cold"
    cold = build_reports(
        [twice["params"]],
        url=twice["url"],
        out_root=cold_root,
        notebook_dir=NOTEBOOKS,
        jobs=2,
        warm=False,
    )
    assert not cold.failed, cold.summary()
    warm = manifests(twice["base"] / "first")
    assert {n: steady(m) for n, m in manifests(cold_root).items()} == {
        n: steady(m) for n, m in warm.items()
    }
    for name in REPORTS:
        cold_out, warm_out = cold_root / "2026-10-31", twice["base"] / "first" / "2026-10-31"
        assert outputs(cold_out / f"{name}.ipynb") == outputs(warm_out / f"{name}.ipynb"), name
        assert html(cold_out / f"{name}.html") == html(warm_out / f"{name}.html"), name
    assert (cold_root / "2026-10-31" / "content-audit.csv").read_bytes() == (
        twice["base"] / "first" / "2026-10-31" / "content-audit.csv"
    ).read_bytes()


@pytest.mark.slow
def test_unchanged_reports_are_skipped_and_changes_rebuild(twice: dict, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(twice["base"] / "first", out)
    again = build_reports([twice["params"]], url=twice["url"], out_root=out, notebook_dir=NOTEBOOKS)
    assert {o.status for o in again.outcomes} == {"skipped"}
    assert {m.report for m in again.manifests} == REPORTS  # read back, typed
    changed = tmp_path / "changed.yaml"
    changed.write_text(SET.replace("old_years: 10.0", "old_years: 12.0"), encoding="utf-8")
    partly = build_reports([changed], url=twice["url"], out_root=out, notebook_dir=NOTEBOOKS)
    statuses = {o.name: o.status for o in partly.outcomes}
    assert statuses["kpi-overview"] == "skipped"  # it has no old_years parameter
    assert statuses["content-audit"] == "built"


@pytest.mark.slow
def test_a_failing_notebook_keeps_its_output_and_the_others_build(
    twice: dict, tmp_path: Path
) -> None:
    notebooks = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, notebooks)
    broken = nbformat.read(notebooks / "content_audit.ipynb", as_version=4)
    broken.cells.insert(3, nbformat.v4.new_code_cell("raise RuntimeError('deliberately broken')"))
    nbformat.write(broken, notebooks / "content_audit.ipynb")
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        shutil.copytree(notebooks, "notebooks")
        Path("set.yaml").write_text(SET, encoding="utf-8")
        result = runner.invoke(
            main, ["--database-url", twice["url"], "reports", "build", "set.yaml", "--jobs", "2"]
        )
        assert result.exit_code == 1, result.output
        assert "1 failed" in result.output and "deliberately broken" in result.output
        found = manifests(Path("reports"))
        assert found["content-audit"]["status"] == "failed"
        assert all(m["status"] == "ok" for n, m in found.items() if n != "content-audit")
        html = Path("reports/2026-10-31/content-audit.html").read_text()
        assert "deliberately broken" in html and "GOV.UK content audit" in html
        assert "failed" in Path("reports/index.html").read_text()


@pytest.mark.slow
def test_trace_prints_value_query_batches_and_hashes(twice: dict) -> None:
    out = twice["base"] / "first"
    manifest = manifests(out)["kpi-overview"]
    result = CliRunner().invoke(
        main, ["trace", "2026-10-31/kpi-overview", "site.pviews", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "31157775" in result.output
    assert "FROM fact_page_daily" in result.output
    october = [
        b
        for b in manifest["batches"]
        if b["source"] == "analytics" and b["date_from"] == "2026-10-01"
    ]
    assert october and october[0]["sha256"] in result.output
    assert october[0]["uri"] in result.output
    missing = CliRunner().invoke(main, ["trace", "kpi-overview", "nope", "--out", str(out)])
    assert missing.exit_code == 1 and "no figure 'nope'" in missing.output


@pytest.mark.slow
def test_index_lists_reports_with_headline_figures(twice: dict) -> None:
    index = (twice["base"] / "first" / "index.html").read_text()
    assert "Reports as of 31 October 2026" in index
    assert 'href="2026-10-31/kpi-overview.html"' in index
    assert "Department for Transport: content performance" in index
    assert "Page views: <strong>31,157,775</strong>" in index
    assert remote_assets(index) == []
