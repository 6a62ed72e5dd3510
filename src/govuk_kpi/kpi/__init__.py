"""The one place that turns the star schema into business figures, as pandas DataFrames.

Notebooks and the API both call this, so a figure means the same everywhere. Every frame
carries `attrs["query"]` (the SQL that made it) and `attrs["period"]` for provenance.
"""

from govuk_kpi.kpi.warehouse import Warehouse

__all__ = ["Warehouse"]
