"""Seeded, calibrated generator of the sample data set's usage figures and edition changes.

The real public GOV.UK data gives content items but no daily per-page time series and no
feedback counts, so those are generated here (DESIGN.md, "The sample data set"):

- daily analytics rows (`analytics/analytics-YYYY-MM.csv`) and feedback counts
  (`feedback/feedback-YYYY-MM.csv`) for every page, over 13 months ending on the as-of date;
- a few edition changes (title changes, moves, withdrawals) written as changed Content API
  documents (`content-updates/<YYYY-MM-DD>/<stem>.json`) so the slowly changing dimension is
  exercised;
- `GENERATED.txt` and `manifest.json`, which say plainly that the figures are generated.

The figures come from the traffic model (`sample/traffic.py`), calibrated at generation time
on the real figures in `pageviews-2014/*.json` and `content-data-2022/table.json` (see
`Calibration`). The few constants the real files cannot give (weekend dip,
entrance/bounce/exit shares, the bottom of the tail) are named constants there and are listed
in `manifest.json` as assumptions.

Two runs with the same pages, as-of date and seed write byte-identical files.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np

from govuk_kpi.core.data import govuk_data_dir
from govuk_kpi.core.paths import normalise_path
from govuk_kpi.sample.traffic import (
    BOUNCE_SHARE,
    CALIBRATION_FILES,
    DEFAULT_SECONDS_PER_VIEW,
    ENTRANCE_SHARE,
    EXIT_SHARE,
    FLOOR_MONTHLY_PVIEWS,
    GENERATE_DRAW_ORDER,
    HEAD_RANKS,
    NEWS_LEAST_WEEKLY,
    NEWS_SHARE,
    NEWS_TYPES,
    TREND_SD_PER_YEAR,
    TRENDING_SPIKES,
    VARIANT_SHARE,
    WEEKEND_FACTOR,
    WITHDRAWN_FACTOR,
    Calibration,
    Rates,
    analytics_row,
    csv_field,
    draw_entrance,
    draw_metrics,
    draw_popularity,
    entrance_base,
    expected_views,
    load_calibration,
    news_spike,
    noise_shape,
    page_rates,
    rank_weights,
    ratio_pool,
    seconds_per_view,
    trend_years,
    trending_factor,
    week_shape,
    with_entrance,
)

DEFAULT_SEED = 20261127
DEFAULT_AS_OF = date(2026, 10, 31)

ANALYTICS_COLUMNS: tuple[str, ...] = (
    "date",
    "path",
    "pviews",
    "upviews",
    "useful_yes",
    "useful_no",
    "searches",
    "entrances",
    "exits",
    "bounces",
    "page_time",
)
FEEDBACK_COLUMNS: tuple[str, ...] = ("date", "path", "feedex")

MOVED_OLD_PATH_SHARE = 0.05  # traffic that keeps arriving at a moved page's old path

# Edition changes: which schemas may have them (pages with a reader-facing title and body).
TITLE_CHANGE_SCHEMAS = frozenset(
    {
        "answer",
        "guide",
        "detailed_guide",
        "publication",
        "news_article",
        "transaction",
        "simple_smart_answer",
        "local_transaction",
        "case_study",
        "consultation",
        "speech",
        "html_publication",
        "document_collection",
        "help_page",
        "corporate_information_page",
        "statistical_data_set",
        "manual",
        "service_manual_guide",
        "travel_advice",
        "licence",
    }
)
MOVE_SCHEMAS = frozenset(
    {
        "answer",
        "guide",
        "detailed_guide",
        "transaction",
        "simple_smart_answer",
        "local_transaction",
        "publication",
        "help_page",
        "document_collection",
        "licence",
    }
)
WITHDRAW_SCHEMAS = frozenset(
    {
        "news_article",
        "publication",
        "detailed_guide",
        "case_study",
        "consultation",
        "speech",
        "answer",
        "guide",
        "html_publication",
        "statistical_data_set",
        "document_collection",
        "call_for_evidence",
        "corporate_information_page",
    }
)
TITLE_CHANGES = 3
MOVES = 2
WITHDRAWALS = 2
TITLE_TEMPLATES = ("{}: guidance", "{} – what you need to know", "{} (updated)")
MOVE_SUFFIXES = ("online", "explained", "service", "information")

# Paths that match no content item: typos, retired pages, search results.
UNMATCHED_PATHS: tuple[str, ...] = (
    "/search/all",
    "/government/some-retired-page",
    "/foo-typo",
    "/browse/benefits/old-section",
    "/apply-for-a-retired-service",
)
UNMATCHED_DAILY_PVIEWS = (40.0, 6.0, 3.0, 4.0, 8.0)

_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class SamplePage:
    """A page of the sample, reduced to what the generator needs.

    Attributes:
        base_path: Normalised base path (lowercase, no trailing slash except "/").
        document_type: The content item's document_type.
        organisation: content_id of the primary publishing organisation, if any.
        first_published: Date of first publication, if known.
        withdrawn: True when the content item carries a withdrawn notice.
        source_file: The content item JSON it came from.
        words: Words of the body text, if known (sets the time spent on the page).
    """

    base_path: str
    document_type: str
    organisation: str | None
    first_published: date | None
    withdrawn: bool
    source_file: Path
    words: int | None = None


@dataclass(frozen=True)
class EditionChange:
    """One generated edition change.

    Attributes:
        on: The change date.
        kind: "title", "move" or "withdrawal".
        base_path: The page's base path before the change.
        new_base_path: The base path after a move, else None.
        new_title: The title after a title change, else None.
        file: The changed Content API document.
    """

    on: date
    kind: str
    base_path: str
    new_base_path: str | None
    new_title: str | None
    file: Path


@dataclass(frozen=True)
class SampleManifest:
    """What `generate_sample` wrote.

    Attributes:
        as_of: Last day of the range.
        start: First day of the range.
        seed: The random seed.
        analytics_files: One CSV per month, chronological.
        feedback_files: One CSV per month, chronological.
        content_updates: (change date, changed JSON document), chronological.
        rows: Analytics rows written.
        changes: The edition changes, chronological.
    """

    as_of: date
    start: date
    seed: int
    analytics_files: tuple[Path, ...]
    feedback_files: tuple[Path, ...]
    content_updates: tuple[tuple[date, Path], ...]
    rows: int
    changes: tuple[EditionChange, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------- pages


def _body_words(details: Any) -> int | None:
    """Words of a content item's body (details.body or the parts' bodies), None if none."""
    if not isinstance(details, dict):
        return None
    texts: list[str] = []
    body = details.get("body")
    if isinstance(body, str):
        texts.append(body)
    elif isinstance(body, list):  # multiple content types: take the HTML one
        texts.extend(
            b.get("content", "")
            for b in body
            if isinstance(b, dict) and b.get("content_type") == "text/html"
        )
    for part in details.get("parts") or []:
        if isinstance(part, dict) and isinstance(part.get("body"), str):
            texts.append(part["body"])
    if not texts:
        return None
    return sum(len(_TAG.sub(" ", text).split()) for text in texts)


def _first_org(links: Any) -> str | None:
    """content_id of the primary publishing organisation, else of the first organisation."""
    if not isinstance(links, dict):
        return None
    for key in ("primary_publishing_organisation", "organisations"):
        for org in links.get(key) or []:
            if isinstance(org, dict) and org.get("content_id"):
                return str(org["content_id"])
    return None


# Schema examples among the real content items that are not pages a reader could visit: in
# the sample they would pose as GOV.UK's busiest pages or as another organisation's. The
# loaders' tests keep them, as the messy input they are.
NOT_REAL_PAGES: dict[str, str] = {
    "fatality_notice/fatality_notice.json": "an 1881 Boer War notice under HMRC's content id",
    "fatality_notice/fatality_notice_with_minister.json": "the same notice, with a minister",
    "fatality_notice/withdrawn_fatality_notice.json": "the same notice, withdrawn",
    "specialist_document/protected-food-drink-names.json": (
        "'Example Title' by 'HM Cheese & Biscuits'"
    ),
    "service_manual_topic/service_manual_topic.json": "'Service Manual Test Expanded Topic'",
    "service_manual_topic/service_manual_topic_collapsed.json": "'Service Manual Test Topic'",
    "statistical_data_set/statistical_data_set_political.json": "'Example statistical data set'",
}


def real_content_items(content_dir: Path) -> list[Path]:
    """The content item files under `content_dir` but the schema examples `NOT_REAL_PAGES`."""
    return [
        source
        for source in sorted(content_dir.rglob("*.json"))
        if source.relative_to(content_dir).as_posix() not in NOT_REAL_PAGES
    ]


def copy_real_content_items(content_dir: Path, out_dir: Path) -> Path:
    """Copy the real content items (with the folder's licence and source) into `out_dir`.

    Returns:
        The folder holding the copies, `<schema>/<name>.json` as in `content_dir`; a folder of
        an earlier build is replaced, so it holds exactly this build's items.
    """
    target = out_dir / "content-items"
    if target.exists():
        shutil.rmtree(target)
    for source in real_content_items(content_dir):
        copy = target / source.relative_to(content_dir)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, copy)
    for extra in content_dir.iterdir():
        if extra.is_file() and not extra.name.endswith(".json"):  # LICENCE, SOURCE.txt
            shutil.copyfile(extra, target / extra.name)
    (target / "LEFT-OUT.txt").write_text(
        "Schema examples left out of the sample warehouse (not pages a reader could visit):\n"
        + "".join(f"{name}: {why}\n" for name, why in NOT_REAL_PAGES.items()),
        encoding="utf-8",
    )
    return target


def pages_from_content_dir(content_dir: Path) -> list[SamplePage]:
    """Read the Content API JSON files under `content_dir` into sample pages.

    Files without a base_path (or with one that does not normalise) are skipped; the files are
    read in sorted path order and the first file of a base path wins.

    Args:
        content_dir: Folder of `<schema>/*.json` content items.

    Returns:
        The pages, in sorted source-file order, one per base path.
    """
    pages: list[SamplePage] = []
    seen: set[str] = set()
    for source in real_content_items(content_dir):
        try:
            doc = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(doc, dict) or not doc.get("base_path"):
            continue
        try:
            base_path = normalise_path(str(doc["base_path"]))
        except ValueError:
            continue
        if base_path in seen:
            continue
        seen.add(base_path)
        first = doc.get("first_published_at")
        try:
            first_published = date.fromisoformat(str(first)[:10]) if first else None
        except ValueError:
            first_published = None
        pages.append(
            SamplePage(
                base_path=base_path,
                document_type=str(doc.get("document_type") or "unknown"),
                organisation=_first_org(doc.get("links")),
                first_published=first_published,
                withdrawn=bool(doc.get("withdrawn_notice")),
                source_file=source,
                words=_body_words(doc.get("details")),
            )
        )
    return pages


# --------------------------------------------------------------------------- files


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- dates


def date_range(as_of: date, days: int | None = None) -> tuple[date, date]:
    """First and last day of the generated range.

    Args:
        as_of: The last day.
        days: Length of the range; None for 13 months (from the first day of the month
            12 months before the as-of month).
    """
    if days is not None:
        if days < 1:
            raise ValueError(f"days must be at least 1, not {days}")
        return as_of - timedelta(days=days - 1), as_of
    return date(as_of.year - 1, as_of.month, 1), as_of


def _months(start: date, end: date) -> Iterator[tuple[int, int, int, int]]:
    """(year, month, first day index, last day index + 1) of each month in the range."""
    index = 0
    day = start
    while day <= end:
        nxt = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        last = min(nxt - timedelta(days=1), end)
        length = (last - day).days + 1
        yield day.year, day.month, index, index + length
        index += length
        day = nxt


# --------------------------------------------------------------------------- edition changes


def _new_path(old: str, taken: set[str], choice: int) -> str:
    """A new base path for a moved page, not used by any other page."""
    for offset in range(len(MOVE_SUFFIXES)):
        suffix = MOVE_SUFFIXES[(choice + offset) % len(MOVE_SUFFIXES)]
        new = f"{old}-{suffix}"
        if new not in taken:
            return new
    n = 2
    while f"{old}-{n}" in taken:
        n += 1
    return f"{old}-{n}"


def _plan_changes(
    pages: Sequence[SamplePage],
    docs: Sequence[dict[str, Any]],
    rank: np.ndarray,
    n_days: int,
    rng: np.random.Generator,
) -> list[tuple[int, str, int, str | None, str | None]]:
    """Choose the edition changes: (day index, kind, page index, new path, new title)."""
    n = len(pages)
    schemas = [
        str(d.get("schema_name") or p.source_file.parent.name)
        for p, d in zip(pages, docs, strict=True)
    ]
    used: set[int] = set()

    def pick(count: int, allowed: frozenset[str], top_share: float) -> list[int]:
        # Prefer pages with traffic (rank within `top_share`), then any suitable page.
        limit = max(1, math.ceil(n * top_share))
        tiers = [
            [i for i in range(n) if schemas[i] in allowed and rank[i] < limit],
            [i for i in range(n) if schemas[i] in allowed],
            list(range(n)),
        ]
        chosen: list[int] = []
        for tier in tiers:
            free = [
                i
                for i in tier
                if i not in used and pages[i].base_path != "/" and not pages[i].withdrawn
            ]
            take = min(count - len(chosen), len(free))
            if take > 0:
                for j in rng.choice(len(free), size=take, replace=False):
                    chosen.append(free[int(j)])
                    used.add(free[int(j)])
            if len(chosen) == count:
                break
        return chosen

    planned = (
        [("move", i) for i in pick(MOVES, MOVE_SCHEMAS, 0.4)]
        + [("withdrawal", i) for i in pick(WITHDRAWALS, WITHDRAW_SCHEMAS, 0.6)]
        + [("title", i) for i in pick(TITLE_CHANGES, TITLE_CHANGE_SCHEMAS, 1.0)]
    )
    # Spread the changes over the range: one per equal segment, in a seeded order.
    order = rng.permutation(len(planned))
    lo = 1 if n_days > 1 else 0
    edges = np.linspace(lo, n_days, len(planned) + 1)
    taken = {p.base_path for p in pages}
    result: list[tuple[int, str, int, str | None, str | None]] = []
    for segment, k in enumerate(order):
        kind, i = planned[int(k)]
        a, b = int(edges[segment]), max(int(edges[segment]) + 1, int(edges[segment + 1]))
        day = min(int(rng.integers(a, b)), n_days - 1)
        new_path = new_title = None
        if kind == "move":
            new_path = _new_path(pages[i].base_path, taken, int(rng.integers(len(MOVE_SUFFIXES))))
            taken.add(new_path)
        elif kind == "title":
            template = TITLE_TEMPLATES[int(rng.integers(len(TITLE_TEMPLATES)))]
            new_title = template.format(str(docs[i].get("title") or pages[i].base_path))
        result.append((day, kind, i, new_path, new_title))
    result.sort(key=lambda c: (c[0], pages[c[2]].base_path))
    return result


def _write_change(
    out_dir: Path,
    on: date,
    kind: str,
    page: SamplePage,
    doc: dict[str, Any],
    new_path: str | None,
    new_title: str | None,
) -> Path:
    """Write the changed Content API document of one edition change."""
    changed = json.loads(json.dumps(doc))  # a deep copy that stays plain JSON
    stamp = f"{on.isoformat()}T09:00:00Z"
    changed["updated_at"] = stamp
    if kind == "title":
        changed["title"] = new_title
    elif kind == "move":
        old = str(changed.get("base_path"))
        changed["base_path"] = new_path
        changed["public_updated_at"] = stamp
        for route in changed.get("routes") or []:
            if isinstance(route, dict) and route.get("path") == old:
                route["path"] = new_path
        for key in ("api_path", "api_url", "web_url"):
            value = changed.get(key)
            if isinstance(value, str) and value.endswith(old):
                changed[key] = value[: len(value) - len(old)] + str(new_path)
    elif kind == "withdrawal":
        changed["public_updated_at"] = stamp
        changed["withdrawn_notice"] = {
            "explanation": '<div class="govspeak"><p>This page has been withdrawn because '
            "it is no longer current.</p></div>",
            "withdrawn_at": stamp,
        }
    folder = out_dir / "content-updates" / on.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    # Named by the source's schema folder and name: unique, and the same in every build (a
    # name chosen by what a folder already holds would differ on a rebuild).
    target = folder / f"{page.source_file.parent.name}-{page.source_file.stem}.json"
    target.write_text(
        json.dumps(changed, ensure_ascii=False, indent=2) + "\n", encoding="utf-8", newline="\n"
    )
    return target


# --------------------------------------------------------------------------- generation


@dataclass(frozen=True)
class _Days:
    """The generated range: its first and last day, the day indexes and each day's shape."""

    start: date
    end: date
    count: int
    index: np.ndarray
    shape: np.ndarray  # `week_shape` of each day


def _days(start: date, end: date) -> _Days:
    count = (end - start).days + 1
    index = np.arange(count)
    weekday = np.array([(start + timedelta(days=int(d))).weekday() for d in index])
    return _Days(start, end, count, index, week_shape(weekday))


@dataclass
class _Column:
    """A column of the generated table: one path (or a page whose path changes once)."""

    path: str
    page: int  # the page whose rates it has; -1 for an unmatched path (`_UNMATCHED_RATES`)
    path_after: str | None = None  # the path from `switch` on (a move)
    switch: int = 0

    def path_on(self, day: int) -> str:
        """The column's path on day index `day`."""
        return self.path_after if self.path_after and day >= self.switch else self.path


# The rates of a path that matches no page.
_UNMATCHED_RATES = {
    "p_up": 0.8,
    "useful_rate": 0.002,
    "yes_share": 0.6,
    "search_rate": 0.005,
    "feedex_rate": 2e-5,
    "entrance": ENTRANCE_SHARE["default"],
    "seconds": DEFAULT_SECONDS_PER_VIEW,
}


def generate_sample(
    pages: Sequence[SamplePage],
    out_dir: Path,
    *,
    as_of: date = DEFAULT_AS_OF,
    seed: int = DEFAULT_SEED,
    days: int | None = None,
    data_dir: Path | None = None,
) -> SampleManifest:
    """Generate the sample's daily analytics, feedback counts and edition changes.

    Args:
        pages: The sample's pages (see `pages_from_content_dir`).
        out_dir: Where to write; existing generated files are overwritten.
        as_of: Last day of the range.
        seed: Seed of `numpy.random.default_rng`; the same seed writes the same bytes.
        days: Shorten the range to this many days ending on `as_of` (tests); None for
            13 months.
        data_dir: The real GOV.UK data folder holding the calibration files; defaults to
            `govuk_data_dir()`.

    Returns:
        What was written.

    Raises:
        ValueError: no pages, or `days` < 1.
    """
    if not pages:
        raise ValueError("generate_sample needs at least one page")
    cal = load_calibration(data_dir if data_dir is not None else govuk_data_dir())
    span = _days(*date_range(as_of, days))
    # One random stream, drawn in this order: popularity and moments, the edition changes,
    # the pages' ratios, the entrance shares, then month after month of figures.
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    docs = [_load_json(p.source_file) for p in pages]
    rank, lam = _expected_views(pages, cal, span, rng)
    plan = _plan_changes(pages, docs, rank, span.count, rng)
    rates = _page_rates(pages, cal, rng)
    changes, columns, lam = _apply_changes(out_dir, pages, docs, plan, lam, span)
    rates = _column_rates(rates, columns)
    rates = with_entrance(rates, draw_entrance(rng, rates.entrance))
    analytics_files, feedback_files, rows = _write_usage(
        out_dir, columns, lam, rates, noise_shape(cal), span, rng
    )
    manifest = SampleManifest(
        as_of=span.end,
        start=span.start,
        seed=seed,
        analytics_files=tuple(analytics_files),
        feedback_files=tuple(feedback_files),
        content_updates=tuple((c.on, c.file) for c in changes),
        rows=rows,
        changes=tuple(changes),
    )
    _write_labels(out_dir, manifest, cal)
    return manifest


def _expected_views(
    pages: Sequence[SamplePage], cal: Calibration, span: _Days, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each page's rank, and its expected daily page views (days × pages) before any edition
    change: popularity × weekday shape × gentle trend, withdrawn pages cut, news moments and
    trending pages added, nothing before publication."""
    withdrawn = [p.withdrawn for p in pages]
    weights = rank_weights(
        [p.document_type for p in pages], np.array([p.base_path == "/" for p in pages]), withdrawn
    )
    popularity = draw_popularity(rng, weights, cal)
    lam = expected_views(
        popularity.base_daily[None, :],
        popularity.growth[None, :],
        span.shape[:, None],
        cast(np.ndarray, trend_years(span.index, span.count))[:, None],  # of an array, an array
    )
    lam[:, withdrawn] *= WITHDRAWN_FACTOR
    _add_moments(lam, pages, cal, span, rng)
    # Pages published after the start have no traffic before publication.
    for i, page in enumerate(pages):
        if page.first_published and page.first_published > span.start:
            lam[: max(0, (page.first_published - span.start).days), i] = 0.0
    return popularity.rank, lam


def _add_moments(
    lam: np.ndarray,
    pages: Sequence[SamplePage],
    cal: Calibration,
    span: _Days,
    rng: np.random.Generator,
) -> None:
    """Add the spikes to `lam`: news articles decay after publication (or after a news moment
    in the range); a few other pages trend, by the real trending pages' median multiplier."""
    for i, page in enumerate(pages):
        if page.document_type not in NEWS_TYPES or rng.random() >= NEWS_SHARE:
            continue
        first = page.first_published
        in_range = first is not None and span.start <= first <= span.end
        at = (cast(date, first) - span.start).days if in_range else int(rng.integers(span.count))
        low, high = math.log(NEWS_LEAST_WEEKLY), math.log(cal.news_top_weekly)
        lam[:, i] += news_spike(math.exp(rng.uniform(low, high)), span.index - at)
    candidates = [i for i in range(len(pages)) if pages[i].base_path != "/"]
    for i in rng.choice(candidates, size=min(TRENDING_SPIKES, len(candidates)), replace=False):
        after = span.index - int(rng.integers(span.count))
        lam[:, int(i)] *= trending_factor(after, cal.trending_multiplier)


def _page_rates(pages: Sequence[SamplePage], cal: Calibration, rng: np.random.Generator) -> Rates:
    """Each page's rates: ratios from a real table row of its document type (one draw a page,
    in page order), the entrance share of its kind, the seconds of its reading time."""
    table_types = np.array(cal.table_types)
    rows: list[int] = []
    for page in pages:
        kind = "homepage" if page.base_path == "/" else page.document_type.lower()
        pool = ratio_pool(table_types, kind)
        rows.append(int(pool[rng.integers(pool.size)]) if pool.size else 0)
    entrance = entrance_base(
        np.array([p.document_type for p in pages]), np.array([p.base_path == "/" for p in pages])
    )
    seconds = seconds_per_view(np.array([p.words or 0 for p in pages], dtype=np.int64))
    return page_rates(cal, np.array(rows, dtype=np.int64), entrance, seconds)


def _apply_changes(
    out_dir: Path,
    pages: Sequence[SamplePage],
    docs: Sequence[dict[str, Any]],
    plan: list[tuple[int, str, int, str | None, str | None]],
    lam: np.ndarray,
    span: _Days,
) -> tuple[list[EditionChange], list[_Column], np.ndarray]:
    """Write the edition changes; cut the traffic of withdrawn pages, split a moved page's
    between its new path and its old one, and add the unmatched paths' columns.

    Returns:
        The changes, the table's columns (the pages', then the moved pages' old paths and the
        unmatched paths) and their expected page views (days × columns).
    """
    columns = [_Column(path=page.base_path, page=i) for i, page in enumerate(pages)]
    extra: list[np.ndarray] = []
    changes: list[EditionChange] = []
    for day, kind, i, new_path, new_title in plan:
        on = span.start + timedelta(days=day)
        file = _write_change(out_dir, on, kind, pages[i], docs[i], new_path, new_title)
        changes.append(EditionChange(on, kind, pages[i].base_path, new_path, new_title, file))
        if kind == "move":
            old_share = np.where(span.index >= day, MOVED_OLD_PATH_SHARE, 0.0) * lam[:, i]
            lam[day:, i] *= 1.0 - MOVED_OLD_PATH_SHARE
            columns[i].path_after, columns[i].switch = new_path, day
            columns.append(_Column(path=pages[i].base_path, page=i))
            extra.append(old_share)
        elif kind == "withdrawal":
            lam[day:, i] *= WITHDRAWN_FACTOR
    known = {p.base_path for p in pages} | {c.new_base_path for c in changes if c.new_base_path}
    for path, level in zip(UNMATCHED_PATHS, UNMATCHED_DAILY_PVIEWS, strict=True):
        if path not in known:
            columns.append(_Column(path=path, page=-1))
            extra.append(np.full(span.count, level) * span.shape)
    if extra:
        lam = np.concatenate([lam, np.stack(extra, axis=1)], axis=1)
    return changes, columns, lam


def _column_rates(rates: Rates, columns: Sequence[_Column]) -> Rates:
    """The rates of each column: its page's, or for an unmatched path `_UNMATCHED_RATES`."""
    page = np.array([c.page for c in columns])
    own, at = page >= 0, np.maximum(page, 0)
    return Rates(
        **{
            name: np.where(own, getattr(rates, name)[at], default)
            for name, default in _UNMATCHED_RATES.items()
        }
    )


def _write_usage(
    out_dir: Path,
    columns: Sequence[_Column],
    lam: np.ndarray,
    rates: Rates,
    shape: float,
    span: _Days,
    rng: np.random.Generator,
) -> tuple[list[Path], list[Path], int]:
    """Draw and write the analytics and feedback files, a month at a time.

    Returns:
        The analytics files, the feedback files and the analytics rows written.
    """
    analytics_files: list[Path] = []
    feedback_files: list[Path] = []
    (out_dir / "analytics").mkdir(exist_ok=True)
    (out_dir / "feedback").mkdir(exist_ok=True)
    rows = 0
    for year, month, lo, hi in _months(span.start, span.end):
        size = (hi - lo, len(columns))
        values = draw_metrics(rng, lam[lo:hi], rates, shape, size, GENERATE_DRAW_ORDER)
        is_variant = rng.random(size) < VARIANT_SHARE
        kinds = np.where(is_variant, rng.integers(0, 4, size), -1)  # -1: the path as it is
        a_file = out_dir / "analytics" / f"analytics-{year:04d}-{month:02d}.csv"
        f_file = out_dir / "feedback" / f"feedback-{year:04d}-{month:02d}.csv"
        days = [span.start + timedelta(days=day) for day in range(lo, hi)]
        rows += _write_month(a_file, f_file, days, lo, columns, values, kinds)
        analytics_files.append(a_file)
        feedback_files.append(f_file)
    return analytics_files, feedback_files, rows


def _write_month(
    a_file: Path,
    f_file: Path,
    days: Sequence[date],
    lo: int,
    columns: Sequence[_Column],
    values: dict[str, np.ndarray],
    kinds: np.ndarray,
) -> int:
    """Write a month's analytics and feedback files (rows by day, then by path); the month's
    first day is day index `lo`. Returns the analytics rows written."""
    table = np.stack([values[m] for m in ANALYTICS_COLUMNS[2:]], axis=2)
    pv, feedex = values["pviews"], values["feedex"]
    rows = 0
    with (
        a_file.open("w", encoding="utf-8", newline="\n") as a_out,
        f_file.open("w", encoding="utf-8", newline="\n") as f_out,
    ):
        a_out.write(",".join(ANALYTICS_COLUMNS) + "\n")
        f_out.write(",".join(FEEDBACK_COLUMNS) + "\n")
        for d, on in enumerate(days):
            iso = on.isoformat()
            a_lines: list[tuple[str, str]] = []
            f_lines: list[tuple[str, str]] = []
            for s in np.flatnonzero(pv[d] > 0):
                path = columns[s].path_on(lo + d)  # type: ignore[call-overload]  # typeshed: a numpy integer indexes a list
                kind = int(kinds[d, s])
                row = table[d, s].tolist()
                a_lines.append(analytics_row(iso, path, kind if kind >= 0 else None, row))
                if feedex[d, s] > 0:
                    f_lines.append((path, f"{iso},{csv_field(path)},{int(feedex[d, s])}\n"))
            a_out.writelines(line for _, line in sorted(a_lines))
            f_out.writelines(line for _, line in sorted(f_lines))
            rows += len(a_lines)
    return rows


def _write_labels(out_dir: Path, manifest: SampleManifest, cal: Calibration) -> None:
    """Write GENERATED.txt and manifest.json, which label the figures as generated."""

    def rel(path: Path) -> str:
        return path.relative_to(out_dir).as_posix()

    constants = cal.summary()
    assumptions = {
        "weekend_factor": WEEKEND_FACTOR,
        "head_ranks": HEAD_RANKS,
        "floor_monthly_pviews": FLOOR_MONTHLY_PVIEWS,
        "trend_sd_per_year": TREND_SD_PER_YEAR,
        "withdrawn_factor": WITHDRAWN_FACTOR,
        "moved_old_path_share": MOVED_OLD_PATH_SHARE,
        "variant_share": VARIANT_SHARE,
        "entrance_share": ENTRANCE_SHARE,
        "bounce_share": BOUNCE_SHARE,
        "exit_share": EXIT_SHARE,
    }
    document = {
        "generated": True,
        "note": "Generated sample data: these usage figures are not real GOV.UK figures.",
        "seed": manifest.seed,
        "as_of": manifest.as_of.isoformat(),
        "start": manifest.start.isoformat(),
        "rows": manifest.rows,
        "calibration_files": list(CALIBRATION_FILES),
        "calibration": constants,
        "assumptions": assumptions,
        "analytics_files": [rel(p) for p in manifest.analytics_files],
        "feedback_files": [rel(p) for p in manifest.feedback_files],
        "content_updates": [
            {
                "date": c.on.isoformat(),
                "kind": c.kind,
                "base_path": c.base_path,
                "new_base_path": c.new_base_path,
                "new_title": c.new_title,
                "file": rel(c.file),
            }
            for c in manifest.changes
        ],
    }
    (out_dir / "manifest.json").write_text(
        json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8", newline="\n"
    )
    lines = [
        "GENERATED SAMPLE DATA",
        "",
        "The page views, unique page views, useful yes/no answers, searches, entrances, exits,",
        "bounces, time on page and feedback counts in analytics/ and feedback/ are generated,",
        "not real GOV.UK figures. The edition changes in content-updates/ are generated too;",
        "the content items they change are real.",
        "",
        f"Seed: {manifest.seed}",
        f"Range: {manifest.start.isoformat()} to {manifest.as_of.isoformat()}",
        f"Rows: {manifest.rows}",
        "",
        "Calibrated on the real figures in (GOV.UK data folder):",
        *(f"  {name}" for name in CALIBRATION_FILES),
        "",
        "Calibration constants derived from them:",
        *(f"  {key} = {value}" for key, value in constants.items()),
        "",
        "Assumptions the real files cannot give:",
        *(f"  {key} = {value}" for key, value in assumptions.items()),
        "",
    ]
    (out_dir / "GENERATED.txt").write_text("\n".join(lines), encoding="utf-8", newline="\n")
