"""Load content items into the edition dimension (type 2), organisation links and edition facts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, insert, select, update

from govuk_kpi.core.document_types import document_type_label
from govuk_kpi.core.errors import InputError
from govuk_kpi.sources.records import EditionRecord, OrganisationRef, Reject
from govuk_kpi.warehouse.batch import BatchResult, insert_rejects, run_batch
from govuk_kpi.warehouse.models import (
    DimDocumentType,
    DimEdition,
    DimOrganisation,
    DimPage,
    EditionOrganisation,
    FactEditionMetrics,
)

# The first edition of a page we ever see stands from its first publication, or, lacking
# that date, from the beginning of time: we know of no earlier version.
BEGINNING = datetime(1900, 1, 1)


def reader_hash(record: EditionRecord) -> str:
    """A hash of what a reader would notice: a new edition only when it changes."""
    seen = {
        "base_path": record.base_path,
        "title": record.title,
        "description": record.description,
        "document_type": record.document_type,
        "schema_name": record.schema_name,
        "publishing_app": record.publishing_app,
        "primary": record.primary_organisation.content_id if record.primary_organisation else None,
        "organisations": sorted(o.content_id for o in record.organisations),
        "first_published_at": _naive(record.first_published_at),
        "public_updated_at": _naive(record.public_updated_at),
        "withdrawn": record.withdrawn,
        "phase": record.phase,
        "metrics": [
            record.metrics.words,
            record.metrics.chars,
            record.metrics.sentences,
            record.metrics.pdf_count,
            record.metrics.doc_count,
        ],
    }
    return hashlib.sha256(json.dumps(seen, default=str, sort_keys=True).encode()).hexdigest()


def _naive(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


@dataclass
class _Live:
    edition_key: int
    page_id: int
    base_path: str
    reader_hash: str
    valid_from: datetime
    batch_id: int


class _ContentLoad:
    """The state of one content batch: the lookups it keeps so each record costs little."""

    def __init__(self, connection: Connection, batch_id: int, observed_at: datetime) -> None:
        self.c = connection
        self.batch_id = batch_id
        self.observed_at = observed_at
        self.pages = {
            (r.content_id, r.locale): r.page_id
            for r in connection.execute(select(DimPage.page_id, DimPage.content_id, DimPage.locale))
        }
        self.document_types = dict(
            connection.execute(
                select(DimDocumentType.name, DimDocumentType.document_type_key)
            ).all()
        )
        self.organisations = dict(
            connection.execute(
                select(DimOrganisation.content_id, DimOrganisation.organisation_key)
            ).all()
        )
        live = connection.execute(
            select(
                DimEdition.edition_key,
                DimEdition.page_id,
                DimEdition.base_path,
                DimEdition.reader_hash,
                DimEdition.valid_from,
                DimEdition.batch_id,
            ).where(DimEdition.is_live)
        ).all()
        self.live_by_page = {row.page_id: _Live(*row) for row in live}
        self.live_by_path = {row.base_path: self.live_by_page[row.page_id] for row in live}

    def page_id(self, record: EditionRecord) -> int:
        key = (record.content_id, record.locale)
        if key not in self.pages:
            self.pages[key] = self.c.execute(
                insert(DimPage).returning(DimPage.page_id),
                [{"content_id": record.content_id, "locale": record.locale}],
            ).scalar_one()
        return self.pages[key]

    def document_type_key(self, name: str) -> int:
        if name not in self.document_types:
            self.document_types[name] = self.c.execute(
                insert(DimDocumentType).returning(DimDocumentType.document_type_key),
                [{"name": name, "label": document_type_label(name)}],
            ).scalar_one()
        return self.document_types[name]

    def organisation_key(self, ref: OrganisationRef) -> int:
        # Organisations a page links to but the organisations load has not (yet) seen get a
        # row from what the link says; the organisations load fills in the rest.
        if ref.content_id not in self.organisations:
            self.organisations[ref.content_id] = self.c.execute(
                insert(DimOrganisation).returning(DimOrganisation.organisation_key),
                [
                    {
                        "content_id": ref.content_id,
                        "slug": ref.slug,
                        "title": ref.title or ref.slug or ref.content_id,
                        "acronym": ref.acronym,
                        "batch_id": self.batch_id,
                    }
                ],
            ).scalar_one()
        return self.organisations[ref.content_id]

    def _retire(self, live: _Live, valid_to: datetime) -> None:
        self.c.execute(
            update(DimEdition)
            .where(DimEdition.edition_key == live.edition_key)
            .values(is_live=False, valid_to=max(valid_to, live.valid_from))
        )
        self.live_by_page.pop(live.page_id, None)
        if self.live_by_path.get(live.base_path) is live:
            del self.live_by_path[live.base_path]

    def _discard(self, live: _Live) -> None:
        """Drop an edition this same batch wrote: the later record of one item wins."""
        for table in (EditionOrganisation, FactEditionMetrics):
            self.c.execute(delete(table).where(table.edition_key == live.edition_key))
        self.c.execute(delete(DimEdition).where(DimEdition.edition_key == live.edition_key))
        self.live_by_page.pop(live.page_id, None)
        if self.live_by_path.get(live.base_path) is live:
            del self.live_by_path[live.base_path]

    def load(self, record: EditionRecord) -> str:
        """Apply one record; returns what happened: new, changed, unchanged or stale."""
        page_id = self.page_id(record)
        signature = reader_hash(record)
        current = self.live_by_page.get(page_id)
        valid_from = self.observed_at
        if current is not None:
            if current.reader_hash == signature:
                return "unchanged"
            if current.valid_from > self.observed_at:
                return "stale"
            if current.batch_id == self.batch_id or current.valid_from == self.observed_at:
                valid_from = current.valid_from
                self._discard(current)
            else:
                self._retire(current, self.observed_at)
        else:
            first = _naive(record.first_published_at)
            valid_from = min(first, self.observed_at) if first else BEGINNING
        occupant = self.live_by_path.get(record.base_path)
        if occupant is not None:
            # Another page held this path: it stops being live here when this one arrives.
            self._retire(occupant, valid_from)
        primary = record.primary_organisation
        edition_key = self.c.execute(
            insert(DimEdition).returning(DimEdition.edition_key),
            [
                {
                    "page_id": page_id,
                    "content_id": record.content_id,
                    "locale": record.locale,
                    "base_path": record.base_path,
                    "title": record.title,
                    "description": record.description,
                    "document_type_key": self.document_type_key(record.document_type),
                    "schema_name": record.schema_name,
                    "publishing_app": record.publishing_app,
                    "primary_organisation_key": self.organisation_key(primary) if primary else None,
                    "first_published_at": _naive(record.first_published_at),
                    "public_updated_at": _naive(record.public_updated_at),
                    "withdrawn": record.withdrawn,
                    "phase": record.phase,
                    "valid_from": valid_from,
                    "valid_to": None,
                    "is_live": True,
                    "reader_hash": signature,
                    "batch_id": self.batch_id,
                }
            ],
        ).scalar_one()
        links = {}
        for ref in record.organisations:
            links[self.organisation_key(ref)] = False
        if primary is not None:
            links[self.organisation_key(primary)] = True
        if links:
            self.c.execute(
                insert(EditionOrganisation),
                [
                    {"edition_key": edition_key, "organisation_key": key, "is_primary": is_primary}
                    for key, is_primary in links.items()
                ],
            )
        m = record.metrics
        self.c.execute(
            insert(FactEditionMetrics),
            [
                {
                    "edition_key": edition_key,
                    "words": m.words,
                    "chars": m.chars,
                    "sentences": m.sentences,
                    "readability": m.readability,
                    "pdf_count": m.pdf_count,
                    "doc_count": m.doc_count,
                    "reading_time": m.reading_time,
                    "batch_id": self.batch_id,
                }
            ],
        )
        live = _Live(edition_key, page_id, record.base_path, signature, valid_from, self.batch_id)
        self.live_by_page[page_id] = live
        self.live_by_path[record.base_path] = live
        return "changed" if current is not None else "new"


def load_content(
    engine: Engine,
    records: Iterable[EditionRecord],
    *,
    uri: str,
    sha256: str,
    observed_at: datetime | None = None,
    rejects: Sequence[InputError] = (),
) -> BatchResult:
    """Load content item records as one batch.

    Args:
        engine: the warehouse.
        records: the parsed content items (read lazily, inside the transaction, so a bad
            file part way fails the whole batch).
        uri: where they came from (file, folder or snapshot).
        sha256: the hash of that input.
        observed_at: when this state of the content was seen (a snapshot's time); a
            changed page's new edition is valid from then. Default: now.
        rejects: records the reader refused, filled while `records` is read; kept as rejects.
    """
    seen_at = _naive(observed_at) or datetime.now(UTC).replace(tzinfo=None)
    result = BatchResult("content", uri)

    def work(connection: Connection, batch_id: int) -> None:
        state = _ContentLoad(connection, batch_id, seen_at)
        outcomes: dict[str, int] = {}
        for record in records:
            result.rows_read += 1
            outcome = state.load(record)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        result.rows_loaded = outcomes.get("new", 0) + outcomes.get("changed", 0)
        result.rows_rejected = insert_rejects(
            connection,
            batch_id,
            uri,
            [Reject(e.row, e.reason, None, e.path) for e in rejects],
        )
        result.rows_read += result.rows_rejected
        result.notes.extend(f"{n} {what}" for what, n in sorted(outcomes.items()))

    return run_batch(engine, result, sha256, work)
