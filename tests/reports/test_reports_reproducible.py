"""Two checkouts building the same inputs give the same manifests, apart from their times."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from govuk_kpi.reports.build import VOLATILE, build_reports
from govuk_kpi.sample.build import build_sample

REPO = Path(__file__).resolve().parents[2]
SET = """name: check
as_of: 2026-10-31
period: past-30-days
notebooks: [kpi_overview, organisation_report, content_audit]
organisations: [hm-revenue-customs]
"""


@pytest.mark.slow
def test_two_checkouts_build_equal_manifests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sample and its reports, built in two folders each from its own root as two clones
    would be: every manifest is equal apart from times, and none names either folder."""
    built: dict[str, dict[str, dict]] = {}
    for name in ("one", "two"):
        root = tmp_path / name
        shutil.copytree(REPO / "data" / "govuk", root / "data" / "govuk")
        shutil.copytree(REPO / "notebooks", root / "notebooks")
        (root / "params").mkdir()
        (root / "params" / "check.yaml").write_text(SET, encoding="utf-8")
        monkeypatch.chdir(root)
        monkeypatch.setenv("GOVUK_KPI_DATA_DIR", str(root / "data" / "govuk"))
        url = f"sqlite:///{root}/warehouse.db"
        build_sample(url, out_dir=Path("data/generated/sample"), days=40)
        result = build_reports(
            [Path("params/check.yaml")],
            url=url,
            out_root=Path("reports"),
            notebook_dir=Path("notebooks"),
            jobs=2,
        )
        assert not result.failed, result.summary()
        texts = {
            p.name: p.read_text() for p in sorted((root / "reports" / "2026-10-31").glob("*.json"))
        }
        assert len(texts) == 3
        for text in texts.values():
            assert str(tmp_path) not in text  # no path of the building machine
        built[name] = {
            n: {k: v for k, v in json.loads(t).items() if k not in VOLATILE}
            for n, t in texts.items()
        }
    assert built["one"] == built["two"]
