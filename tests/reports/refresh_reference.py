"""Refresh the known-good notebooks nbval compares against (run by hand, then review the diff).

    export GOVUK_KPI_DATABASE_URL=sqlite:////tmp/sample.db
    .venv/bin/govuk-kpi sample
    .venv/bin/python tests/reports/refresh_reference.py

Each notebook of `notebooks/` is executed with its own default parameters against the sample
warehouse; only the outputs of cells marked `# NBVAL_CHECK_OUTPUT` are kept (the figures that
must not drift), so the references stay small and `nbval --nbval-lax` compares just those.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
MARK = "# NBVAL_CHECK_OUTPUT"


def refresh(source: Path, target: Path) -> None:
    notebook = nbformat.read(source, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if MARK not in cell.source:
            # Unchecked cells keep no output; nbval treats a cell without a count as unrun.
            cell.outputs = []
            cell.execution_count = None
    nbformat.write(notebook, target)


if __name__ == "__main__":
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        refresh(path, Path(__file__).with_name("reference") / path.name)
        print(f"refreshed {path.name}")
