"""A generated day of GA4 export events in GOV.UK's shape, for benchmarks and tests.

`write_ga4_events(path, events, day=...)` writes one day's GA4 BigQuery export table
(`events_YYYYMMDD`) in the format its suffix names:

- `.json` / `.ndjson`: newline-delimited JSON as `bq extract --destination_format
  NEWLINE_DELIMITED_JSON` writes it (the shape of tests/extract/fixtures/events_20261030.json):
  one event per line, INT64 fields as JSON strings (`"event_timestamp": "1793318400000002"`),
  `event_params` a list of `{"key": ..., "value": {"string_value", "int_value", "float_value",
  "double_value"}}` with null for the kinds not set;
- `.json.gz` / `.ndjson.gz`: the same, gzipped;
- `.parquet`: BigQuery's Parquet export of the same events, typed by `GA4_SCHEMA` (INT64 as
  int64, `event_params` as LIST<STRUCT<key, value STRUCT<...>>>), one row group per chunk.

The same arguments give the same events in every format. What a day holds:

- a pool of `pages` GOV.UK paths with Zipf-like popularity (the home page and a few famous
  pages first), about 2% with characters beyond ASCII (`/guidance/café-...`, recorded
  percent-escaped as browsers send them, `/caf%C3%A9`); about one page view in ten records its
  page with a query string, a fragment, a trailing slash, mixed case or lowercase escapes, so
  counting needs `core.paths.normalise_path`;
- about `events / 9` users (`user_pseudo_id` "<client id>.<first touch seconds>"), each with
  device, geo and first-touch traffic_source records and 1–3 sessions (`ga_session_id`, the
  session's start in Unix seconds; sessions of a user never overlap);
- each session a `session_start`, then a run of page views (2 on average, half the sessions
  bounces), each `page_view` (with `page_title`; `page_referrer` the previous page, or for the
  first an outside site or none; `entrances` = 1 on the first) followed in time by some of
  `scroll`, `click`, `form_submit`, `user_engagement` (with `engagement_time_msec`); every
  event carries `page_location` and `ga_session_id`; timestamps (microseconds) strictly
  increase within a session and stay within the day (a London day, as GOV.UK's property
  counts days: 23 or 25 hours when the clocks change);
- about 3% `search` events: most on the search page (`/search/all?keywords=...`), the page view
  after the page whose search box was used, with that page as `page_referrer`; a few on
  ordinary pages; about 1% `form_submit` events of the "Is this page useful?" feedback form
  (params `type` = feedback, `section`, `text` = Yes / No).

Memory does not grow with `events`: the day is drawn and written `CHUNK_EVENTS` events at a
time (all of a user's sessions in one chunk), each chunk from its own random stream named by
(seed, chunk number), with numpy for the draws and Arrow compute for the JSON text. Within a
chunk events are in time order; the file as a whole is not (nor is a real export).

    python -m govuk_kpi.sample.ga4_events OUT --events N --day YYYY-MM-DD [--seed S] [--pages P]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# Events drawn and written at a time: bounds memory (a few hundred MB of JSON text at most).
CHUNK_EVENTS = 100_000
STREAM_ID = "2839046139"
DAY_ZONE = ZoneInfo("Europe/London")
SEARCH_PATH = "/search/all"
FEEDBACK_SECTION = "Is this page useful?"
JSON_SUFFIXES = (".json", ".ndjson", ".jsonl")
GZIP_LEVEL = 6  # gzip's own default, as `bq extract --compression GZIP` gives

_VALUE = pa.struct(
    [
        ("string_value", pa.string()),
        ("int_value", pa.int64()),
        ("float_value", pa.float64()),
        ("double_value", pa.float64()),
    ]
)
_PARAM = pa.struct([("key", pa.string()), ("value", _VALUE)])
_PRIVACY = pa.struct(
    [
        ("analytics_storage", pa.string()),
        ("ads_storage", pa.string()),
        ("uses_transient_token", pa.string()),
    ]
)
_DEVICE = pa.struct(
    [
        ("category", pa.string()),
        ("mobile_brand_name", pa.string()),
        ("operating_system", pa.string()),
        ("language", pa.string()),
        ("web_info", pa.struct([("browser", pa.string())])),
    ]
)
_GEO = pa.struct([("city", pa.string()), ("country", pa.string()), ("region", pa.string())])
_SOURCE = pa.struct([("name", pa.string()), ("medium", pa.string()), ("source", pa.string())])

# The GA4 export's columns this generator writes, in the export's order (and each record's
# fields in its order) with BigQuery's Parquet types. Left out, to keep an event near the size
# of GOV.UK's: the columns a web day leaves empty or no figure reads (user_id,
# user_properties, items, app_info, ecommerce, event_server_timestamp_offset, ...) and most
# fields of device and geo.
GA4_SCHEMA = pa.schema(
    [
        ("event_date", pa.string()),
        ("event_timestamp", pa.int64()),
        ("event_name", pa.string()),
        ("event_params", pa.list_(_PARAM)),
        ("event_previous_timestamp", pa.int64()),
        ("event_bundle_sequence_id", pa.int64()),
        ("user_pseudo_id", pa.string()),
        ("privacy_info", _PRIVACY),
        ("device", _DEVICE),
        ("geo", _GEO),
        ("traffic_source", _SOURCE),
        ("stream_id", pa.string()),
        ("platform", pa.string()),
    ]
)

# The slots of a page view, in time order: which event each is. A session's first page view
# is preceded by its session_start; a search-page view is followed by its search event.
_SLOT_NAMES = (
    "session_start",
    "page_view",
    "search",  # on the search page, for the page whose box was used
    "scroll",
    "click",
    "search",  # from an ordinary page
    "form_submit",
    "user_engagement",
)
(
    _SESSION_START,
    _PAGE_VIEW,
    _SEARCH_PAGE_SEARCH,
    _SCROLL,
    _CLICK,
    _PAGE_SEARCH,
    _FORM_SUBMIT,
    _USER_ENGAGEMENT,
) = range(len(_SLOT_NAMES))

# The params an event may carry, in the order they are listed: (key, is an int_value).
_PARAM_KEYS = (
    ("page_location", False),
    ("page_referrer", False),
    ("page_title", False),
    ("entrances", True),
    ("engagement_time_msec", True),
    ("percent_scrolled", True),
    ("link_url", False),
    ("search_term", False),
    ("type", False),
    ("section", False),
    ("ui_text", False),
    ("ga_session_id", True),
)
_KEY = {key: i for i, (key, _) in enumerate(_PARAM_KEYS)}

# Shares of sessions, page views and events (assumptions in GOV.UK's rough proportions).
_SESSIONS_PER_USER = ((1, 0.74), (2, 0.19), (3, 0.07))
_BOUNCE = 0.5  # a session of one page view (so 2 page views a session on average)
_MAX_VIEWS = 15
_SEARCH_VIEW = 0.15  # a later page view that is the search page, from the page before
_SEARCH_ENTRANCE = 0.01  # a session that starts on the search page
_SCROLL_SHARE = 0.45
_CLICK_SHARE = 0.32
_PAGE_SEARCH_SHARE = 0.03
_FEEDBACK_SHARE = 0.04
_YES_SHARE = 0.58
_ENGAGEMENT_SHARE = 0.85
_NEW_USER_SHARE = 0.35
# How a page view records its page: as is, with a query, with a fragment or trailing slash,
# with mixed case (or lowercase escapes).
_VARIANT_SHARES = (0.9, 0.05, 0.03, 0.02)
_ZIPF = 1.05

_TOP_PAGES = (
    ("/", "Welcome to GOV.UK"),
    ("/sign-in-universal-credit", "Sign in to your Universal Credit account"),
    ("/log-in-register-hmrc-online-services", "Sign in to HMRC online services"),
    ("/check-mot-history", "Check the MOT history of a vehicle"),
    ("/vehicle-tax", "Tax your vehicle"),
    ("/renew-adult-passport", "Renew or replace your adult passport"),
    ("/bank-holidays", "UK bank holidays"),
    ("/find-a-job", "Find a job"),
    ("/check-uk-visa", "Check if you need a UK visa"),
    ("/browse/benefits", "Benefits"),
    ("/universal-credit", "Universal Credit"),
    ("/apply-for-a-uk-passport", "Apply for your first adult passport"),
    ("/government/organisations/hm-revenue-customs", "HM Revenue & Customs"),
    ("/contact-hmrc", "Contact HMRC"),
    ("/check-vehicle-tax", "Check if a vehicle is taxed"),
    ("/estimate-income-tax", "Estimate your Income Tax for the current year"),
    ("/book-driving-test", "Book your driving test"),
    ("/council-tax-bands", "Council Tax bands"),
    ("/state-pension-age", "Check your State Pension age"),
    ("/foreign-travel-advice", "Foreign travel advice"),
    ("/guidance/café-and-crèche-business-rates-relief", "Café and crèche business rates relief"),
)
_WORD_TEXT = (
    "tax vat income self assessment return pension state benefit allowance credit child "
    "housing council licence driving vehicle passport visa immigration apply application "
    "register registration report check claim pay payment fees form guidance rules business "
    "company employer employee students loan school schools funding grant planning permission "
    "environment waste water energy farming land property stamp duty capital gains inheritance "
    "customs import export trade tariff border travel advice health care social disability "
    "carers justice court prison probation legal aid family divorce marriage birth death "
    "record records statistics data annual quarterly monthly survey review consultation "
    "response policy strategy plan update changes new scheme support service services local "
    "authority guidance notice manual procedure standards safety fire police defence armed "
    "forces veterans charity charities goods duty excise fuel alcohol tobacco"
)
_WORDS = _WORD_TEXT.split()
_WIDE_WORDS = ("café", "crèche", "rôle", "naïve", "façade", "déjà-vu", "māori")
_SECTIONS = (
    ("/guidance/", 0.25),
    ("/government/publications/", 0.25),
    ("/government/news/", 0.10),
    ("/government/statistics/", 0.05),
    ("/government/consultations/", 0.03),
    ("/hmrc-internal-manuals/", 0.10),
    ("/browse/", 0.02),
    ("/", 0.20),
)
_QUERIES = (
    "?utm_source=newsletter&utm_medium=email&utm_campaign=govuk-notifications",
    "?step-by-step-nav=d5d2b7e3-4e6b-4bb1-a3e8-9a5ebd21c7a6",
    "?page=2",
    "?_ga=2.118384772.1536224521.1701418542-1234567890.1701418542",
)
_FRAGMENTS = ("#how-to-apply", "#overview", "#contents", "#history")
_REFERRERS = (  # (first page view's referrer, share); None: none recorded
    (None, 0.33),
    ("https://www.google.com/", 0.45),
    ("https://www.google.co.uk/", 0.06),
    ("https://www.bing.com/", 0.05),
    ("https://duckduckgo.com/", 0.02),
    ("android-app://com.google.android.gm/", 0.03),
    ("https://www.facebook.com/", 0.02),
    ("https://www.nhs.uk/", 0.04),
)
_LINKS = (
    "https://www.tax.service.gov.uk/account",
    "https://www.access.service.gov.uk/login/signin/creds",
    "https://www.universal-credit.service.gov.uk/sign-in",
    "https://www.passport.service.gov.uk/filter",
    "https://vehicleenquiry.service.gov.uk/",
    "https://www.check-mot.service.gov.uk/",
    "https://assets.publishing.service.gov.uk/media/report.pdf",
    "https://www.nhs.uk/",
    "https://www.legislation.gov.uk/ukpga/2006/46",
)
_SEARCH_TERMS = 400
_PRIVACY_POOL = (
    ({"analytics_storage": "Yes", "ads_storage": "No", "uses_transient_token": "No"}, 0.97),
    ({"analytics_storage": None, "ads_storage": None, "uses_transient_token": "No"}, 0.03),
)


def _device(
    category: str, brand: str, os_: str, browser: str, language: str = "en-gb"
) -> dict[str, Any]:
    return {
        "category": category,
        "mobile_brand_name": brand,
        "operating_system": os_,
        "language": language,
        "web_info": {"browser": browser},
    }


_DEVICE_POOL = (
    (_device("mobile", "Apple", "iOS", "Safari"), 0.30),
    (_device("mobile", "Samsung", "Android", "Chrome"), 0.12),
    (_device("mobile", "Google", "Android", "Chrome"), 0.05),
    (_device("desktop", "Microsoft", "Windows", "Edge"), 0.12),
    (_device("desktop", "Google", "Windows", "Chrome"), 0.20),
    (_device("desktop", "Apple", "Macintosh", "Safari"), 0.08),
    (_device("tablet", "Apple", "iOS", "Safari"), 0.08),
    (_device("desktop", "(not set)", "Linux", "Firefox", "en-us"), 0.05),
)


def _geo(city: str, region: str, country: str = "United Kingdom") -> dict[str, Any]:
    return {"city": city, "country": country, "region": region}


_GEO_POOL = (
    (_geo("London", "England"), 0.22),
    (_geo("Manchester", "England"), 0.07),
    (_geo("Birmingham", "England"), 0.07),
    (_geo("Leeds", "England"), 0.05),
    (_geo("Bristol", "England"), 0.04),
    (_geo("Newcastle upon Tyne", "England"), 0.03),
    (_geo("Glasgow", "Scotland"), 0.05),
    (_geo("Edinburgh", "Scotland"), 0.04),
    (_geo("Cardiff", "Wales"), 0.04),
    (_geo("Belfast", "Northern Ireland"), 0.03),
    (_geo("(not set)", "England"), 0.26),
    (_geo("Dublin", "Leinster", "Ireland"), 0.03),
    (_geo("Mumbai", "Maharashtra", "India"), 0.03),
    (_geo("Málaga", "Andalusia", "Spain"), 0.02),
    (_geo("Paris", "Ile-de-France", "France"), 0.02),
)
_SOURCE_POOL = (
    ({"name": "(organic)", "medium": "organic", "source": "google"}, 0.55),
    ({"name": "(direct)", "medium": "(none)", "source": "(direct)"}, 0.28),
    ({"name": "(referral)", "medium": "referral", "source": "nhs.uk"}, 0.05),
    ({"name": "(organic)", "medium": "organic", "source": "bing"}, 0.05),
    ({"name": "govuk-notifications", "medium": "email", "source": "govuk"}, 0.04),
    ({"name": "(referral)", "medium": "referral", "source": "facebook.com"}, 0.03),
)


@dataclass(frozen=True)
class _Pools:
    """What events are drawn from, built once for (seed, pages).

    Every string a param can hold is one entry of `strings` (and, quoted as JSON, of
    `quoted`): the URLs (each page's four variants, then the search page per term, then
    outside referrers), the titles, the links, the search terms and the feedback form's words,
    each kind from its `*_at` offset.
    """

    pages: int
    page_cdf: np.ndarray  # popularity of page i, cumulative
    strings: pa.Array
    quoted: pa.Array
    search_url_at: int
    referrer_at: int
    title_at: int  # page i's title; the search page's at title_at + pages
    link_at: int
    term_at: int
    word_at: int  # "feedback", the section, "Yes", "No"


def _paths(pages: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """`pages` distinct GOV.UK (path, title) pairs, most popular first, paths as normalised."""
    chosen = list(_TOP_PAGES[:pages])
    seen = {path for path, _ in chosen}
    sections, shares = zip(*_SECTIONS, strict=True)
    section_of = rng.choice(len(sections), size=pages, p=np.array(shares) / sum(shares))
    lengths = rng.integers(2, 7, size=pages)
    wide = rng.random(pages) < 0.02
    manuals = ("vat-guidance", "capital-gains-manual", "paye-manual", "employment-income-manual")
    i = 0
    while len(chosen) < pages:
        words = [_WORDS[w] for w in rng.integers(0, len(_WORDS), size=lengths[i % pages])]
        if wide[i % pages]:
            words[int(rng.integers(0, len(words)))] = _WIDE_WORDS[i % len(_WIDE_WORDS)]
        section = sections[section_of[i % pages]]
        if section == "/hmrc-internal-manuals/":
            manual = manuals[i % len(manuals)]
            code = f"{manual.split('-')[0][:4]}{int(rng.integers(1000, 99999))}"
            path, title = f"{section}{manual}/{code}", f"{' '.join(words).capitalize()}: {code}"
        else:
            path, title = section + "-".join(words), " ".join(words).capitalize()
        i += 1
        if path in seen:
            continue
        seen.add(path)
        chosen.append((path, title))
    return chosen


def _variants(path: str, n: int) -> tuple[str, str, str, str]:
    """The four ways a page view records `path` (the n-th page): as browsers send it
    (percent-escaped), with a query string, with a fragment or trailing slash, and with mixed
    case (lowercase escapes for a path beyond ASCII)."""
    sent = urllib.parse.quote(path, safe="/-")
    url = "https://www.gov.uk" + sent
    query = url + _QUERIES[n % len(_QUERIES)]
    marked = url + _FRAGMENTS[n % len(_FRAGMENTS)] if path == "/" or n % 2 else url + "/"
    if "%" in sent:
        cased = "https://www.gov.uk" + "".join(
            part.lower() if part.startswith("%") else part for part in _escapes(sent)
        )
    else:
        cased = "https://www.gov.uk" + "/".join(part.title() for part in sent.split("/"))
    return url, query, marked, cased


def _escapes(sent: str) -> list[str]:
    """`sent` split into percent-escapes (`%C3`) and the text between them."""
    parts: list[str] = []
    i = 0
    while i < len(sent):
        if sent[i] == "%":
            parts.append(sent[i : i + 3])
            i += 3
        else:
            j = sent.find("%", i)
            j = len(sent) if j == -1 else j
            parts.append(sent[i:j])
            i = j
    return parts


def _pools(seed: int, pages: int) -> _Pools:
    rng = np.random.default_rng([seed, 0x6A4])
    chosen = _paths(pages, rng)
    urls = [u for n, (path, _) in enumerate(chosen) for u in _variants(path, n)]
    terms = [
        " ".join(_WORDS[w] for w in rng.integers(0, len(_WORDS), size=int(k)))
        for k in rng.integers(1, 4, size=_SEARCH_TERMS)
    ]
    search_urls = [
        f"https://www.gov.uk{SEARCH_PATH}?keywords={urllib.parse.quote_plus(t)}&order=relevance"
        for t in terms
    ]
    referrers = [r for r, _ in _REFERRERS if r is not None]
    titles = [f"{title} - GOV.UK" for _, title in chosen] + ["Search - GOV.UK"]
    words = ["feedback", FEEDBACK_SECTION, "Yes", "No"]
    strings: list[str] = []
    at: dict[str, int] = {}
    for name, part in (
        ("url", urls),
        ("search_url", search_urls),
        ("referrer", referrers),
        ("title", titles),
        ("link", list(_LINKS)),
        ("term", terms),
        ("word", words),
    ):
        at[name] = len(strings)
        strings.extend(part)
    weights = 1.0 / np.arange(1, pages + 1) ** _ZIPF
    return _Pools(
        pages=pages,
        page_cdf=np.cumsum(weights / weights.sum()),
        strings=pa.array(strings, pa.string()),
        quoted=pa.array([json.dumps(s, ensure_ascii=False) for s in strings], pa.string()),
        search_url_at=at["search_url"],
        referrer_at=at["referrer"],
        title_at=at["title"],
        link_at=at["link"],
        term_at=at["term"],
        word_at=at["word"],
    )


@dataclass
class _Chunk:
    """One chunk of events, in timestamp order: the event-level fields and the params, flat
    (event i's params are entries `param_offsets[i]:param_offsets[i + 1]`)."""

    timestamp: np.ndarray  # int64 microseconds
    slot: np.ndarray  # index into _SLOT_NAMES
    user_id: pa.Array  # user_pseudo_id of each event
    bundle: np.ndarray  # event_bundle_sequence_id
    privacy: np.ndarray  # indexes into the pools of records
    device: np.ndarray
    geo: np.ndarray
    source: np.ndarray
    param_offsets: np.ndarray  # int32, events + 1
    param_key: np.ndarray  # index into _PARAM_KEYS
    param_string: np.ndarray  # index into _Pools.strings; -1 for an int_value
    param_int: np.ndarray  # the int_value; 0 for a string_value


def _weighted(rng: np.random.Generator, pool: Sequence[tuple[Any, float]], n: int) -> np.ndarray:
    shares = np.array([share for _, share in pool])
    return rng.choice(len(pool), size=n, p=shares / shares.sum())


@dataclass
class _Sessions:
    """A chunk's users and their sessions: each user's sessions are consecutive."""

    users: int
    sessions_of: np.ndarray  # sessions of each user
    session_user: np.ndarray  # the user of each session
    user_first: np.ndarray  # each user's first session
    session_k: np.ndarray  # 0, 1, 2 within the user


@dataclass
class _Views:
    """A chunk's page views, session after session, and what each records."""

    session: np.ndarray  # the session of each view
    entry: np.ndarray  # the session's first view
    location: np.ndarray  # page_location: index into _Pools.strings
    title: np.ndarray  # page_title: index into _Pools.strings
    referrer: np.ndarray  # page_referrer: index into _Pools.strings, -1 for none
    search_view: np.ndarray  # a view of the search page
    term: np.ndarray  # the search term of a search-page view


def _draw_sessions(rng: np.random.Generator, users: int) -> _Sessions:
    sessions_of = np.array([n for n, _ in _SESSIONS_PER_USER])[
        _weighted(rng, _SESSIONS_PER_USER, users)
    ]
    session_user = np.repeat(np.arange(users), sessions_of)
    user_first = np.cumsum(sessions_of) - sessions_of
    session_k = np.arange(len(session_user)) - user_first[session_user]
    return _Sessions(users, sessions_of, session_user, user_first, session_k)


def _draw_views(rng: np.random.Generator, pools: _Pools, sessions: int) -> _Views:
    """Each session's page views: the pages (or the search page), as recorded."""
    views_of = np.minimum(rng.geometric(_BOUNCE, size=sessions), _MAX_VIEWS)
    view_session = np.repeat(np.arange(sessions), views_of)
    views = len(view_session)
    view_j = np.arange(views) - (np.cumsum(views_of) - views_of)[view_session]
    entry = view_j == 0
    search_view = np.where(
        entry, rng.random(views) < _SEARCH_ENTRANCE, rng.random(views) < _SEARCH_VIEW
    )
    page = np.searchsorted(pools.page_cdf, rng.random(views), side="right")
    page = np.minimum(page, pools.pages - 1)
    variant = rng.choice(4, size=views, p=_VARIANT_SHARES)
    term = rng.integers(0, _SEARCH_TERMS, size=views)
    location = np.where(search_view, pools.search_url_at + term, page * 4 + variant)
    title = pools.title_at + np.where(search_view, pools.pages, page)
    outside = _weighted(rng, _REFERRERS, views)  # 0: none
    referrer = np.where(
        entry, np.where(outside > 0, pools.referrer_at + outside - 1, -1), np.roll(location, 1)
    )
    return _Views(view_session, entry, location, title, referrer, search_view, term)


def _draw_slots(
    rng: np.random.Generator, entry: np.ndarray, search_view: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The events of the page views: (view, slot) of each, by session, in time."""
    views = len(entry)
    slots = np.zeros((views, len(_SLOT_NAMES)), dtype=bool)
    slots[:, _SESSION_START] = entry
    slots[:, _PAGE_VIEW] = True
    slots[:, _SEARCH_PAGE_SEARCH] = search_view
    slots[:, _SCROLL] = rng.random(views) < _SCROLL_SHARE
    slots[:, _CLICK] = rng.random(views) < _CLICK_SHARE
    slots[:, _PAGE_SEARCH] = ~search_view & (rng.random(views) < _PAGE_SEARCH_SHARE)
    slots[:, _FORM_SUBMIT] = ~search_view & (rng.random(views) < _FEEDBACK_SHARE)
    slots[:, _USER_ENGAGEMENT] = rng.random(views) < _ENGAGEMENT_SHARE
    view, slot = np.nonzero(slots)
    return view, slot


def _draw_times(
    rng: np.random.Generator,
    people: _Sessions,
    session: np.ndarray,
    slot: np.ndarray,
    landing: np.ndarray,
    day: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(engagement ms, timestamp) of each event of the sessions `session` in order, and each
    session's start (microseconds)."""
    n, sessions = len(slot), len(people.session_user)
    engaged_ms = np.clip(rng.lognormal(np.log(20_000), 1.1, size=n), 100, 600_000).astype(np.int64)
    # Time since the event before in its session: the engagement time for user_engagement.
    gap = rng.integers(200_000, 20_000_000, size=n)
    gap = np.where(slot == _USER_ENGAGEMENT, engaged_ms * 1000 + gap // 100, gap)
    # A landing page view follows its session_start within the millisecond.
    gap = np.where((slot == _PAGE_VIEW) & landing, gap // 20_000 + 1, gap)
    first_event = np.r_[True, session[1:] != session[:-1]]
    gap[first_event] = 0
    since = np.cumsum(gap)
    since -= np.maximum.accumulate(np.where(first_event, since, 0))
    duration = np.zeros(sessions, dtype=np.int64)
    last_event = np.r_[first_event[1:], True]
    duration[session[last_event]] = since[last_event]
    # A user's day split in equal windows, one session in each: sessions never overlap, and
    # a session (at most about 3.1 hours) fits in its window (7 2/3 hours at the least).
    day_start, day_seconds = day
    window = day_seconds * 1_000_000 // people.sessions_of[people.session_user]
    room = np.maximum(window - duration - 1_000_000, 0)
    start = people.session_k * window + (rng.random(sessions) * room).astype(np.int64)
    session_start = day_start * 1_000_000 + start
    return engaged_ms, session_start[session] + since, session_start


def _draw_user_records(
    rng: np.random.Generator, people: _Sessions, session_start: np.ndarray, seed: int, first: int
) -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each user's user_pseudo_id, and which privacy, device, geo and source records."""
    users = people.users
    new_user = rng.random(users) < _NEW_USER_SHARE
    first_session = session_start[people.user_first]
    first_touch = np.where(
        new_user, first_session, first_session - rng.integers(1, 400, size=users) * 86_400_000_000
    )
    # Distinct client ids: multiplying by a number prime to 10 permutes 0 .. 10**10 - 1.
    client = ((first + np.arange(users)) * 7_919_000_001 + seed * 104_729 + 1) % 10**10
    user_ids = pc.binary_join_element_wise(
        pc.cast(pa.array(client), pa.string()),
        pc.cast(pa.array(first_touch // 1_000_000), pa.string()),
        ".",
    )
    privacy = _weighted(rng, _PRIVACY_POOL, users)
    device = _weighted(rng, _DEVICE_POOL, users)
    geo = _weighted(rng, _GEO_POOL, users)
    source = _weighted(rng, _SOURCE_POOL, users)
    return user_ids, privacy, device, geo, source


@dataclass
class _EventDraws:
    """What the params of a chunk's events (in time order) are made of."""

    view: np.ndarray
    slot: np.ndarray
    session_id: np.ndarray
    engaged_ms: np.ndarray
    yes: np.ndarray
    link: np.ndarray
    other_term: np.ndarray


def _draw_chunk(
    pools: _Pools, seed: int, number: int, events: int, first_user: int, day: tuple[int, int]
) -> tuple[_Chunk, int]:
    """Chunk `number` of the day: `events` events of users numbered from `first_user`; also
    how many users it holds. `day`: its first second (Unix) and its length in seconds."""
    rng = np.random.default_rng([seed, number])
    # Enough users for about twice the events; the day is cut after `events` of them.
    people = _draw_sessions(rng, events // 4 + 16)
    views = _draw_views(rng, pools, len(people.session_user))
    view, slot = _draw_slots(rng, views.entry, views.search_view)
    session = views.session[view]
    engaged_ms, timestamp, session_start = _draw_times(
        rng, people, session, slot, views.entry[view], day
    )
    # Cut the day after `events` events (users in order, so the last user may be cut short).
    view, slot, session, timestamp = (
        view[:events],
        slot[:events],
        session[:events],
        timestamp[:events],
    )
    engaged_ms = engaged_ms[:events]
    n = len(view)
    if n < events:  # practically never: about twice as many were drawn
        raise RuntimeError(f"chunk {number} drew {n} events, fewer than {events}")
    user = people.session_user[session]
    users_held = int(user[-1]) + 1
    user_ids, privacy, device, geo, source = _draw_user_records(
        rng, people, session_start, seed, first_user
    )
    bundle = rng.integers(1, 40, size=n)
    yes = rng.random(n) < _YES_SHARE
    link = rng.integers(0, len(_LINKS), size=n)
    other_term = rng.integers(0, _SEARCH_TERMS, size=n)
    # An export is in no particular order: here, the chunk's events in time order.
    order = np.argsort(timestamp, kind="stable")
    view, slot, session, timestamp, user = (
        a[order] for a in (view, slot, session, timestamp, user)
    )
    events_of = _EventDraws(
        view=view,
        slot=slot,
        session_id=session_start[session] // 1_000_000,
        engaged_ms=engaged_ms[order],
        yes=yes[order],
        link=link[order],
        other_term=other_term[order],
    )
    offsets, param_key, param_string, param_int = _flat_params(_params(pools, views, events_of))
    chunk = _Chunk(
        timestamp=timestamp,
        slot=slot,
        user_id=user_ids.take(pa.array(user)),
        bundle=bundle,
        privacy=privacy[user],
        device=device[user],
        geo=geo[user],
        source=source[user],
        param_offsets=offsets,
        param_key=param_key,
        param_string=param_string,
        param_int=param_int,
    )
    return chunk, users_held


def _params(
    pools: _Pools, views: _Views, ev: _EventDraws
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(key, which events carry it, its value) of every param an event may carry."""
    n, slot, view = len(ev.slot), ev.slot, ev.view
    ev_referrer = views.referrer[view]
    is_search = (slot == _SEARCH_PAGE_SEARCH) | (slot == _PAGE_SEARCH)
    search_term = np.where(slot == _SEARCH_PAGE_SEARCH, views.term[view], ev.other_term)
    feedback = slot == _FORM_SUBMIT
    viewed = (slot == _PAGE_VIEW) | (slot == _SEARCH_PAGE_SEARCH)
    everyone = np.ones(n, dtype=bool)
    w = pools.word_at
    return [
        ("page_location", everyone, views.location[view]),
        ("page_referrer", viewed & (ev_referrer >= 0), ev_referrer),
        ("page_title", viewed, views.title[view]),
        ("entrances", (slot == _PAGE_VIEW) & views.entry[view], np.ones(n, dtype=np.int64)),
        ("engagement_time_msec", slot == _USER_ENGAGEMENT, ev.engaged_ms),
        ("percent_scrolled", slot == _SCROLL, np.full(n, 90, dtype=np.int64)),
        ("link_url", slot == _CLICK, pools.link_at + ev.link),
        ("search_term", is_search, pools.term_at + search_term),
        ("type", feedback, np.full(n, w)),
        ("section", feedback, np.full(n, w + 1)),
        ("ui_text", feedback, np.where(ev.yes, w + 2, w + 3)),
        ("ga_session_id", everyone, ev.session_id),
    ]


def _flat_params(
    params: list[tuple[str, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The params flat, event after event: (offsets, key, string index, int value)."""
    n = len(params[0][1])
    counts = np.zeros(n, dtype=np.int32)
    for _, present, _ in params:
        counts += present
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    total = int(offsets[-1])
    param_key = np.zeros(total, dtype=np.int8)
    param_string = np.full(total, -1, dtype=np.int64)
    param_int = np.zeros(total, dtype=np.int64)
    rank = offsets[:-1].copy()  # where each event's next param goes
    for key, present, value in params:
        at = rank[present]
        param_key[at] = _KEY[key]
        if _PARAM_KEYS[_KEY[key]][1]:
            param_int[at] = value[present]
        else:
            param_string[at] = value[present]
        rank += present
    return offsets, param_key, param_string, param_int


def _chunks(seed: int, events: int, day: date, pages: int) -> Iterator[tuple[_Pools, _Chunk]]:
    """The day's chunks, drawn one at a time."""
    pools = _pools(seed, pages)
    # GOV.UK's days are London days: 23 or 25 hours when the clocks change.
    day_start = int(datetime.combine(day, time(), DAY_ZONE).timestamp())
    day_end = int(datetime.combine(day + timedelta(days=1), time(), DAY_ZONE).timestamp())
    next_user = 0
    for number, first in enumerate(range(0, events, CHUNK_EVENTS)):
        size = min(CHUNK_EVENTS, events - first)
        chunk, users = _draw_chunk(
            pools, seed, number + 1, size, next_user, (day_start, day_end - day_start)
        )
        next_user += users
        yield pools, chunk


# --- Parquet -------------------------------------------------------------------------------

_RECORD_ARRAYS: dict[str, pa.Array] = {
    "privacy_info": pa.array([r for r, _ in _PRIVACY_POOL], _PRIVACY),
    "device": pa.array([r for r, _ in _DEVICE_POOL], _DEVICE),
    "geo": pa.array([r for r, _ in _GEO_POOL], _GEO),
    "traffic_source": pa.array([r for r, _ in _SOURCE_POOL], _SOURCE),
}


def _table(pools: _Pools, chunk: _Chunk, event_date: str) -> pa.Table:
    """The chunk as rows of `GA4_SCHEMA`."""
    n = len(chunk.timestamp)
    is_int = chunk.param_string < 0
    values = pa.StructArray.from_arrays(
        [
            pools.strings.take(pa.array(chunk.param_string, mask=is_int)),
            pa.array(chunk.param_int, pa.int64(), mask=~is_int),
            pa.nulls(len(is_int), pa.float64()),
            pa.nulls(len(is_int), pa.float64()),
        ],
        fields=list(_VALUE),
    )
    keys = pa.array([key for key, _ in _PARAM_KEYS], pa.string()).take(chunk.param_key)
    params = pa.ListArray.from_arrays(
        pa.array(chunk.param_offsets),
        pa.StructArray.from_arrays([keys, values], fields=list(_PARAM)),
        type=GA4_SCHEMA.field("event_params").type,
    )
    names = pa.array(_SLOT_NAMES, pa.string())
    columns = {
        "event_date": pa.repeat(pa.scalar(event_date, pa.string()), n),
        "event_timestamp": pa.array(chunk.timestamp, pa.int64()),
        "event_name": names.take(chunk.slot),
        "event_params": params,
        "event_previous_timestamp": pa.nulls(n, pa.int64()),
        "event_bundle_sequence_id": pa.array(chunk.bundle, pa.int64()),
        "user_pseudo_id": chunk.user_id,
        "privacy_info": _RECORD_ARRAYS["privacy_info"].take(chunk.privacy),
        "device": _RECORD_ARRAYS["device"].take(chunk.device),
        "geo": _RECORD_ARRAYS["geo"].take(chunk.geo),
        "traffic_source": _RECORD_ARRAYS["traffic_source"].take(chunk.source),
        "stream_id": pa.repeat(pa.scalar(STREAM_ID, pa.string()), n),
        "platform": pa.repeat(pa.scalar("WEB", pa.string()), n),
    }
    return pa.Table.from_arrays(list(columns.values()), schema=GA4_SCHEMA)


# --- JSON ----------------------------------------------------------------------------------


def _record_json(pool: Sequence[tuple[dict[str, Any], float]]) -> pa.Array:
    return pa.array([json.dumps(record, ensure_ascii=False) for record, _ in pool], pa.string())


_RECORD_JSON = {
    "privacy_info": _record_json(_PRIVACY_POOL),
    "device": _record_json(_DEVICE_POOL),
    "geo": _record_json(_GEO_POOL),
    "traffic_source": _record_json(_SOURCE_POOL),
}
# A param's text up to its value, for a string_value (2k) and an int_value (2k + 1).
_PARAM_HEADS = pa.array(
    [
        text
        for key, _ in _PARAM_KEYS
        for text in (
            f'{{"key": "{key}", "value": {{"string_value": ',
            f'{{"key": "{key}", "value": {{"string_value": null, "int_value": "',
        )
    ],
    pa.string(),
)
_PARAM_TAILS = pa.array(
    [
        ', "int_value": null, "float_value": null, "double_value": null}}',
        '", "float_value": null, "double_value": null}}',
    ],
    pa.string(),
)


def _json_lines(pools: _Pools, chunk: _Chunk, event_date: str) -> pa.Array:
    """The chunk as JSON text, one event per line (each ending in a newline), fields in the
    export's order, as `bq extract` writes them."""
    is_int = chunk.param_string < 0
    value = pc.coalesce(
        pools.quoted.take(pa.array(chunk.param_string, mask=is_int)),
        pc.cast(pa.array(chunk.param_int, pa.int64(), mask=~is_int), pa.string()),
    )
    param = pc.binary_join_element_wise(
        _PARAM_HEADS.take(pa.array(chunk.param_key.astype(np.int64) * 2 + is_int)),
        value,
        _PARAM_TAILS.take(pa.array(is_int.astype(np.int8))),
        "",
    )
    params = pc.binary_join(pa.ListArray.from_arrays(pa.array(chunk.param_offsets), param), ", ")
    names = pa.array(_SLOT_NAMES, pa.string())

    def text(values: np.ndarray) -> pa.Array:
        return pc.cast(pa.array(values, pa.int64()), pa.string())

    return pc.binary_join_element_wise(
        f'{{"event_date": "{event_date}", "event_timestamp": "',
        text(chunk.timestamp),
        '", "event_name": "',
        names.take(chunk.slot),
        '", "event_params": [',
        params,
        '], "event_previous_timestamp": null, "event_bundle_sequence_id": "',
        text(chunk.bundle),
        '", "user_pseudo_id": "',
        chunk.user_id,
        '", "privacy_info": ',
        _RECORD_JSON["privacy_info"].take(chunk.privacy),
        ', "device": ',
        _RECORD_JSON["device"].take(chunk.device),
        ', "geo": ',
        _RECORD_JSON["geo"].take(chunk.geo),
        ', "traffic_source": ',
        _RECORD_JSON["traffic_source"].take(chunk.source),
        f', "stream_id": "{STREAM_ID}", "platform": "WEB"}}\n',
        "",
    )


def _write_text(out: BinaryIO, lines: pa.Array) -> None:
    """Write the text of a string array as it lies in its buffer: the lines, back to back."""
    offsets = lines.buffers()[1]
    first, last = np.frombuffer(offsets, dtype=np.int32)[[lines.offset, lines.offset + len(lines)]]
    out.write(memoryview(lines.buffers()[2])[first:last])


# --- Writing -------------------------------------------------------------------------------


def ga4_format(path: Path) -> str:
    """ "json", "json.gz" or "parquet": the format `path`'s suffix names.

    Raises:
        ValueError: any other suffix.
    """
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if any(name.endswith(s + ".gz") for s in JSON_SUFFIXES):
        return "json.gz"
    if name.endswith(JSON_SUFFIXES):
        return "json"
    raise ValueError(f"{path}: write .json, .ndjson, .json.gz or .parquet, not {path.suffix!r}")


def write_ga4_events(
    path: Path, events: int, *, day: date, seed: int = 0, pages: int = 20_000
) -> Path:
    """Write a GA4 export day of `events` events in GOV.UK's shape to `path` (see the module's
    docstring), in the format of its suffix; the file appears whole or not at all.

    Raises:
        ValueError: a suffix other than .json, .ndjson, .json.gz or .parquet; `events` or
            `pages` less than 1.
    """
    path = Path(path)
    kind = ga4_format(path)
    if events < 1 or pages < 1:
        raise ValueError(f"events ({events}) and pages ({pages}) must be at least 1")
    event_date = day.strftime("%Y%m%d")
    partial = path.with_name(path.name + ".part")
    try:
        if kind == "parquet":
            # BigQuery's Parquet export compresses with Snappy.
            with pq.ParquetWriter(partial, GA4_SCHEMA, compression="snappy") as writer:
                for pools, chunk in _chunks(seed, events, day, pages):
                    writer.write_table(_table(pools, chunk, event_date))
        else:
            with open(partial, "wb") as raw:
                out: BinaryIO = raw
                if kind == "json.gz":
                    out = gzip.GzipFile(  # type: ignore[assignment]
                        filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0
                    )
                with out:
                    for pools, chunk in _chunks(seed, events, day, pages):
                        _write_text(out, _json_lines(pools, chunk, event_date))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m govuk_kpi.sample.ga4_events",
        description="Write a generated GA4 export day in GOV.UK's shape "
        "(.json / .ndjson, .json.gz or .parquet, by the suffix of OUT).",
    )
    parser.add_argument("out", type=Path, metavar="OUT")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--day", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pages", type=int, default=20_000)
    args = parser.parse_args(argv)
    try:
        written = write_ga4_events(
            args.out, args.events, day=args.day, seed=args.seed, pages=args.pages
        )
    except ValueError as exc:
        parser.error(str(exc))
    size = written.stat().st_size
    print(f"{written}: {args.events:,} events of {args.day.isoformat()}, {size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
