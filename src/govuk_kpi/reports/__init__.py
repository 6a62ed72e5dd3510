"""KPI reports: presentation helpers for the notebooks, and the builder, site and trace.

Notebooks import only this package's presentation helpers (`record`, `title`, `notice`,
`chart`, `table`, `say`...) beside `govuk_kpi.kpi.Warehouse`; figures come from `kpi`, never
from here. The builder (`govuk_kpi.reports.build`) is what `govuk-kpi reports build` runs.
"""

from govuk_kpi.reports.figures import FIGURE_MIME, read_report_outputs, record, record_series
from govuk_kpi.reports.present import (
    bar_chart,
    chart,
    line_chart,
    notice,
    save_csv,
    say,
    table,
    title,
)

__all__ = [
    "FIGURE_MIME",
    "bar_chart",
    "chart",
    "line_chart",
    "notice",
    "read_report_outputs",
    "record",
    "record_series",
    "save_csv",
    "say",
    "table",
    "title",
]
