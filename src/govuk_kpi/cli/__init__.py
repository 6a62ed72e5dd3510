"""The one entry point: `govuk-kpi ...`, a command group per module. Errors are one clear line,
never a traceback (`govuk_kpi.cli.errors`, for every command at once).

\b
group.py       the `govuk-kpi` group and what its commands share (the warehouse's URL)
errors.py      the project's errors as one line on stderr and exit status 1
options.py     option types and the option groups more than one command takes
db.py          db upgrade
load.py        load, rollup
sample.py      sample
inspection.py  health, batches, rejects
extract.py     extract organisations | search | content | ga4
reports.py     reports build | index | serve, trace
serve.py       serve
run.py         run (the daily pipeline)
docs.py        docs metrics
"""

from __future__ import annotations

from govuk_kpi.cli import db, docs, extract, inspection, load, reports, run, sample, serve
from govuk_kpi.cli.group import main
from govuk_kpi.cli.options import IsoDateTime

COMMAND_MODULES = (db, docs, extract, inspection, load, reports, run, sample, serve)
"""Each adds its commands to `main` when imported."""

__all__ = ["COMMAND_MODULES", "IsoDateTime", "main"]
