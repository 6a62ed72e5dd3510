"""Load organisations into the organisation dimension (type 1: the latest facts overwrite)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from govuk_kpi.sources.records import OrganisationRecord
from govuk_kpi.warehouse.batch import BatchResult, run_batch
from govuk_kpi.warehouse.models import DimOrganisation


def _row(record: OrganisationRecord, batch_id: int) -> dict:
    return {
        "content_id": record.content_id,
        "slug": record.slug,
        "title": record.title,
        "acronym": record.acronym,
        "organisation_type": record.organisation_type,
        "status": record.status,
        "closed_at": record.closed_at,
        "parent_slug": record.parent_slugs[0] if record.parent_slugs else None,
        "superseded_by_slug": record.superseded_by_slugs[0] if record.superseded_by_slugs else None,
        "analytics_identifier": record.analytics_identifier,
        "batch_id": batch_id,
    }


def load_organisations(
    engine: Engine, records: Sequence[OrganisationRecord], *, uri: str, sha256: str
) -> BatchResult:
    """Insert new organisations and update known ones (closed and superseded ones kept)."""
    result = BatchResult("organisations", uri, rows_read=len(records))

    def work(connection: Connection, batch_id: int) -> None:
        known = dict(
            connection.execute(
                select(DimOrganisation.content_id, DimOrganisation.organisation_key)
            ).all()
        )
        fresh = [_row(r, batch_id) for r in records if r.content_id not in known]
        changed = [
            {**_row(r, batch_id), "key": known[r.content_id]}
            for r in records
            if r.content_id in known
        ]
        if fresh:
            connection.execute(insert(DimOrganisation), fresh)
        if changed:
            # Bind names must differ from column names in an executemany UPDATE.
            columns = [k for k in _row(records[0], batch_id) if k != "content_id"]
            connection.execute(
                update(DimOrganisation)
                .where(DimOrganisation.organisation_key == bindparam("b_key"))
                .values({k: bindparam(f"b_{k}") for k in columns}),
                [{f"b_{k}": row[k] for k in [*columns, "key"]} for row in changed],
            )
        result.rows_loaded = len(fresh) + len(changed)
        result.notes.append(f"{len(fresh)} new, {len(changed)} updated")

    return run_batch(engine, result, sha256, work)
