"""The report notebooks: committed clean, and run by nbval against the sample warehouse.

nbval runs in a child pytest so the kernel gets the sample's URL in GOVUK_KPI_DATABASE_URL;
`--nbval-lax` checks that every cell runs, and compares the outputs of the cells marked
`# NBVAL_CHECK_OUTPUT`: the figures that must not drift.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean_with_a_parameters_cell(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "strip the outputs"
    assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1
    assert any("NBVAL_CHECK_OUTPUT" in c.source for c in code)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_title_comes_before_any_other_shown_cell(path: Path) -> None:
    """Only the parameters cell (hidden when rendered) may come before the title cell."""
    cells = nbformat.read(path, as_version=4).cells
    assert "parameters" in cells[0].metadata.get("tags", [])
    assert cells[1].cell_type == "code" and "reports.title(" in cells[1].source


def test_notebooks_are_thin() -> None:
    """Logic belongs in the package: notebooks define no functions or classes."""
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert "def " not in cell.source and "class " not in cell.source, path.name


REFERENCE = Path(__file__).with_name("reference")


def test_reference_notebooks_hold_the_same_code() -> None:
    """The known-good notebooks nbval compares are the shipped notebooks plus known outputs."""
    assert sorted(p.name for p in REFERENCE.glob("*.ipynb")) == sorted(p.name for p in NOTEBOOKS)
    for path in NOTEBOOKS:
        shipped = [c.source for c in nbformat.read(path, as_version=4).cells]
        known = nbformat.read(REFERENCE / path.name, as_version=4)
        assert [c.source for c in known.cells] == shipped, (
            f"{path.name} changed: run tests/reports/refresh_reference.py and review the figures"
        )
        checked = [c for c in known.cells if "NBVAL_CHECK_OUTPUT" in c.get("source", "")]
        assert checked and all(c.outputs for c in checked), path.name


@pytest.mark.slow
def test_nbval_runs_every_notebook_against_the_sample(sample_url: str, tmp_path: Path) -> None:
    """nbval re-runs the known-good notebooks on the sample; the figures must not drift."""
    env = {**os.environ, "GOVUK_KPI_DATABASE_URL": sample_url}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-p",
            "no:cacheprovider",
            "-q",
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
            *map(str, sorted(REFERENCE.glob("*.ipynb"))),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout, run.stdout[-2000:]
