"""Document types: every one known, and the figures of the pages of each."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, func, select

from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.kpi.expressions import derived_columns, total
from govuk_kpi.kpi.frames import frame, newest_edition, of_organisation
from govuk_kpi.kpi.query import Query
from govuk_kpi.kpi.sums import page_sums
from govuk_kpi.warehouse.models import DimDocumentType, DimEdition


def document_types(connection: Connection) -> pd.DataFrame:
    """Every document type with its display label."""
    query = select(DimDocumentType.name, DimDocumentType.label).order_by(DimDocumentType.name)
    return frame(connection, query)


def document_type_summary(connection: Connection, query: Query) -> pd.DataFrame:
    """Per document type (of each page's newest edition): pages, sums and derived metrics."""
    sums = page_sums(connection, query.period)
    metric = {m: func.coalesce(total(sums.c[m]), 0) for m in DAILY_METRICS}
    select_rows = (
        select(
            DimDocumentType.name.label("document_type"),
            func.max(DimDocumentType.label).label("document_type_label"),
            func.count(sums.c.page_id).label("pages"),
            *[metric[m].label(m) for m in DAILY_METRICS],
            *derived_columns(metric),
        )
        .select_from(sums)
        .join(DimEdition, newest_edition(sums.c.page_id))
        .join(DimDocumentType, DimDocumentType.document_type_key == DimEdition.document_type_key)
        .group_by(DimDocumentType.name)
        .order_by(metric["pviews"].desc(), DimDocumentType.name)
    )
    if query.organisation:
        select_rows = select_rows.where(of_organisation(connection, query.organisation))
    return frame(connection, select_rows, query.period)
