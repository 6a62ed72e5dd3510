"""Plain records the sources produce and the warehouse loads. No database types here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class OrganisationRef:
    """An organisation as a content item links to it."""

    content_id: str
    title: str | None = None
    slug: str | None = None  # last segment of /government/organisations/<slug>
    acronym: str | None = None


@dataclass(frozen=True)
class TextMetrics:
    """Figures about the edition's body text and attachments (DESIGN.md's edition metrics)."""

    words: int
    chars: int
    sentences: int
    readability: float | None  # Flesch reading ease; None when there are no words
    pdf_count: int
    doc_count: int

    @property
    def reading_time(self) -> int:
        """Minutes, ceil(words / 200)."""
        return -(-self.words // 200)


@dataclass(frozen=True)
class EditionRecord:
    """One content item as the Content API returned it, reduced to what the warehouse keeps."""

    content_id: str
    locale: str
    base_path: str  # normalised with core.paths.normalise_path
    title: str
    description: str | None
    document_type: str
    schema_name: str
    publishing_app: str | None
    primary_organisation: OrganisationRef | None
    organisations: tuple[OrganisationRef, ...]  # all, primary first when it is among them
    first_published_at: datetime | None  # timezone-aware UTC
    public_updated_at: datetime | None
    updated_at: datetime | None
    withdrawn: bool
    phase: str | None
    metrics: TextMetrics
    source_row: int | None = None  # position in a multi-item file, else None

    @property
    def item(self) -> str:
        """The page item key, content_id:locale."""
        return f"{self.content_id}:{self.locale}"


@dataclass(frozen=True)
class OrganisationRecord:
    """One organisation as the Organisations API returns it."""

    content_id: str
    slug: str
    title: str  # HTML entities decoded
    acronym: str | None
    organisation_type: str | None  # the API's `format`, e.g. "Ministerial department"
    status: str | None  # govuk_status: live, closed, exempt, transitioning, ...
    closed_at: date | None
    parent_slugs: tuple[str, ...] = field(default_factory=tuple)
    superseded_by_slugs: tuple[str, ...] = field(default_factory=tuple)
    analytics_identifier: str | None = None


@dataclass(frozen=True)
class Reject:
    """A row that was not loaded: 1-based row number (the header is row 1), reason, raw line."""

    row: int | None
    reason: str
    raw_line: str | None
    source_file: str | None = None  # when it differs from the batch's input (a folder's file)
