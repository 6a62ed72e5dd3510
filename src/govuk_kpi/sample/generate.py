"""Seeded, calibrated generator of the sample data set's usage figures and edition changes.

The real public GOV.UK data gives content items but no daily per-page time series and no
feedback counts, so those are generated here (DESIGN.md, "The sample data set"):

- daily analytics rows (`analytics/analytics-YYYY-MM.csv`) and feedback counts
  (`feedback/feedback-YYYY-MM.csv`) for every page, over 13 months ending on the as-of date;
- a few edition changes (title changes, moves, withdrawals) written as changed Content API
  documents (`content-updates/<YYYY-MM-DD>/<stem>.json`) so the slowly changing dimension is
  exercised;
- `GENERATED.txt` and `manifest.json`, which say plainly that the figures are generated.

The calibration constants are derived at generation time from the real figures in
`pageviews-2014/*.json` and `content-data-2022/table.json` (see `Calibration`). The few
constants the real files cannot give (weekend dip, entrance/bounce/exit shares, the bottom of
the tail) are named module constants and are listed in `manifest.json` as assumptions.

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
from typing import Any

import numpy as np

from govuk_kpi.core.data import govuk_data_dir
from govuk_kpi.core.paths import normalise_path

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

# Relative to the GOV.UK data folder; every calibration constant comes from one of these.
TABLE_FILE = "content-data-2022/table.json"
MOST_VIEWED_FILES: tuple[str, ...] = (
    "pageviews-2014/govuk_most_viewed.json",
    "pageviews-2014/govuk_most_viewed_news.json",
    "pageviews-2014/govuk_most_viewed_policies.json",
)
NEWS_FILE = "pageviews-2014/govuk_most_viewed_news.json"
TRENDING_FILE = "pageviews-2014/govuk_trending.json"
CALIBRATION_FILES: tuple[str, ...] = (TABLE_FILE, *MOST_VIEWED_FILES, TRENDING_FILE)

# Assumptions the real files cannot give (they hold weekly or 30-day totals of top pages only).
WEEKEND_FACTOR = 0.6  # Saturday/Sunday traffic relative to a weekday
HEAD_RANKS = 10  # ranks that follow the real top-pages slope; the sample's "famous" pages
FLOOR_MONTHLY_PVIEWS = 30.0  # the least-viewed sample page: tens of views a month
TREND_SD_PER_YEAR = 0.15  # per-page yearly log growth ~ N(0, this)
WITHDRAWN_FACTOR = 0.3  # traffic that a withdrawn page keeps
MOVED_OLD_PATH_SHARE = 0.05  # traffic that keeps arriving at a moved page's old path
NEWS_DECAY_DAYS = 2.0  # e-folding time of a news article's spike
TRENDING_DECAY_DAYS = 4.0  # e-folding time of a trending page's bump
TRENDING_SPIKES = 4  # pages (other than news) that trend once in the range
VARIANT_SHARE = 0.02  # analytics rows whose raw path is a variant of the base path
ENTRANCE_SHARE = {"default": 0.40, "direct": 0.70, "homepage": 0.50}
BOUNCE_SHARE = 0.45  # of entrances
EXIT_SHARE = 0.40  # of page views
DEFAULT_SECONDS_PER_VIEW = 60.0

# Document types that users reach directly from search engines (more likely near the top).
DIRECT_TYPES = frozenset(
    {
        "transaction",
        "local_transaction",
        "simple_smart_answer",
        "smart_answer",
        "answer",
        "guide",
        "completed_transaction",
        "calculator",
        "licence",
        "place",
        "special_route",
    }
)
BROWSE_TYPES = frozenset(
    {
        "mainstream_browse_page",
        "organisation",
        "finder",
        "detailed_guide",
        "travel_advice",
        "travel_advice_index",
        "step_by_step_nav",
        "guidance",
        "form",
    }
)
NEWS_TYPES = frozenset(
    {
        "news_story",
        "press_release",
        "speech",
        "oral_statement",
        "written_statement",
        "fatality_notice",
        "news_article",
        "world_news_story",
        "government_response",
        "authored_article",
        "official_statistics_announcement",
        "national_statistics_announcement",
    }
)
NO_TRAFFIC_TYPES = frozenset({"redirect", "gone", "vanish"})

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
_TITLE_TEMPLATES = ("{}: guidance", "{} – what you need to know", "{} (updated)")
_MOVE_SUFFIXES = ("online", "explained", "service", "information")

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


@dataclass(frozen=True)
class Calibration:
    """Constants derived from the real figures; each says which file it comes from.

    Attributes:
        top_monthly_pviews: table.json: the largest 30-day page views (the homepage).
        head_slope: table.json: slope of log page views on log rank over the 33 top pages.
        pviews_per_upview: table.json: per-page page views / unique page views (1..3 only;
            one row has a typo'd unique count).
        useful_rate: table.json: per-page (useful yes + no) / unique page views.
        useful_yes_share: table.json: per-page useful yes / (yes + no).
        searches_per_upview: table.json: per-page searches from page / unique page views.
        feedex_per_upview: table.json: per-page feedback comments / unique page views.
        table_types: table.json: each row's document type, machine-style (lowercase).
        weekly_change_sd: pageviews-2014 most viewed: SD of log week-over-week change.
        trending_multiplier: pageviews-2014 trending: median week2 / week1.
        news_top_weekly: pageviews-2014 most viewed news: largest weekly page views.
    """

    top_monthly_pviews: float
    head_slope: float
    pviews_per_upview: tuple[float, ...]
    useful_rate: tuple[float, ...]
    useful_yes_share: tuple[float, ...]
    searches_per_upview: tuple[float, ...]
    feedex_per_upview: tuple[float, ...]
    table_types: tuple[str, ...]
    weekly_change_sd: float
    trending_multiplier: float
    news_top_weekly: float

    def summary(self) -> dict[str, float]:
        """Medians and scalars, rounded, for manifest.json and GENERATED.txt."""

        def med(values: tuple[float, ...]) -> float:
            return float(f"{float(np.median(values)):.6g}")

        return {
            "top_monthly_pviews": float(f"{self.top_monthly_pviews:.6g}"),
            "head_slope": float(f"{self.head_slope:.6g}"),
            "median_pviews_per_upview": med(self.pviews_per_upview),
            "median_useful_rate": med(self.useful_rate),
            "median_useful_yes_share": med(self.useful_yes_share),
            "median_searches_per_upview": med(self.searches_per_upview),
            "median_feedex_per_upview": med(self.feedex_per_upview),
            "weekly_change_sd": float(f"{self.weekly_change_sd:.6g}"),
            "trending_multiplier": float(f"{self.trending_multiplier:.6g}"),
            "news_top_weekly": float(f"{self.news_top_weekly:.6g}"),
        }


# --------------------------------------------------------------------------- data folder


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


# --------------------------------------------------------------------------- calibration


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _rows(doc: Any) -> list[dict[str, Any]]:
    """The records of a Performance Platform response (`{"data": [...]}`) or a plain list."""
    rows = doc.get("data", []) if isinstance(doc, dict) else doc
    return [r for r in rows if isinstance(r, dict)]


def load_calibration(data_dir: Path) -> Calibration:
    """Derive the calibration constants from the real figures under `data_dir`.

    Args:
        data_dir: The GOV.UK data folder (with content-data-2022/ and pageviews-2014/).

    Returns:
        The constants; see `Calibration` for which file gives which.
    """
    table = _rows(_load_json(data_dir / TABLE_FILE))
    pv = np.array([float(r["PageViews"]) for r in table])
    up = np.array([float(r["UniquePageViews"]) for r in table])
    yes = np.array([float(r["yesUseful"] or 0) for r in table])
    no = np.array([float(r["noUseful"] or 0) for r in table])
    searches = np.array([float(r["SearchesFromPage"] or 0) for r in table])
    feedex = np.array([float(r["Feedback comments"] or 0) for r in table])
    ranks = np.arange(1, len(pv) + 1, dtype=float)
    ordered = np.sort(pv)[::-1]
    slope = float(-np.polyfit(np.log(ranks), np.log(ordered), 1)[0])
    ratio = pv / up
    # One row's unique views are an order of magnitude low (a typo); keep plausible ratios.
    ratio = np.where((ratio >= 1.0) & (ratio <= 3.0), ratio, float(np.median(ratio)))
    useful = yes + no

    weekly: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for name in MOST_VIEWED_FILES:
        for r in _rows(_load_json(data_dir / name)):
            key = (str(r.get("dataType")), str(r.get("pagePath")))
            weekly.setdefault(key, []).append((str(r.get("_week_start_at")), float(r["pageviews"])))
    changes = [
        math.log(weeks[1][1] / weeks[0][1])
        for weeks in (sorted(w) for w in weekly.values())
        if len(weeks) >= 2
    ]
    trending = [
        float(r["week2"]) / float(r["week1"])
        for r in _rows(_load_json(data_dir / TRENDING_FILE))
        if r.get("week1")
    ]
    news = [float(r["pageviews"]) for r in _rows(_load_json(data_dir / NEWS_FILE))]

    def tup(values: np.ndarray) -> tuple[float, ...]:
        return tuple(float(v) for v in values)

    return Calibration(
        top_monthly_pviews=float(pv.max()),
        head_slope=slope,
        pviews_per_upview=tup(ratio),
        useful_rate=tup(useful / up),
        useful_yes_share=tup(np.where(useful > 0, yes / np.maximum(useful, 1), 0.5)),
        searches_per_upview=tup(searches / up),
        feedex_per_upview=tup(feedex / up),
        table_types=tuple(str(r.get("DocumentType") or "").lower() for r in table),
        weekly_change_sd=float(np.std(changes)) if len(changes) > 1 else 0.15,
        trending_multiplier=float(np.median(trending)) if trending else 3.0,
        news_top_weekly=max(news) if news else 10_000.0,
    )


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


# --------------------------------------------------------------------------- traffic model


def _rank_weights(pages: Sequence[SamplePage]) -> np.ndarray:
    """Weights of the seeded ranking: the homepage first, direct pages near the top."""
    weights = np.ones(len(pages))
    for i, page in enumerate(pages):
        if page.base_path == "/":
            weights[i] = 1e9
        elif page.document_type in DIRECT_TYPES:
            weights[i] = 20.0
        elif page.document_type in BROWSE_TYPES:
            weights[i] = 5.0
        elif page.document_type in NO_TRAFFIC_TYPES:
            weights[i] = 0.2
        if page.withdrawn:
            weights[i] *= 0.3
    return weights


def _monthly_by_rank(n: int, cal: Calibration) -> np.ndarray:
    """Monthly page views of ranks 1..n: the real head slope, then a steeper tail to the floor.

    The sample's pages are a scatter over all of GOV.UK, not its top n, so after the first
    `HEAD_RANKS` ranks the curve falls to `FLOOR_MONTHLY_PVIEWS` at rank n.
    """
    ranks = np.arange(1, n + 1, dtype=float)
    top = cal.top_monthly_pviews * 30.4375 / 30.0  # table.json covers 30 days; a month is 30.4
    head = top * ranks**-cal.head_slope
    knee = float(min(HEAD_RANKS, n))
    at_knee = top * knee**-cal.head_slope
    if n <= knee or at_knee <= FLOOR_MONTHLY_PVIEWS:
        return head
    tail_slope = math.log(at_knee / FLOOR_MONTHLY_PVIEWS) / math.log(n / knee)
    tail = at_knee * (ranks / knee) ** -tail_slope
    return np.where(ranks <= knee, head, tail)


@dataclass
class _Slot:
    """A column of the generated table: one path (or a page whose path changes once)."""

    path: str
    path_after: str | None = None  # the path from `switch` on (a move)
    switch: int = 0
    p_up: float = 0.8
    useful_rate: float = 0.002
    yes_share: float = 0.6
    search_rate: float = 0.005
    feedex_rate: float = 2e-5
    entrance: float = ENTRANCE_SHARE["default"]
    seconds: float = DEFAULT_SECONDS_PER_VIEW


def _ratios_for(page: SamplePage, cal: Calibration, rng: np.random.Generator) -> dict[str, float]:
    """Per-page ratios drawn from the table.json rows of its document type (else the pool)."""
    types = np.array(cal.table_types)
    dtype = page.document_type.lower()
    if page.base_path == "/":
        pool = np.flatnonzero(types == "homepage")
    else:
        pool = np.flatnonzero(types == dtype)
        if pool.size == 0:  # the ordinary pages: not the homepage, search or "done" pages
            pool = np.flatnonzero(~np.isin(types, ["homepage", "finder", "completed_transaction"]))
    pick = int(pool[rng.integers(pool.size)]) if pool.size else 0
    return {
        "p_up": 1.0 / cal.pviews_per_upview[pick],
        "useful_rate": min(cal.useful_rate[pick], 0.2),
        "yes_share": cal.useful_yes_share[pick],
        "search_rate": min(cal.searches_per_upview[pick], 0.5),
        "feedex_rate": min(cal.feedex_per_upview[pick], 0.1),
    }


def _seconds_per_view(words: int | None) -> float:
    """Seconds on page per view: 20..120 s with the reading time, 60 s when unknown."""
    if not words:
        return DEFAULT_SECONDS_PER_VIEW
    minutes = -(-words // 200)
    return float(min(max(15.0 + 15.0 * minutes, 20.0), 120.0))


def _variant(path: str, kind: int) -> str:
    """A raw analytics spelling of `path` that normalises back to it."""
    candidates = (
        path.title(),
        path + "?utm_source=email",
        path + "/",
        "https://www.gov.uk" + path,
    )
    raw = candidates[kind]
    if raw == path or raw == "//":
        raw = candidates[1]
    try:
        if normalise_path(raw) == path:
            return raw
    except ValueError:
        pass
    return candidates[1]


# --------------------------------------------------------------------------- edition changes


def _new_path(old: str, taken: set[str], choice: int) -> str:
    """A new base path for a moved page, not used by any other page."""
    for offset in range(len(_MOVE_SUFFIXES)):
        suffix = _MOVE_SUFFIXES[(choice + offset) % len(_MOVE_SUFFIXES)]
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
            new_path = _new_path(pages[i].base_path, taken, int(rng.integers(len(_MOVE_SUFFIXES))))
            taken.add(new_path)
        elif kind == "title":
            template = _TITLE_TEMPLATES[int(rng.integers(len(_TITLE_TEMPLATES)))]
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
    data_dir = data_dir if data_dir is not None else govuk_data_dir()
    cal = load_calibration(data_dir)
    start, end = date_range(as_of, days)
    n_days = (end - start).days + 1
    n = len(pages)
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    docs = [_load_json(p.source_file) for p in pages]

    # Rank by a weighted seeded permutation (Efraimidis–Spirakis keys u ** (1 / w)).
    keys = rng.random(n) ** (1.0 / _rank_weights(pages))
    order = np.argsort(-keys, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    monthly = _monthly_by_rank(n, cal)[rank]
    monthly = monthly * np.where(rank == 0, 1.0, rng.lognormal(0.0, 0.15, n))
    base_daily = monthly * 12.0 / 365.25

    # Expected daily page views (days × pages): weekday shape × gentle trend × base.
    day_index = np.arange(n_days)
    weekday = np.array([(start + timedelta(days=int(d))).weekday() for d in day_index])
    week_shape = np.where(weekday >= 5, WEEKEND_FACTOR, 1.0)
    week_shape = week_shape / (5.0 + 2.0 * WEEKEND_FACTOR) * 7.0
    growth = rng.normal(0.0, TREND_SD_PER_YEAR, n)
    years = (day_index - n_days / 2.0)[:, None] / 365.25
    lam = base_daily[None, :] * week_shape[:, None] * np.exp(growth[None, :] * years)
    lam[:, [p.withdrawn for p in pages]] *= WITHDRAWN_FACTOR

    # Spikes: news articles decay after publication (or a news moment in the range);
    # a few other pages trend, by the real trending pages' median multiplier.
    for i, page in enumerate(pages):
        if page.document_type not in NEWS_TYPES or rng.random() >= 0.6:
            continue
        first = page.first_published
        at = (first - start).days if first and start <= first <= end else int(rng.integers(n_days))
        week_total = math.exp(rng.uniform(math.log(200.0), math.log(cal.news_top_weekly)))
        decay = np.exp(-np.arange(7) / NEWS_DECAY_DAYS).sum()
        after = day_index - at
        lam[:, i] += np.where(after >= 0, week_total / decay * np.exp(-after / NEWS_DECAY_DAYS), 0)
    candidates = [i for i in range(n) if pages[i].base_path != "/"]
    for i in rng.choice(candidates, size=min(TRENDING_SPIKES, len(candidates)), replace=False):
        after = day_index - int(rng.integers(n_days))
        bump = (cal.trending_multiplier - 1.0) * np.exp(-np.maximum(after, 0) / TRENDING_DECAY_DAYS)
        lam[:, int(i)] *= 1.0 + np.where(after >= 0, bump, 0.0)

    # Pages published after the start have no traffic before publication.
    for i, page in enumerate(pages):
        if page.first_published and page.first_published > start:
            lam[: max(0, (page.first_published - start).days), i] = 0.0

    # Edition changes, and the slots (columns) they add.
    plan = _plan_changes(pages, docs, rank, n_days, rng)
    slots: list[_Slot] = []
    for page in pages:
        entrance = ENTRANCE_SHARE[
            "homepage"
            if page.base_path == "/"
            else "direct"
            if page.document_type in DIRECT_TYPES
            else "default"
        ]
        slots.append(
            _Slot(
                path=page.base_path,
                entrance=entrance,
                seconds=_seconds_per_view(page.words),
                **_ratios_for(page, cal, rng),
            )
        )
    extra: list[np.ndarray] = []
    changes: list[EditionChange] = []
    for day, kind, i, new_path, new_title in plan:
        on = start + timedelta(days=day)
        file = _write_change(out_dir, on, kind, pages[i], docs[i], new_path, new_title)
        changes.append(EditionChange(on, kind, pages[i].base_path, new_path, new_title, file))
        if kind == "move":
            old_share = np.where(day_index >= day, MOVED_OLD_PATH_SHARE, 0.0) * lam[:, i]
            lam[day:, i] *= 1.0 - MOVED_OLD_PATH_SHARE
            slots[i].path_after, slots[i].switch = new_path, day
            old = _Slot(**{**slots[i].__dict__, "path_after": None, "switch": 0})
            slots.append(old)
            extra.append(old_share)
        elif kind == "withdrawal":
            lam[day:, i] *= WITHDRAWN_FACTOR
    known = {p.base_path for p in pages} | {c.new_base_path for c in changes if c.new_base_path}
    for path, level in zip(UNMATCHED_PATHS, UNMATCHED_DAILY_PVIEWS, strict=True):
        if path not in known:
            slots.append(_Slot(path=path))
            extra.append(np.full(n_days, level) * week_shape)
    if extra:
        lam = np.concatenate([lam, np.stack(extra, axis=1)], axis=1)

    p_up = np.array([s.p_up for s in slots])
    useful_rate = np.array([s.useful_rate for s in slots])
    yes_share = np.array([s.yes_share for s in slots])
    search_rate = np.array([s.search_rate for s in slots])
    feedex_rate = np.array([s.feedex_rate for s in slots])
    entrance = np.clip(
        np.array([s.entrance for s in slots]) + rng.uniform(-0.1, 0.1, len(slots)), 0.05, 0.95
    )
    seconds = np.array([s.seconds for s in slots])
    # Day-to-day noise: gamma-Poisson (negative binomial) whose spread is the real weekly
    # change, scaled from weeks to days.
    daily_sd = cal.weekly_change_sd / math.sqrt(2.0) * math.sqrt(7.0)
    shape = float(np.clip(1.0 / max(daily_sd, 1e-3) ** 2, 4.0, 100.0))

    analytics_files: list[Path] = []
    feedback_files: list[Path] = []
    (out_dir / "analytics").mkdir(exist_ok=True)
    (out_dir / "feedback").mkdir(exist_ok=True)
    rows = 0
    for year, month, lo, hi in _months(start, end):
        m = hi - lo
        size = (m, len(slots))
        pv = rng.poisson(lam[lo:hi] * rng.gamma(shape, 1.0 / shape, size))
        up = rng.binomial(pv, p_up)
        useful = rng.binomial(up, useful_rate)
        yes = rng.binomial(useful, yes_share)
        no = useful - yes
        srch = rng.binomial(up, search_rate)
        ent = rng.binomial(up, entrance)
        bounces = rng.binomial(ent, BOUNCE_SHARE)
        exits = rng.binomial(pv, EXIT_SHARE)
        page_time = np.rint(pv * seconds * rng.lognormal(0.0, 0.1, size)).astype(np.int64)
        feedex = rng.binomial(up, feedex_rate)
        is_variant = rng.random(size) < VARIANT_SHARE
        kinds = rng.integers(0, 4, size)
        table = np.stack([pv, up, yes, no, srch, ent, exits, bounces, page_time], axis=2)

        a_file = out_dir / "analytics" / f"analytics-{year:04d}-{month:02d}.csv"
        f_file = out_dir / "feedback" / f"feedback-{year:04d}-{month:02d}.csv"
        with (
            a_file.open("w", encoding="utf-8", newline="\n") as a_out,
            f_file.open("w", encoding="utf-8", newline="\n") as f_out,
        ):
            a_out.write(",".join(ANALYTICS_COLUMNS) + "\n")
            f_out.write(",".join(FEEDBACK_COLUMNS) + "\n")
            for d in range(m):
                day = lo + d
                iso = (start + timedelta(days=day)).isoformat()
                a_lines: list[tuple[str, str]] = []
                f_lines: list[tuple[str, str]] = []
                for s in np.flatnonzero(pv[d] > 0):
                    slot = slots[s]
                    path = slot.path_after if slot.path_after and day >= slot.switch else slot.path
                    raw = _variant(path, int(kinds[d, s])) if is_variant[d, s] else path
                    values = ",".join(map(str, table[d, s].tolist()))
                    a_lines.append((raw, f"{iso},{_csv(raw)},{values}\n"))
                    if feedex[d, s] > 0:
                        f_lines.append((path, f"{iso},{_csv(path)},{int(feedex[d, s])}\n"))
                a_lines.sort()
                f_lines.sort()
                a_out.writelines(line for _, line in a_lines)
                f_out.writelines(line for _, line in f_lines)
                rows += len(a_lines)
        analytics_files.append(a_file)
        feedback_files.append(f_file)

    manifest = SampleManifest(
        as_of=end,
        start=start,
        seed=seed,
        analytics_files=tuple(analytics_files),
        feedback_files=tuple(feedback_files),
        content_updates=tuple((c.on, c.file) for c in changes),
        rows=rows,
        changes=tuple(changes),
    )
    _write_labels(out_dir, manifest, cal)
    return manifest


def _csv(value: str) -> str:
    """Quote a CSV field when it needs it (paths rarely do)."""
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


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
