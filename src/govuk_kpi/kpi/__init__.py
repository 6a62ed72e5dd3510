"""The one place that turns the star schema into business figures, as pandas DataFrames.

Notebooks and the API both call this, so a figure means the same everywhere. Every frame
carries `attrs["query"]` (the SQL that made it) and `attrs["period"]` for provenance.

`Warehouse` (`kpi/facade.py`) is the way in; each question is a module over a connection and a
`query.Query`: `listing`, `page`, `organisations`, `document_types`, `site`, `trends`, `audit`,
`coverage`, `provenance`; `frames` holds what they share, `sums` routes to the rollups, and
`views` holds the selects BI tools read through OData (the derived metrics as SQL).
"""

from govuk_kpi.kpi.facade import Warehouse

__all__ = ["Warehouse"]
