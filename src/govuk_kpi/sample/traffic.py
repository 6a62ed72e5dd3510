"""The sample's traffic model: what a page gets a day, from its parameters.

One model serves both generators, the sample's (`sample/generate.py`: real pages, monthly CSV
files) and the GOV.UK-size one (`sample/scale.py`: generated pages, one day at a time):

- a page's popularity: a seeded ranking weighted by document type (`rank_weights`,
  `draw_popularity`), its rank's monthly page views (`monthly_by_rank`: the real head slope,
  then a tail to tens a month), a lognormal spread and a yearly trend;
- its expected page views on a day: popularity × the weekday shape × the trend
  (`expected_views`), cut by `WITHDRAWN_FACTOR` once withdrawn, plus a decaying spike for a
  news moment (`news_spike`) and a bump for a trending page (`trending_factor`);
- its ratios, drawn from the real table's rows of its document type (`ratio_pool`,
  `page_rates`), its entrance share and its seconds on the page;
- the day's figures: gamma-Poisson page views, then binomial thinnings of them
  (`draw_metrics`), and the raw paths analytics records (`variant_path`).

The calibration constants come from the real figures (`Calibration`, `load_calibration`);
the few the real files cannot give are named constants here. The functions are pure or draw
from the generator they are given: each generator keeps its own random stream and the order
of its draws (`GENERATE_DRAW_ORDER`, `SCALE_DRAW_ORDER`), which fix its figures.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from govuk_kpi.core.paths import normalise_path

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
WEEK_NORM = 7.0 / (5.0 + 2.0 * WEEKEND_FACTOR)  # makes a week's shape average 1
HEAD_RANKS = 10  # ranks that follow the real top-pages slope; the sample's "famous" pages
FLOOR_MONTHLY_PVIEWS = 30.0  # the least-viewed sample page: tens of views a month
POPULARITY_SD = 0.15  # a page's monthly views ~ its rank's × lognormal(0, this)
TREND_SD_PER_YEAR = 0.15  # per-page yearly log growth ~ N(0, this)
WITHDRAWN_FACTOR = 0.3  # traffic that a withdrawn page keeps
NEWS_SHARE = 0.6  # news pages that have a news moment
NEWS_LEAST_WEEKLY = 200.0  # a news moment's week of views: from this to the real top
NEWS_DECAY_DAYS = 2.0  # e-folding time of a news article's spike
NEWS_WEEK_DECAY = float(np.exp(-np.arange(7) / NEWS_DECAY_DAYS).sum())  # a spike's first week
TRENDING_DECAY_DAYS = 4.0  # e-folding time of a trending page's bump
TRENDING_SPIKES = 4  # pages (other than news) that trend once in the range
VARIANT_SHARE = 0.02  # analytics rows whose raw path is a variant of the base path
ENTRANCE_SHARE = {"default": 0.40, "direct": 0.70, "homepage": 0.50}
ENTRANCE_SPREAD = 0.1  # a page's entrance share ± this, uniformly
BOUNCE_SHARE = 0.45  # of entrances
EXIT_SHARE = 0.40  # of page views
DEFAULT_SECONDS_PER_VIEW = 60.0
PAGE_TIME_SD = 0.1  # a day's time on page ~ views × seconds per view × lognormal(0, this)
# The caps of the ratios drawn from the real table (a few of its rows are extreme).
MAX_USEFUL_RATE, MAX_SEARCH_RATE, MAX_FEEDEX_RATE = 0.2, 0.5, 0.1

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
# Ranking weights: the homepage first, direct pages near the top, redirects at the bottom.
_TYPE_WEIGHTS = ((DIRECT_TYPES, 20.0), (BROWSE_TYPES, 5.0), (NO_TRAFFIC_TYPES, 0.2))
HOMEPAGE_WEIGHT = 1e9
WITHDRAWN_WEIGHT = 0.3
# Rows of the real table that are not ordinary pages: the homepage, search, "done" pages.
_NOT_ORDINARY = ("homepage", "finder", "completed_transaction")


# --------------------------------------------------------------------------- calibration


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


def _records(path: Path) -> list[dict[str, Any]]:
    """The records of a Performance Platform response (`{"data": [...]}`) or a plain list."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    rows = doc.get("data", []) if isinstance(doc, dict) else doc
    return [r for r in rows if isinstance(r, dict)]


def _weekly_change_sd(data_dir: Path) -> float:
    """SD of the log week-over-week change of the real most viewed pages."""
    weekly: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for name in MOST_VIEWED_FILES:
        for r in _records(data_dir / name):
            key = (str(r.get("dataType")), str(r.get("pagePath")))
            weekly.setdefault(key, []).append((str(r.get("_week_start_at")), float(r["pageviews"])))
    changes = [
        math.log(weeks[1][1] / weeks[0][1])
        for weeks in (sorted(w) for w in weekly.values())
        if len(weeks) >= 2
    ]
    return float(np.std(changes)) if len(changes) > 1 else 0.15


def load_calibration(data_dir: Path) -> Calibration:
    """Derive the calibration constants from the real figures under `data_dir`.

    Args:
        data_dir: The GOV.UK data folder (with content-data-2022/ and pageviews-2014/).

    Returns:
        The constants; see `Calibration` for which file gives which.
    """
    table = _records(data_dir / TABLE_FILE)
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
    trending = [
        float(r["week2"]) / float(r["week1"])
        for r in _records(data_dir / TRENDING_FILE)
        if r.get("week1")
    ]
    news = [float(r["pageviews"]) for r in _records(data_dir / NEWS_FILE)]

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
        weekly_change_sd=_weekly_change_sd(data_dir),
        trending_multiplier=float(np.median(trending)) if trending else 3.0,
        news_top_weekly=max(news) if news else 10_000.0,
    )


# --------------------------------------------------------------------------- popularity


def rank_weights(
    document_types: Sequence[str] | np.ndarray,
    homepage: Sequence[bool] | np.ndarray,
    withdrawn: Sequence[bool] | np.ndarray,
) -> np.ndarray:
    """Weights of the seeded ranking: the homepage first, direct pages near the top.

    Args:
        document_types: Each page's document type.
        homepage: Whether each page is the homepage.
        withdrawn: Whether each page is withdrawn (it ranks lower).
    """
    names = np.asarray(document_types, dtype=str)
    weights = np.ones(len(names))
    for types, weight in _TYPE_WEIGHTS:
        weights[np.isin(names, list(types))] = weight
    weights[np.asarray(homepage, dtype=bool)] = HOMEPAGE_WEIGHT
    weights[np.asarray(withdrawn, dtype=bool)] *= WITHDRAWN_WEIGHT
    return weights


def monthly_by_rank(n: int, cal: Calibration) -> np.ndarray:
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


@dataclass(frozen=True)
class Popularity:
    """Each page's place in the ranking and its traffic before the day's shape.

    Attributes:
        rank: 0-based rank (0: the most viewed).
        base_daily: Expected page views on an average day.
        growth: Yearly log growth of its views.
    """

    rank: np.ndarray
    base_daily: np.ndarray
    growth: np.ndarray


def draw_popularity(rng: np.random.Generator, weights: np.ndarray, cal: Calibration) -> Popularity:
    """Rank the pages by a weighted seeded permutation (Efraimidis–Spirakis keys u ** (1 / w)),
    give each its rank's views with a lognormal spread (none for the first), and a trend.

    Draws from `rng`: the keys, the spread, the trend, one of each per page.
    """
    n = len(weights)
    keys = rng.random(n) ** (1.0 / weights)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(-keys, kind="stable")] = np.arange(n)
    monthly = monthly_by_rank(n, cal)[rank]
    monthly = monthly * np.where(rank == 0, 1.0, rng.lognormal(0.0, POPULARITY_SD, n))
    growth = rng.normal(0.0, TREND_SD_PER_YEAR, n)
    return Popularity(rank=rank, base_daily=monthly * 12.0 / 365.25, growth=growth)


# --------------------------------------------------------------------------- expected views


def week_shape(weekday: int | np.ndarray) -> np.ndarray:
    """Traffic on a weekday (0 Monday .. 6 Sunday) relative to an average day."""
    return np.where(np.asarray(weekday) >= 5, WEEKEND_FACTOR, 1.0) * WEEK_NORM


def trend_years(day: int | np.ndarray, days: int) -> float | np.ndarray:
    """Years from the middle of a range of `days` days to day index `day` (the trend's x)."""
    return (day - days / 2.0) / 365.25


def expected_views(
    base_daily: np.ndarray, growth: np.ndarray, shape: Any, years: Any
) -> np.ndarray:
    """Expected page views: the average day's × the weekday shape × the trend (broadcast)."""
    return base_daily * shape * np.exp(growth * years)


def news_spike(week_total: Any, after: np.ndarray) -> np.ndarray:
    """Page views a news moment adds `after` days after it (none before): `week_total` in its
    first week, decaying over `NEWS_DECAY_DAYS`."""
    return np.where(after >= 0, week_total / NEWS_WEEK_DECAY * np.exp(-after / NEWS_DECAY_DAYS), 0)


def trending_factor(after: np.ndarray, multiplier: float) -> np.ndarray:
    """What a trending page's views are multiplied by `after` days after it starts to trend:
    the real trending pages' `multiplier` at first, decaying over `TRENDING_DECAY_DAYS`."""
    bump = (multiplier - 1.0) * np.exp(-np.maximum(after, 0) / TRENDING_DECAY_DAYS)
    return 1.0 + np.where(after >= 0, bump, 0.0)


def noise_shape(cal: Calibration) -> float:
    """The gamma shape of the day-to-day noise: gamma-Poisson (negative binomial) whose spread
    is the real weekly change, scaled from weeks to days."""
    daily_sd = cal.weekly_change_sd / math.sqrt(2.0) * math.sqrt(7.0)
    return float(np.clip(1.0 / max(daily_sd, 1e-3) ** 2, 4.0, 100.0))


# --------------------------------------------------------------------------- ratios


@dataclass(frozen=True)
class Rates:
    """Per-page (or per-column) ratios of the day's figures, as parallel arrays.

    Attributes:
        p_up: Unique page views per page view.
        useful_rate: "Is this page useful?" answers per unique page view.
        yes_share: Of the answers, the share of yes.
        search_rate: Searches from the page per unique page view.
        feedex_rate: Feedback comments per unique page view.
        entrance: Entrances per unique page view.
        seconds: Seconds on the page per page view.
    """

    p_up: np.ndarray
    useful_rate: np.ndarray
    yes_share: np.ndarray
    search_rate: np.ndarray
    feedex_rate: np.ndarray
    entrance: np.ndarray
    seconds: np.ndarray


def ratio_pool(table_types: np.ndarray, document_type: str) -> np.ndarray:
    """The rows of the real table a page of `document_type` draws its ratios from: those of
    its type, else the ordinary pages' (not the homepage, search or "done" pages)."""
    pool = np.flatnonzero(table_types == document_type)
    if pool.size == 0:
        pool = np.flatnonzero(~np.isin(table_types, _NOT_ORDINARY))
    return pool


def entrance_base(document_types: np.ndarray, homepage: np.ndarray) -> np.ndarray:
    """Each page's entrance share before its spread (`ENTRANCE_SHARE`)."""
    direct = np.isin(document_types, list(DIRECT_TYPES))
    shares = np.where(direct, ENTRANCE_SHARE["direct"], ENTRANCE_SHARE["default"])
    return np.where(homepage, ENTRANCE_SHARE["homepage"], shares)


def draw_entrance(rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    """The entrance shares spread by ±`ENTRANCE_SPREAD` (one draw per page), within 5–95%."""
    spread = rng.uniform(-ENTRANCE_SPREAD, ENTRANCE_SPREAD, len(base))
    return np.clip(base + spread, 0.05, 0.95)


def seconds_per_view(words: np.ndarray) -> np.ndarray:
    """Seconds on page per view: 20..120 s with the reading time, 60 s when the words are
    unknown (0)."""
    minutes = -(-words // 200)
    return np.where(
        words > 0, np.clip(15.0 + 15.0 * minutes, 20.0, 120.0), DEFAULT_SECONDS_PER_VIEW
    )


def page_rates(
    cal: Calibration, row: np.ndarray, entrance: np.ndarray, seconds: np.ndarray
) -> Rates:
    """The rates of pages whose ratios come from the real table's rows `row`."""
    return Rates(
        p_up=1.0 / np.array(cal.pviews_per_upview)[row],
        useful_rate=np.minimum(np.array(cal.useful_rate)[row], MAX_USEFUL_RATE),
        yes_share=np.array(cal.useful_yes_share)[row],
        search_rate=np.minimum(np.array(cal.searches_per_upview)[row], MAX_SEARCH_RATE),
        feedex_rate=np.minimum(np.array(cal.feedex_per_upview)[row], MAX_FEEDEX_RATE),
        entrance=entrance,
        seconds=seconds,
    )


def with_entrance(rates: Rates, entrance: np.ndarray) -> Rates:
    """`rates` with other entrance shares."""
    return replace(rates, entrance=entrance)


# --------------------------------------------------------------------------- the day's figures

# Each count but page views and time on page is a binomial thinning of another:
# (drawn from, its rate).
_THINNINGS: dict[str, tuple[str, Callable[[Rates], Any]]] = {
    "upviews": ("pviews", lambda r: r.p_up),
    "useful": ("upviews", lambda r: r.useful_rate),
    "useful_yes": ("useful", lambda r: r.yes_share),
    "searches": ("upviews", lambda r: r.search_rate),
    "feedex": ("upviews", lambda r: r.feedex_rate),
    "entrances": ("upviews", lambda r: r.entrance),
    "bounces": ("entrances", lambda _r: BOUNCE_SHARE),
    "exits": ("pviews", lambda _r: EXIT_SHARE),
}
# The order each generator draws the figures after page views in: part of its seeded stream,
# so changing it changes every figure after the first.
GENERATE_DRAW_ORDER = (
    "upviews",
    "useful",
    "useful_yes",
    "searches",
    "entrances",
    "bounces",
    "exits",
    "page_time",
    "feedex",
)
SCALE_DRAW_ORDER = (
    "upviews",
    "useful",
    "useful_yes",
    "searches",
    "feedex",
    "entrances",
    "exits",
    "page_time",
    "bounces",
)


def draw_metrics(
    rng: np.random.Generator,
    expected: np.ndarray,
    rates: Rates,
    shape: float,
    size: int | tuple[int, ...],
    order: Sequence[str],
) -> dict[str, np.ndarray]:
    """Draw the figures of pages (the last axis) from their expected page views.

    Page views are gamma-Poisson (the gamma of `shape` is the day-to-day noise); time on page
    is the views × seconds per view × a lognormal; every other count is a binomial thinning
    (`_THINNINGS`), drawn in `order`.

    Returns:
        Every daily metric (`useful_no` too) and `useful`, by name.
    """
    values = {"pviews": rng.poisson(expected * rng.gamma(shape, 1.0 / shape, size))}
    for metric in order:
        if metric == "page_time":
            spread = rng.lognormal(0.0, PAGE_TIME_SD, size)
            values[metric] = np.rint(values["pviews"] * rates.seconds * spread).astype(np.int64)
        else:
            source, rate = _THINNINGS[metric]
            values[metric] = rng.binomial(values[source], rate(rates))
    values["useful_no"] = values["useful"] - values["useful_yes"]
    return values


# --------------------------------------------------------------------------- analytics rows


def variant_path(path: str, kind: int) -> str:
    """A raw analytics spelling of `path` (`kind` 0..3) that normalises back to it."""
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


def csv_field(value: str) -> str:
    """Quote a CSV field when it needs it (paths rarely do)."""
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def analytics_row(iso: str, path: str, kind: int | None, values: Sequence[int]) -> tuple[str, str]:
    """(raw path, CSV line) of an analytics row: `path` as is, or its variant `kind`."""
    raw = path if kind is None else variant_path(path, kind)
    return raw, f"{iso},{csv_field(raw)},{','.join(map(str, values))}\n"
