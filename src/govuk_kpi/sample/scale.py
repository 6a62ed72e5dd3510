"""A GOV.UK-size generated warehouse, written straight into the tables in bounded memory.

`govuk-kpi sample --pages N --days D` builds, into an empty warehouse:

- the real organisations (the organisations loader, `data/govuk/organisations`), with pages
  spread over them as GOV.UK's own search facet counted documents per organisation
  (`data/govuk/search-api`): a few with tens of thousands of pages, most with a handful;
- synthetic page items of the document types the project knows (`core/document_types.py`),
  in rough shares of GOV.UK's content store (`DOCUMENT_TYPE_WEIGHTS`, an assumption), with
  type 2 editions: title changes, moves and withdrawals on seeded days;
- daily facts for every page on every day, drawn day by day from the sample generator's
  calibrated traffic model (`sample/traffic.py`);
- the rollups, then ANALYZE.

This module is the page and traffic model only: every row goes into the warehouse through
its writer of generated data (`warehouse/fast_write.py`: the batches, bulk content, binary
COPY on PostgreSQL and multi-row inserts on SQLite), and each edition's reader hash is the
content loader's (`warehouse/load_content.reader_hash`), so real content loaded over the
generated pages makes a new edition exactly when a change would.

Every random draw comes from a stream named by (seed, purpose[, day]): two builds with the
same arguments are identical, and one day can be drawn without the days before it, which is
how `write_next_day_csv` writes the analytics CSV of the day after the range.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import yaml
from sqlalchemy import Connection, Engine

from govuk_kpi.core.data import govuk_data_dir
from govuk_kpi.core.document_types import _known as known_document_type_labels
from govuk_kpi.core.document_types import document_type_label
from govuk_kpi.core.errors import ConfigError
from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.sample import traffic as model
from govuk_kpi.sample.generate import (
    DEFAULT_AS_OF,
    DEFAULT_SEED,
    MOVE_SUFFIXES,
    MOVES,
    TITLE_CHANGES,
    TITLE_TEMPLATES,
    WITHDRAWALS,
)
from govuk_kpi.sources.daily_csv import FORMATS
from govuk_kpi.sources.provenance import GENERATED_MARKER
from govuk_kpi.sources.records import EditionRecord, OrganisationRef, TextMetrics
from govuk_kpi.warehouse.calendar import date_key, date_range, ensure_dates
from govuk_kpi.warehouse.db import get_engine, upgrade, write_transaction
from govuk_kpi.warehouse.fast_write import (
    FactDay,
    analyze,
    close_generated_batch,
    fail_generated_batches,
    open_generated_batch,
    organisation_rows,
    page_count,
    write_content,
    write_fact_days,
)
from govuk_kpi.warehouse.load_content import reader_hash
from govuk_kpi.warehouse.load_files import load_organisations_path
from govuk_kpi.warehouse.rollups import RollupResult, refresh_rollups

# --------------------------------------------------------------------------- assumptions

# Rough shares of GOV.UK's content store by document type (pages per 1,000), from the orders
# of magnitude GOV.UK's search showed; not a measurement. Known types not named here share
# `OTHER_TYPE_WEIGHT`; `SINGLE_TYPES` are one-page types (indexes, the homepage) and get none.
DOCUMENT_TYPE_WEIGHTS: dict[str, float] = {
    "html_publication": 150.0, "hmrc_manual_section": 120.0, "employment_tribunal_decision": 80.0,
    "news_story": 60.0, "press_release": 55.0, "guidance": 45.0, "transparency": 40.0,
    "official_statistics": 25.0, "research_for_development_output": 20.0, "corporate_report": 18.0,
    "form": 15.0, "world_news_story": 15.0, "speech": 12.0, "foi_release": 12.0,
    "residential_property_tribunal_decision": 12.0, "national_statistics": 10.0,
    "policy_paper": 10.0, "aaib_report": 10.0, "manual_section": 10.0, "detailed_guide": 8.0,
    "statistical_data_set": 8.0, "correspondence": 8.0, "document_collection": 8.0,
    "research": 7.0, "independent_report": 6.0, "notice": 6.0, "utaac_decision": 6.0,
    "case_study": 5.0, "consultation_outcome": 5.0, "closed_consultation": 5.0,
    "impact_assessment": 5.0, "written_statement": 5.0, "official_statistics_announcement": 4.0,
    "person": 3.0, "oral_statement": 2.0, "government_response": 2.0, "guide": 2.0, "answer": 2.0,
    "contact": 2.0, "statutory_guidance": 2.0, "medical_safety_alert": 2.0, "cma_case": 2.0,
    "tax_tribunal_decision": 2.0, "employment_appeal_tribunal_decision": 2.0, "transaction": 1.5,
    "authored_article": 1.5, "maib_report": 1.5, "protected_food_drink_name": 1.5,
    "organisation": 1.5, "about": 1.5, "national_statistics_announcement": 1.0, "raib_report": 1.0,
    "drug_safety_update": 1.0, "esi_fund": 1.0, "export_health_certificate": 1.0,
    "product_safety_alert_report_recall": 1.0, "international_treaty": 1.0, "decision": 1.0,
    "promotional": 1.0, "taxon": 1.0, "open_consultation": 0.5, "simple_smart_answer": 0.5,
    "local_transaction": 0.5, "licence": 0.5, "manual": 0.5, "regulation": 0.5,
    "fatality_notice": 0.5, "asylum_support_decision": 0.5, "countryside_stewardship_grant": 0.5,
    "statutory_instrument": 0.5, "service_standard_report": 0.5, "smart_answer": 0.3,
    "travel_advice": 0.3, "ministerial_role": 0.3, "world_location_news": 0.3,
    "email_alert_signup": 0.3, "map": 0.3, "business_finance_support_scheme": 0.3,
    "international_development_fund": 0.3, "place": 0.2, "completed_transaction": 0.2,
    "topical_event": 0.2, "service_manual_guide": 0.2, "hmrc_manual": 0.2,
}  # fmt: skip
OTHER_TYPE_WEIGHT = 0.05
SINGLE_TYPES = frozenset(
    {
        "homepage", "search", "finder", "license_finder", "travel_advice_index",
        "service_manual_homepage", "ministers_index", "government", "national", "official",
        "knowledge_alpha", "coronavirus_landing_page", "special_route", "calendar",
    }
)  # fmt: skip

# Document type families: GOV.UK's schema, publishing app and path prefix for each.
_PUBLICATIONS = frozenset(
    {
        "guidance", "form", "corporate_report", "foi_release", "policy_paper", "transparency",
        "research", "independent_report", "notice", "impact_assessment", "correspondence",
        "regulation", "statutory_guidance", "promotional", "decision", "map",
        "international_treaty", "standard",
    }
)  # fmt: skip
_STATISTICS = frozenset({"official_statistics", "national_statistics", "statistics"})
_NEWS = frozenset({"news_story", "press_release", "government_response", "world_news_story"})
_SPEECHES = frozenset({"speech", "oral_statement", "written_statement", "authored_article"})
_CONSULTATIONS = frozenset({"open_consultation", "closed_consultation", "consultation_outcome"})
_MAINSTREAM = frozenset(
    {
        "answer", "guide", "transaction", "simple_smart_answer", "smart_answer",
        "local_transaction", "licence", "place", "completed_transaction", "help_page",
    }
)  # fmt: skip
_SPECIALIST = frozenset(
    {
        "aaib_report", "animal_disease_case", "asylum_support_decision",
        "business_finance_support_scheme", "cma_case", "countryside_stewardship_grant",
        "drcf_digital_markets_research", "drug_safety_update",
        "employment_appeal_tribunal_decision", "employment_tribunal_decision", "esi_fund",
        "export_health_certificate", "flood_and_coastal_erosion_risk_management_research_report",
        "international_development_fund", "maib_report", "medical_safety_alert", "oim_project",
        "product_safety_alert_report_recall", "protected_food_drink_name", "raib_report",
        "research_for_development_output", "residential_property_tribunal_decision",
        "service_standard_report", "statutory_instrument", "tax_tribunal_decision",
        "uk_market_conformity_assessment_body", "utaac_decision",
    }
)  # fmt: skip
# Median words of the body by family (lognormal spread `WORDS_SD`): publications keep their
# text in attachments, HTML publications and guides are long, transactions are a start page.
_WORDS = {
    "publication": 350.0,
    "statistics": 300.0,
    "news": 450.0,
    "speech": 1200.0,
    "consultation": 600.0,
    "mainstream": 450.0,
    "specialist": 900.0,
    "html_publication": 3000.0,
    "detailed_guide": 1500.0,
    "manual": 700.0,
    "other": 400.0,
}
WORDS_SD = 0.8
_PDFS = {"publication": 1.2, "statistics": 1.5, "consultation": 1.5, "specialist": 0.5}
_DOCS = {"statistics": 1.0, "publication": 0.2, "consultation": 0.3}

# Edition changes per page a year (at least the real sample's counts at any size), and the
# pages withdrawn before the range. A share of moved pages is retitled later as well.
TITLE_CHANGES_PER_YEAR = 0.03
MOVES_PER_YEAR = 0.01
WITHDRAWALS_PER_YEAR = 0.015
RETITLED_AFTER_MOVE = 0.2
WITHDRAWN_AT_START = 0.04
EXTRA_ORGANISATION_SHARE = 0.15  # pages that name a second organisation
GOVUK_LAUNCH = date(2012, 10, 17)  # the oldest first publication of a generated page
CHANGE_HOUR = 9  # an edition change becomes visible at 09:00 on its day, as in the sample

_MOVABLE_FAMILIES = frozenset({"mainstream", "publication", "detailed_guide", "manual"})
_WITHDRAWABLE_FAMILIES = frozenset(
    {"publication", "statistics", "news", "speech", "consultation", "detailed_guide",
     "html_publication", "specialist"}
)  # fmt: skip
MOVE, TITLE, WITHDRAWAL = 0, 1, 2  # also the order of one page's changes: a withdrawal is last

ORGANISATIONS_FILE = "organisations/organisations.json"
SEARCH_FACET_FILE = "search-api/import_organisations.yml"

# Independent random streams: (seed, stream[, day]).
_PAGES, _ORGANISATIONS, _TRAFFIC, _CHANGES, _DAY, _VARIANTS = range(6)

# Titles are made of a lead, a subject and a qualifier; every page gets its own combination.
_LEADS = (
    "Apply for", "Check", "Register for", "Report", "Pay", "Renew", "Guidance on", "Changes to",
    "Statistics on", "Consultation on", "Funding for", "Rules for", "Claim", "Get help with",
    "Understanding", "Review of", "Evaluation of", "Update on", "Support for", "Guide to",
    "Planning for", "Managing", "Reforms to", "Standards for", "Data on", "Research into",
    "Protecting", "Improving", "Tackling", "Investing in", "Reporting on", "Inspection of",
    "Eligibility for", "Costs of", "Delivering", "Measuring",
)  # fmt: skip
# The subjects, one text (shorter than as many quoted strings), "; " between them.
_SUBJECT_TEXT = (
    "vehicle tax; child benefit; flood risk; fishing licences; school admissions; pension "
    "credit; VAT returns; driving licences; passport applications; apprenticeships; student "
    "finance; tax credits; universal credit; council tax; import controls; export licences; "
    "animal health; plant health; food hygiene; air quality; water quality; coastal "
    "erosion; rail services; bus services; road safety; cycling infrastructure; housing "
    "benefit; social housing; building safety; fire safety; planning permission; listed "
    "buildings; energy efficiency; heat pumps; electric vehicles; company accounts; self "
    "assessment; corporation tax; business rates; customs declarations; trade tariffs; "
    "immigration rules; visa applications; asylum support; armed forces pensions; veterans' "
    "services; NHS workforce; mental health services; adult social care; early years "
    "education; special educational needs; teacher training; further education; higher "
    "education funding; research grants; space missions; data protection; cyber security; "
    "online safety; broadband coverage; postal services; consumer rights; product safety; "
    "medicines regulation; medical devices; clinical trials; public health; vaccination "
    "programmes; prison services; probation services; court fees; legal aid; jury service; "
    "family courts; land registration; marine licensing; countryside access; farming "
    "payments; woodland grants; waste management; recycling targets; chemical safety; "
    "nuclear decommissioning; offshore wind; oil and gas licensing; mining permits; "
    "aviation security; drone flying; maritime safety; port health; freight transport; "
    "overseas aid; embassy services; foreign travel; international trade; financial "
    "sanctions; defence procurement; reserve forces; civil service jobs; public "
    "appointments; local government finance; electoral registration; charity regulation; "
    "community grants; sport funding; museum funding; broadcasting licences; the National "
    "Lottery; employment rights; the minimum wage; statutory sick pay; parental leave; "
    "workplace pensions; health and safety; disability benefits; Carer's Allowance; "
    "bereavement support; the State Pension; National Insurance; Inheritance Tax; Capital "
    "Gains Tax; Stamp Duty Land Tax; fuel duty; alcohol duty; gambling duty; excise goods; "
    "tax avoidance"
)
_SUBJECTS = tuple(_SUBJECT_TEXT.split("; "))
_PLACES = (
    "in England", "in Wales", "in Scotland", "in Northern Ireland", "in the UK",
    "for employers", "for businesses", "for individuals", "for schools",
    "for local authorities", "for charities", "for landlords", "for farmers",
    "for exporters", "for healthcare professionals", "for contractors",
)  # fmt: skip
_YEARS = range(GOVUK_LAUNCH.year, DEFAULT_AS_OF.year + 1)
_QUALIFIERS: tuple[str, ...] = (
    "",
    *_PLACES,
    *(f": {y}" for y in _YEARS),
    *(f": {y} to {y + 1}" for y in _YEARS),
    *(f" from April {y}" for y in _YEARS),
    *(f": annual report {y}" for y in _YEARS),
    *(f": quarter {q} {y}" for y in _YEARS for q in range(1, 5)),
)
_COMBINATIONS = len(_LEADS) * len(_SUBJECTS) * len(_QUALIFIERS)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")

Progress = Callable[[str, int, int], None]  # (step, days of facts written, days in all)


# --------------------------------------------------------------------------- document types


@dataclass(frozen=True)
class DocumentTypes:
    """The document types pages are drawn from, as parallel arrays and tuples.

    Attributes:
        names: Machine names (`news_story`), each one `core.document_types` knows.
        weights: Share of pages (sums to 1).
        families: The family (`publication`, `news`, `mainstream`, ...) of each.
        schemas: GOV.UK's schema_name of each.
        apps: The publishing app of each.
        prefixes: The base path prefix of each (`/government/news`; `` for top-level paths).
    """

    names: tuple[str, ...]
    weights: np.ndarray
    families: tuple[str, ...]
    schemas: tuple[str, ...]
    apps: tuple[str, ...]
    prefixes: tuple[str, ...]

    def index(self, name: str) -> int:
        return self.names.index(name)


# (document types, family, schema_name ("" for the type's own), publishing app, path prefix
# ("{}" for the type, hyphenated)): the first row that names a type gives its family.
_FAMILIES: tuple[tuple[frozenset[str], str, str, str, str], ...] = (
    (_PUBLICATIONS, "publication", "publication", "whitehall", "/government/publications"),
    (_STATISTICS, "statistics", "publication", "whitehall", "/government/statistics"),
    (_NEWS, "news", "news_article", "whitehall", "/government/news"),
    (_SPEECHES, "speech", "speech", "whitehall", "/government/speeches"),
    (_CONSULTATIONS, "consultation", "consultation", "whitehall", "/government/consultations"),
    (_MAINSTREAM, "mainstream", "", "publisher", ""),
    (_SPECIALIST, "specialist", "specialist_document", "specialist-publisher", "/{}s"),
    (frozenset({"html_publication"}), "html_publication", "", "whitehall",
     "/government/publications"),
    (frozenset({"detailed_guide"}), "detailed_guide", "", "whitehall", "/guidance"),
    (frozenset({"manual", "manual_section"}), "manual", "", "manuals-publisher", "/guidance"),
    (frozenset({"hmrc_manual", "hmrc_manual_section"}), "manual", "", "hmrc-manuals-api",
     "/hmrc-internal-manuals"),
    (frozenset({"homepage"}), "other", "", "publishing-api", ""),
)  # fmt: skip


def _family(name: str) -> tuple[str, str, str, str]:
    """(family, schema_name, publishing_app, path prefix) of a document type."""
    hyphens = name.replace("_", "-")
    for names, family, schema, app, prefix in _FAMILIES:
        if name in names:
            return family, schema or name, app, prefix.format(hyphens)
    if name.endswith("_announcement"):
        return "statistics", "statistics_announcement", "whitehall", "/government/statistics"
    return "other", name, "whitehall", f"/government/{hyphens}"


def document_types() -> DocumentTypes:
    """The known document types with their shares and families (see `DOCUMENT_TYPE_WEIGHTS`)."""
    # The labels are the project's list of document types; a machine name is its label
    # lowercased with underscores, which `document_type_label` turns back into the label.
    names = sorted(
        label.lower().replace(" ", "_") for label in known_document_type_labels().values()
    )
    unknown = set(DOCUMENT_TYPE_WEIGHTS) - set(names)
    if unknown:
        raise ValueError(f"unknown document types in DOCUMENT_TYPE_WEIGHTS: {sorted(unknown)}")
    names = [n for n in names if n not in SINGLE_TYPES] + ["homepage"]
    weights = np.array([DOCUMENT_TYPE_WEIGHTS.get(n, OTHER_TYPE_WEIGHT) for n in names])
    weights[-1] = 0.0  # the homepage is page 1 and only page 1
    families, schemas, apps, prefixes = zip(*(_family(n) for n in names), strict=True)
    return DocumentTypes(
        names=tuple(names),
        weights=weights / weights.sum(),
        families=families,
        schemas=schemas,
        apps=apps,
        prefixes=prefixes,
    )


# --------------------------------------------------------------------------- the page plan


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, *stream])


@dataclass
class PagePlan:
    """Everything about the generated pages that is not in the database yet, as arrays.

    Page `i` (0-based) is page_id `i + 1` and its first edition is edition_key `i + 1`; the
    changes' editions follow, numbered in (day, page) order. Page 0 is the homepage.

    Attributes:
        pages: Number of pages.
        days: Days in the range.
        seed: The seed.
        start: First day of the range.
        as_of: Last day of the range.
        types: The document types `doc` indexes.
        doc: Document type of each page.
        combo: Title combination of each page (see `title`).
        withdrawn: Whether each page was withdrawn before the range.
        first_published: First publication, datetime64[s].
        public_updated: Last public update before the range, datetime64[s].
        words, chars, sentences, pdfs, docs: The body's figures (the same in every edition).
        readability: Flesch reading ease of the body.
        change_page, change_day, change_kind: The edition changes, in (day, page) order.
        change_choice: Per change, which move suffix or title template it uses.
    """

    pages: int
    days: int
    seed: int
    start: date
    as_of: date
    types: DocumentTypes
    doc: np.ndarray
    combo: np.ndarray
    withdrawn: np.ndarray
    first_published: np.ndarray
    public_updated: np.ndarray
    words: np.ndarray
    chars: np.ndarray
    sentences: np.ndarray
    readability: np.ndarray
    pdfs: np.ndarray
    docs: np.ndarray
    change_page: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    change_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    change_kind: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    change_choice: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def change_keys(self) -> np.ndarray:
        """The edition key each change makes."""
        return self.pages + 1 + np.arange(len(self.change_page), dtype=np.int64)

    @property
    def editions(self) -> int:
        return self.pages + len(self.change_page)

    def title(self, i: int) -> str:
        """Page `i`'s first title: a lead, a subject and a qualifier, unique to the page."""
        if i == 0:
            return "Welcome to GOV.UK"
        combo = int(self.combo[i])
        lead, rest = combo % len(_LEADS), combo // len(_LEADS)
        subject, rest = rest % len(_SUBJECTS), rest // len(_SUBJECTS)
        qualifier, repeat = rest % len(_QUALIFIERS), rest // len(_QUALIFIERS)
        text = f"{_LEADS[lead]} {_SUBJECTS[subject]}"
        text += (" " if _QUALIFIERS[qualifier][:1].isalpha() else "") + _QUALIFIERS[qualifier]
        return f"{text} ({repeat + 1})" if repeat else text

    def base_path(self, i: int) -> str:
        """Page `i`'s first base path: its type's prefix and the slug of its title."""
        if i == 0:
            return "/"
        slug = _NOT_SLUG.sub("-", self.title(i).lower().replace("'", "")).strip("-")
        return f"{self.types.prefixes[int(self.doc[i])]}/{slug}"

    def edition_on(self, day: int) -> np.ndarray:
        """Each page's edition key on day index `day`: the newest edition live that day."""
        keys = np.arange(1, self.pages + 1, dtype=np.int64)
        done = self.change_day <= day
        # Later changes of a page have higher keys: the maximum is the newest.
        np.maximum.at(keys, self.change_page[done], self.change_keys[done])
        return keys

    def withdrawn_from(self) -> np.ndarray:
        """The day index from which each page is withdrawn (0 before the range, else a big one)."""
        since = np.where(self.withdrawn, 0, np.iinfo(np.int64).max)
        out = self.change_kind == WITHDRAWAL
        since[self.change_page[out]] = self.change_day[out]
        return since


def plan_pages(pages: int, days: int, seed: int, as_of: date) -> PagePlan:
    """Draw the pages, their content figures and their edition changes.

    Args:
        pages: How many page items (at least 1; page 1 is the homepage).
        days: Days in the range ending on `as_of` (at least 1).
        seed: The seed.
        as_of: Last day of the range.
    """
    if pages < 1 or days < 1:
        raise ConfigError(f"pages and days must be at least 1, not {pages} and {days}")
    types = document_types()
    rng = _rng(seed, _PAGES)
    start = as_of - timedelta(days=days - 1)
    doc = rng.choice(len(types.names), size=pages, p=types.weights)
    doc[0] = types.index("homepage")
    space = max(_COMBINATIONS, pages)
    combo = rng.choice(space, size=pages, replace=False)
    withdrawn = rng.random(pages) < WITHDRAWN_AT_START
    withdrawn[0] = False
    # First publication: any moment from GOV.UK's launch to the day before the range.
    launch = np.datetime64(GOVUK_LAUNCH, "s")
    begin = np.datetime64(start, "s")
    span = int((begin - launch) / np.timedelta64(1, "s"))
    first = launch + rng.integers(0, max(span - 86_400, 1), pages).astype("timedelta64[s]")
    first[0] = launch  # the homepage
    updated_after = (rng.random(pages) * ((begin - first) / np.timedelta64(1, "s"))).astype(
        np.int64
    )
    updated = first + updated_after.astype("timedelta64[s]")

    families = np.array(types.families)[doc]
    median = np.array([_WORDS[f] for f in families])
    words = np.maximum(rng.lognormal(np.log(median), WORDS_SD), 20).astype(np.int64)
    chars = np.rint(words * rng.normal(6.0, 0.25, pages)).astype(np.int64)
    sentences = np.maximum(1, np.rint(words / rng.uniform(14.0, 22.0, pages))).astype(np.int64)
    readability = np.round(np.clip(rng.normal(52.0, 12.0, pages), -20.0, 100.0), 1)
    pdfs = rng.poisson(np.array([_PDFS.get(f, 0.02) for f in families]))
    docs = rng.poisson(np.array([_DOCS.get(f, 0.0) for f in families]))

    plan = PagePlan(
        pages=pages,
        days=days,
        seed=seed,
        start=start,
        as_of=as_of,
        types=types,
        doc=doc,
        combo=combo,
        withdrawn=withdrawn,
        first_published=first,
        public_updated=updated,
        words=words,
        chars=chars,
        sentences=sentences,
        readability=readability,
        pdfs=pdfs,
        docs=docs,
    )
    _plan_changes(plan, families)
    return plan


def _plan_changes(plan: PagePlan, families: np.ndarray) -> None:
    """Choose the title changes, moves and withdrawals and their days (never day 0)."""
    rng = _rng(plan.seed, _CHANGES)
    if plan.days < 2:
        return
    years = plan.days / 365.25
    candidate = ~plan.withdrawn
    candidate[0] = False  # the homepage stays as it is

    def pick(allowed: np.ndarray, per_year: float, at_least: int) -> np.ndarray:
        pool = np.flatnonzero(candidate & allowed)
        count = max(at_least, int(rng.binomial(len(pool), min(1.0, per_year * years))))
        return np.sort(rng.choice(pool, size=min(count, len(pool)), replace=False))

    moves = pick(np.isin(families, list(_MOVABLE_FAMILIES)), MOVES_PER_YEAR, MOVES)
    withdrawals = pick(
        np.isin(families, list(_WITHDRAWABLE_FAMILIES)), WITHDRAWALS_PER_YEAR, WITHDRAWALS
    )
    titles = pick(np.ones(plan.pages, bool), TITLE_CHANGES_PER_YEAR, TITLE_CHANGES)
    retitled = moves[rng.random(len(moves)) < RETITLED_AFTER_MOVE]
    if len(moves) and not len(retitled):
        retitled = moves[:1]  # at any size, one page has a move and a later new title
    titles = np.union1d(titles, retitled)

    kinds: dict[int, list[int]] = {}
    for kind, chosen in ((MOVE, moves), (TITLE, titles), (WITHDRAWAL, withdrawals)):
        for page in chosen.tolist():
            kinds.setdefault(page, []).append(kind)
    rows: list[tuple[int, int, int, int]] = []  # (day, page, kind, choice)
    for page in sorted(kinds):
        own = sorted(kinds[page])[: plan.days - 1]
        on = np.sort(rng.choice(np.arange(1, plan.days), size=len(own), replace=False))
        for day, kind in zip(on.tolist(), own, strict=True):
            rows.append((day, page, kind, int(rng.integers(0, 12))))
    rows.sort()
    if rows:
        table = np.array(rows, dtype=np.int64)
        plan.change_day, plan.change_page = table[:, 0], table[:, 1]
        plan.change_kind, plan.change_choice = table[:, 2], table[:, 3]


# --------------------------------------------------------------------------- editions


@dataclass(frozen=True)
class _EditionState:
    base_path: str
    title: str
    withdrawn: bool
    public_updated: datetime


def _page_editions(
    plan: PagePlan,
) -> Iterator[tuple[int, list[tuple[int, datetime, _EditionState]]]]:
    """Per page in order: its editions as (edition_key, valid_from, state), oldest first."""
    by_page: dict[int, list[int]] = {}
    for c, page in enumerate(plan.change_page.tolist()):
        by_page.setdefault(page, []).append(c)
    first = plan.first_published.astype("datetime64[us]").tolist()
    updated = plan.public_updated.astype("datetime64[us]").tolist()
    keys = plan.change_keys.tolist()
    for i in range(plan.pages):
        state = _EditionState(plan.base_path(i), plan.title(i), bool(plan.withdrawn[i]), updated[i])
        editions = [(i + 1, first[i], state)]
        for c in by_page.get(i, ()):
            day = plan.start + timedelta(days=int(plan.change_day[c]))
            moment = datetime(day.year, day.month, day.day, CHANGE_HOUR)
            kind, choice = int(plan.change_kind[c]), int(plan.change_choice[c])
            if kind == MOVE:
                suffix = MOVE_SUFFIXES[choice % len(MOVE_SUFFIXES)]
                state = _EditionState(f"{state.base_path}-{suffix}", state.title, False, moment)
            elif kind == TITLE:
                template = TITLE_TEMPLATES[choice % len(TITLE_TEMPLATES)]
                title = template.format(state.title)
                state = _EditionState(state.base_path, title, False, state.public_updated)
            else:
                state = _EditionState(state.base_path, state.title, True, moment)
            editions.append((keys[c], moment, state))
        yield i, editions


def final_paths(plan: PagePlan) -> list[str]:
    """Each page's base path at the end of the range (after its moves)."""
    return [editions[-1][2].base_path for _i, editions in _page_editions(plan)]


# --------------------------------------------------------------------------- traffic


class Traffic:
    """The traffic model (`sample/traffic.py`) for every page, drawn one day at a time.

    The expected page views of a page on a day are its rank's monthly views (the real head
    slope, then a tail to tens a month) × the weekday shape × its yearly trend, cut by
    `WITHDRAWN_FACTOR` once withdrawn, plus a decaying spike for news pages and a bump for a
    few trending pages. The nine other metrics are binomial thinnings with each page's
    ratios drawn from the real table of its document type, as the sample generator's.
    """

    def __init__(self, plan: PagePlan, cal: model.Calibration) -> None:
        self.plan = plan
        n = plan.pages
        rng = _rng(plan.seed, _TRAFFIC)
        names = np.array(plan.types.names)[plan.doc]
        homepage = np.arange(n) == 0
        popularity = model.draw_popularity(
            rng, model.rank_weights(names, homepage, plan.withdrawn), cal
        )
        self.base_daily, self.growth = popularity.base_daily, popularity.growth
        self.withdrawn_from = plan.withdrawn_from()
        # Per-page ratios from the real rows of the page's type (else the ordinary pages').
        table_types = np.array(cal.table_types)
        row = np.empty(n, dtype=np.int64)
        for d in np.unique(plan.doc).tolist():
            where = np.flatnonzero(plan.doc == d)
            pool = model.ratio_pool(table_types, plan.types.names[d])
            row[where] = pool[rng.integers(0, pool.size, where.size)]
        entrance = model.draw_entrance(rng, model.entrance_base(names, homepage))
        self.rates = model.page_rates(cal, row, entrance, model.seconds_per_view(plan.words))
        self._draw_moments(rng, names, cal)
        self.shape = model.noise_shape(cal)

    def _draw_moments(
        self, rng: np.random.Generator, names: np.ndarray, cal: model.Calibration
    ) -> None:
        """News moments (a share of news pages spike once, decaying over days) and the few
        pages that trend once, by the real trending pages' median multiplier."""
        n, days = self.plan.pages, self.plan.days
        self.news = np.flatnonzero(
            np.isin(names, list(model.NEWS_TYPES)) & (rng.random(n) < model.NEWS_SHARE)
        )
        self.news_at = rng.integers(0, days, self.news.size)
        low, high = math.log(model.NEWS_LEAST_WEEKLY), math.log(cal.news_top_weekly)
        self.news_week = np.exp(rng.uniform(low, high, self.news.size))
        count = min(max(model.TRENDING_SPIKES, n // 10_000), n - 1)
        self.trending = np.sort(rng.choice(np.arange(1, n), size=count, replace=False))
        self.trending_at = rng.integers(0, days, count)
        self.trending_multiplier = cal.trending_multiplier

    def expected(self, day: int) -> np.ndarray:
        """Expected page views of every page on day index `day` (may be past the range)."""
        plan = self.plan
        shape = model.week_shape((plan.start + timedelta(days=day)).weekday())
        lam = model.expected_views(
            self.base_daily, self.growth, shape, model.trend_years(day, plan.days)
        )
        lam[self.withdrawn_from <= day] *= model.WITHDRAWN_FACTOR
        after = day - self.news_at
        on = after >= 0
        lam[self.news[on]] += model.news_spike(self.news_week[on], after[on])
        after = day - self.trending_at
        on = after >= 0
        lam[self.trending[on]] *= model.trending_factor(after[on], self.trending_multiplier)
        return lam

    def day(self, day: int) -> np.ndarray:
        """The ten daily metrics (rows, in `DAILY_METRICS` order) of every page on `day`."""
        rng = _rng(self.plan.seed, _DAY, day)
        values = model.draw_metrics(
            rng, self.expected(day), self.rates, self.shape, self.plan.pages, model.SCALE_DRAW_ORDER
        )
        return np.stack([values[m] for m in DAILY_METRICS]).astype(np.int64)


# --------------------------------------------------------------------------- organisations


def _search_facet_counts(data_dir: Path) -> dict[str, int]:
    """Documents per organisation content_id in GOV.UK's search facet (2016 recording)."""
    recording = yaml.safe_load((data_dir / SEARCH_FACET_FILE).read_text(encoding="utf-8"))
    counts: dict[str, int] = {}
    for interaction in recording["http_interactions"]:
        body = json.loads(interaction["response"]["body"]["string"])
        for option in body.get("facets", {}).get("organisations", {}).get("options", []):
            content_id = option.get("value", {}).get("content_id")
            if content_id:
                counts[content_id] = int(option["documents"])
    return counts


@dataclass(frozen=True)
class _Organisations:
    keys: np.ndarray  # organisation_key per page: the primary organisation
    extra: np.ndarray  # a second organisation_key per page, 0 for none
    content_ids: dict[int, str]  # organisation_key: content_id


def _assign_organisations(connection: Connection, plan: PagePlan, data_dir: Path) -> _Organisations:
    """Spread the pages over the loaded organisations as the search facet counted them.

    Organisations the 2016 facet does not know (most of them newer) count as its median one.
    """
    rows = organisation_rows(connection)
    if not rows:
        raise ConfigError("no organisations loaded: the scale sample needs them")
    rng = _rng(plan.seed, _ORGANISATIONS)
    facet = _search_facet_counts(data_dir)
    median = float(np.median(list(facet.values()))) if facet else 1.0
    counts = np.array([float(facet.get(content_id, median)) for _, content_id, _ in rows])
    counts = np.maximum(counts, 1.0)
    keys = np.array([key for key, _, _ in rows], dtype=np.int64)
    chosen = rng.choice(len(keys), size=plan.pages, p=counts / counts.sum())
    extra = rng.choice(len(keys), size=plan.pages, p=counts / counts.sum())
    has_extra = (rng.random(plan.pages) < EXTRA_ORGANISATION_SHARE) & (extra != chosen)
    slugs = [slug for _, _, slug in rows]
    if "government-digital-service" in slugs:  # GOV.UK's own homepage
        chosen[0] = slugs.index("government-digital-service")
        has_extra[0] = False
    content_ids = {key: content_id for key, content_id, _ in rows}
    return _Organisations(keys[chosen], np.where(has_extra, keys[extra], 0), content_ids)


# --------------------------------------------------------------------------- batches


def scale_uri(pages: int, days: int, seed: int, as_of: date) -> str:
    """The honest URI of a generated batch: what made it, not a file."""
    return f"generated:scale?pages={pages}&days={days}&seed={seed}&as_of={as_of.isoformat()}"


# --------------------------------------------------------------------------- content


def _content_ids(plan: PagePlan) -> list[str]:
    raw = _rng(plan.seed, _PAGES, 1).integers(0, 256, (plan.pages, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # a version 4 UUID, as GOV.UK's content ids are
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexes = [bytes(row).hex() for row in raw]
    return [f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in hexes]


def _edition_rows(
    plan: PagePlan, orgs: _Organisations, content_ids: list[str], type_key: dict[int, int]
) -> Iterator[tuple[object, ...]]:
    """Every edition's `dim_edition` row (`fast_write.EDITION_COLUMNS`), page after page.

    Each edition's reader hash is the content loader's (`load_content.reader_hash`) of the
    record a content item in that state would be, so that loading real content over the
    generated pages makes a new edition exactly when the loader would.
    """
    first = plan.first_published.astype("datetime64[us]").tolist()
    figures = np.stack([plan.words, plan.chars, plan.sentences, plan.pdfs, plan.docs]).T.tolist()
    readability = plan.readability.tolist()
    primary, extra = orgs.keys.tolist(), orgs.extra.tolist()
    for i, own in _page_editions(plan):
        d = int(plan.doc[i])
        name = plan.types.names[d]
        label = document_type_label(name)
        words, chars, sentences, pdfs, docs = figures[i]
        metrics = TextMetrics(words, chars, sentences, readability[i], pdfs, docs)
        lead = OrganisationRef(orgs.content_ids[primary[i]])
        refs = (lead, OrganisationRef(orgs.content_ids[extra[i]])) if extra[i] else (lead,)
        # Each edition ends when the page's next begins; the last is live and the newest.
        ends = [valid_from for _key, valid_from, _state in own[1:]] + [None]
        for (key, valid_from, state), valid_to in zip(own, ends, strict=True):
            description = f"{label}: {state.title[0].lower()}{state.title[1:]}."
            record = EditionRecord(
                content_id=content_ids[i], locale="en", base_path=state.base_path,
                title=state.title, description=description, document_type=name,
                schema_name=plan.types.schemas[d], publishing_app=plan.types.apps[d],
                primary_organisation=lead, organisations=refs, first_published_at=first[i],
                public_updated_at=state.public_updated, updated_at=None,
                withdrawn=state.withdrawn, phase="live", metrics=metrics,
            )  # fmt: skip
            yield (
                key, i + 1, content_ids[i], "en", state.base_path, state.title, description,
                type_key[d], plan.types.schemas[d], plan.types.apps[d], primary[i],
                first[i], state.public_updated, state.withdrawn, "live", valid_from,
                valid_to, valid_to is None, valid_to is None, reader_hash(record),
            )  # fmt: skip


def _write_content(
    connection: Connection, plan: PagePlan, orgs: _Organisations, batch_id: int
) -> None:
    """Document types, pages, editions, their organisations and figures, in bulk."""
    used = np.unique(plan.doc).tolist()
    type_key = {d: k for k, d in enumerate(used, start=1)}
    content_ids = _content_ids(plan)
    # Every edition of a page has the page's organisations and body figures.
    keys = np.concatenate([np.arange(1, plan.pages + 1), plan.change_keys]).tolist()
    page_of = np.concatenate([np.arange(plan.pages), plan.change_page]).tolist()
    primary, extra = orgs.keys.tolist(), orgs.extra.tolist()

    def links() -> Iterator[tuple[int, int, bool]]:
        for key, i in zip(keys, page_of, strict=True):
            yield key, primary[i], True
            if extra[i]:
                yield key, extra[i], False

    figures = np.stack([plan.words, plan.chars, plan.sentences, plan.pdfs, plan.docs]).T.tolist()
    readability = plan.readability.tolist()

    def metrics() -> Iterator[tuple[object, ...]]:
        for key, i in zip(keys, page_of, strict=True):
            words, chars, sentences, pdfs, docs = figures[i]
            yield key, words, chars, sentences, readability[i], pdfs, docs, -(-words // 200)

    write_content(
        connection,
        batch_id,
        document_types=[
            (type_key[d], plan.types.names[d], document_type_label(plan.types.names[d]))
            for d in used
        ],
        pages=((i + 1, content_ids[i], "en") for i in range(plan.pages)),
        editions=_edition_rows(plan, orgs, content_ids, type_key),
        links=links(),
        metrics=metrics(),
    )


# --------------------------------------------------------------------------- daily facts


def _days(plan: PagePlan, traffic: Traffic) -> Iterator[FactDay]:
    """Every day of the range, one at a time: only one day is ever held."""
    for day in range(plan.days):
        editions = plan.edition_on(day)
        order = np.argsort(editions, kind="stable")
        metrics = traffic.day(day)[:, order]
        yield FactDay(
            date_key=date_key(plan.start + timedelta(days=day)),
            edition_keys=editions[order],
            page_ids=order + 1,
            metrics=metrics,
            with_feedex=metrics[DAILY_METRICS.index("feedex")] > 0,
        )


# --------------------------------------------------------------------------- the build


@dataclass
class ScaleBuild:
    """What `build_scale` made, and how long each step took.

    Attributes:
        pages, days, seed, start, as_of: The arguments and the range.
        organisations: Organisations loaded.
        editions: Editions written.
        facts: Daily fact rows written.
        batches: Batch id per source (organisations, content, analytics, feedback).
        seconds: Seconds per step (schema, organisations, content, facts, rollups, analyze).
        rollup: What the rollups refresh did.
    """

    pages: int
    days: int
    seed: int
    start: date
    as_of: date
    organisations: int = 0
    editions: int = 0
    facts: int = 0
    batches: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    rollup: RollupResult | None = None

    def summary(self) -> str:
        """One line for the command line."""
        took = ", ".join(f"{step} {s:.1f} s" for step, s in self.seconds.items())
        return (
            f"scale sample warehouse: {self.pages:,} pages, {self.editions:,} editions, "
            f"{self.facts:,} daily facts ({self.start} to {self.as_of}); {took}"
        )


def _require_empty(connection: Connection) -> None:
    if page_count(connection):
        raise ConfigError(
            "the warehouse already holds pages: build the scale sample into an empty database"
        )


def build_scale(
    url: str | None,
    pages: int,
    days: int,
    seed: int = DEFAULT_SEED,
    as_of: date = DEFAULT_AS_OF,
    *,
    progress: Progress = lambda _step, _done, _total: None,
    data_dir: Path | None = None,
) -> ScaleBuild:
    """Build a generated warehouse of `pages` pages × `days` days into the empty database at `url`.

    Memory stays bounded by one day of facts (plus a few arrays per page), whatever `days`.

    Args:
        url: The warehouse (see `warehouse.db.database_url`); migrated here.
        pages: Page items (page 1 is the homepage).
        days: Days of daily facts, ending on `as_of`.
        seed: The seed: the same arguments build the same warehouse.
        as_of: The last day.
        progress: Called with (step, days of facts written, days) as the build goes.
        data_dir: The real GOV.UK data folder (default `govuk_data_dir()`).

    Raises:
        ConfigError: the warehouse holds pages already, or a size is below 1.
    """
    data = data_dir if data_dir is not None else govuk_data_dir()
    build = ScaleBuild(pages, days, seed, as_of - timedelta(days=days - 1), as_of)
    uri = scale_uri(pages, days, seed, as_of)
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        build.seconds[step] = build.seconds.get(step, 0.0) + now - clock
        clock = now

    progress("schema", 0, days)
    plan = plan_pages(pages, days, seed, as_of)  # fails on a bad size before touching the db
    upgrade(url)
    engine = get_engine(url)
    with engine.connect() as connection:
        _require_empty(connection)
    lap("schema")

    progress("organisations", 0, days)
    loaded = load_organisations_path(engine, data / ORGANISATIONS_FILE)
    build.batches["organisations"] = loaded.batch_id or loaded.skipped_as or 0
    lap("organisations")

    progress("content", 0, days)
    with write_transaction(engine) as connection:
        _require_empty(connection)
        orgs = _assign_organisations(connection, plan, data)
        build.organisations = len(orgs.content_ids)
        content = open_generated_batch(connection, "content", uri)
        _write_content(connection, plan, orgs, content)
        close_generated_batch(connection, content, plan.editions)
    build.batches["content"] = content
    build.editions = plan.editions
    lap("content")

    progress("facts", 0, days)
    _write_facts(engine, build, plan, Traffic(plan, model.load_calibration(data)), progress)
    lap("facts")

    progress("rollups", days, days)
    build.rollup = refresh_rollups(engine, full=True)
    lap("rollups")
    progress("analyze", days, days)
    analyze(engine)
    lap("analyze")
    return build


def _write_facts(
    engine: Engine, build: ScaleBuild, plan: PagePlan, traffic: Traffic, progress: Progress
) -> None:
    """The dates, then every day's facts in an analytics and a feedback batch."""
    uri = scale_uri(build.pages, build.days, build.seed, build.as_of)
    with write_transaction(engine) as connection:
        ensure_dates(connection, date_range(build.start, build.as_of))
        analytics = open_generated_batch(connection, "analytics", uri, build.start, build.as_of)
        feedback = open_generated_batch(connection, "feedback", uri, build.start, build.as_of)
    build.batches.update(analytics=analytics, feedback=feedback)
    written = counted = 0

    def done(day: FactDay) -> None:
        nonlocal written, counted
        written += 1
        counted += int(day.with_feedex.sum())
        progress("facts", written, build.days)

    try:
        build.facts = write_fact_days(engine, _days(plan, traffic), analytics, feedback, done)
    except BaseException as exc:
        # Say so in the batches (SQLite keeps the days it committed); the error is the news.
        fail_generated_batches(engine, (analytics, feedback), exc)
        raise
    with write_transaction(engine) as connection:
        close_generated_batch(connection, analytics, build.facts)
        close_generated_batch(connection, feedback, counted)


# --------------------------------------------------------------------------- the next day


def write_next_day_csv(
    out_dir: Path,
    pages: int,
    days: int,
    seed: int = DEFAULT_SEED,
    as_of: date = DEFAULT_AS_OF,
    *,
    data_dir: Path | None = None,
) -> Path:
    """Write the analytics CSV (docs/formats.md) of the day after `as_of` for the same pages.

    The day is drawn by the build's model, as the day after its last: one row per page
    viewed that day at its live path (a few spelt as analytics tools spell them:
    `VARIANT_SHARE`), sorted by path. `GENERATED.txt` beside it marks the file as generated
    data, so the loader marks its batch so.

    Args:
        out_dir: Folder to write `analytics-YYYY-MM-DD.csv` and `GENERATED.txt` into.
        pages, days, seed, as_of: The arguments the warehouse was built with.
        data_dir: The real GOV.UK data folder (default `govuk_data_dir()`).

    Returns:
        The CSV file.
    """
    data = data_dir if data_dir is not None else govuk_data_dir()
    plan = plan_pages(pages, days, seed, as_of)
    metrics = Traffic(plan, model.load_calibration(data)).day(days)
    day = as_of + timedelta(days=1)
    paths = final_paths(plan)
    rng = _rng(seed, _VARIANTS, days)
    variant = rng.random(pages) < model.VARIANT_SHARE
    kinds = rng.integers(0, 4, pages)
    analytics = [m for m in FORMATS["analytics"][2:]]
    table = metrics[[DAILY_METRICS.index(m) for m in analytics]].T.tolist()
    lines: list[tuple[str, str]] = []
    iso = day.isoformat()
    for i in np.flatnonzero(metrics[DAILY_METRICS.index("pviews")] > 0).tolist():
        lines.append(
            model.analytics_row(iso, paths[i], int(kinds[i]) if variant[i] else None, table[i])
        )
    lines.sort()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"analytics-{iso}.csv"
    with target.open("w", encoding="utf-8", newline="\n") as out:
        out.write(",".join(FORMATS["analytics"]) + "\n")
        out.writelines(line for _, line in lines)
    made_by = scale_uri(pages, days, seed, as_of)
    (out_dir / GENERATED_MARKER).write_text(
        f"GENERATED SAMPLE DATA\n\n{target.name}: generated page views ({made_by}),"
        " not real GOV.UK figures.\n",
        encoding="utf-8",
        newline="\n",
    )
    return target
