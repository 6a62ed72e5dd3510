"""Load content items into the edition dimension (type 2), organisation links and edition facts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from govuk_kpi.core.document_types import document_type_label
from govuk_kpi.core.errors import InputError
from govuk_kpi.sources.records import EditionRecord, OrganisationRef, Reject
from govuk_kpi.warehouse.batch import (
    BatchResult,
    ItemOutcomes,
    NothingChanged,
    earlier_identical,
    insert_rejects,
    run_batch,
)
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
class _Edition:
    edition_key: int
    page_id: int
    base_path: str
    reader_hash: str
    valid_from: datetime
    is_live: bool


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
        newest = select(func.max(DimEdition.edition_key)).group_by(DimEdition.page_id)
        rows = connection.execute(
            select(
                DimEdition.edition_key,
                DimEdition.page_id,
                DimEdition.base_path,
                DimEdition.reader_hash,
                DimEdition.valid_from,
                DimEdition.is_live,
            ).where(DimEdition.edition_key.in_(newest.scalar_subquery()))
        ).all()
        # Each page's newest edition, live or not: a page whose path another page took stays
        # retired until its own content changes, so loading the same input again is a no-op.
        self.newest_by_page = {row.page_id: _Edition(*row) for row in rows}
        self.live_by_path = {
            row.base_path: self.newest_by_page[row.page_id] for row in rows if row.is_live
        }

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

    def _retire(self, edition: _Edition, valid_to: datetime) -> None:
        if not edition.is_live:
            return
        self.c.execute(
            update(DimEdition)
            .where(DimEdition.edition_key == edition.edition_key)
            .values(is_live=False, valid_to=max(valid_to, edition.valid_from))
        )
        edition.is_live = False
        if self.live_by_path.get(edition.base_path) is edition:
            del self.live_by_path[edition.base_path]

    def _discard(self, edition: _Edition) -> None:
        """Drop an edition seen at this same moment: the later observation replaces it."""
        for table in (EditionOrganisation, FactEditionMetrics):
            self.c.execute(delete(table).where(table.edition_key == edition.edition_key))
        self.c.execute(delete(DimEdition).where(DimEdition.edition_key == edition.edition_key))
        if self.live_by_path.get(edition.base_path) is edition:
            del self.live_by_path[edition.base_path]

    def load(self, record: EditionRecord) -> str:
        """Apply one record; returns what happened: new, changed, unchanged or stale."""
        page_id = self.page_id(record)
        signature = reader_hash(record)
        current = self.newest_by_page.get(page_id)
        valid_from = self.observed_at
        if current is not None:
            if current.reader_hash == signature:
                return "unchanged"
            if current.valid_from > self.observed_at:
                return "stale"
            if current.valid_from == self.observed_at:
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
        edition_key = self._insert(record, page_id, signature, valid_from)
        live = _Edition(edition_key, page_id, record.base_path, signature, valid_from, True)
        self.newest_by_page[page_id] = live
        self.live_by_path[record.base_path] = live
        return "changed" if current is not None else "new"

    def _insert(
        self, record: EditionRecord, page_id: int, signature: str, valid_from: datetime
    ) -> int:
        primary = record.primary_organisation
        # The page's previous newest edition steps back before the new one takes its place.
        self.c.execute(
            update(DimEdition)
            .where(DimEdition.page_id == page_id, DimEdition.is_latest)
            .values(is_latest=False)
        )
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
                    "is_latest": True,
                    "reader_hash": signature,
                    "batch_id": self.batch_id,
                }
            ],
        ).scalar_one()
        links = {self.organisation_key(ref): False for ref in record.organisations}
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
        return edition_key


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
        # One input is one observation: where it holds an item twice, the later record wins.
        latest: dict[tuple[str, str], EditionRecord] = {}
        for record in records:
            result.rows_read += 1
            latest.pop((record.content_id, record.locale), None)
            latest[(record.content_id, record.locale)] = record
        parsed = result.rows_read
        for record in latest.values():
            outcome = state.load(record)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        result.rows_loaded = outcomes.get("new", 0) + outcomes.get("changed", 0)
        result.outcomes = ItemOutcomes(
            new=outcomes.get("new", 0),
            changed=outcomes.get("changed", 0),
            unchanged=outcomes.get("unchanged", 0) + outcomes.get("stale", 0),
            collapsed=parsed - len(latest),
        )
        result.rows_rejected = insert_rejects(
            connection,
            batch_id,
            uri,
            [Reject(e.row, e.reason, None, e.path) for e in rejects],
        )
        result.rows_read += result.rows_rejected
        if result.outcomes.collapsed:
            result.notes.append(
                f"{result.outcomes.collapsed} collapsed into a later record of the same item"
            )
        if result.rows_loaded == 0:
            earlier = earlier_identical(connection, "content", sha256)
            if earlier is not None:
                raise NothingChanged(earlier)
        if outcomes.get("stale"):
            result.notes.append(f"{outcomes['stale']} older than the edition already held")

    return run_batch(engine, result, sha256, work)
