"""The one list of the warehouse's data sources: what each is, who reads it, where it lands.

A source is registered once, below, in `SOURCES`; everything that used to spell the names out
derives from it: the loaders (`warehouse.load_files.LOADERS`, one per registered name, a test
fails when one is missing), the rollups' daily and dimension batch sources, the batch summary,
the daily CSV formats (`daily_csv.FORMATS`), the extract kinds, the command line's choices and
the pipeline's landing folders.

Nothing here imports a reader: a reader is named by its dotted path (`module:function`) and
imported only when asked for (`Source.load_reader()`), so the registry stays free of the
database and of every reader's dependencies, and the readers may import it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, Literal

Kind = Literal["daily", "dimension"]


@dataclass(frozen=True)
class Source:
    """One data source.

    name: what `govuk-kpi load NAME` and `LOADERS[NAME]` call it.
    kind: `daily` (days of per-page figures: a load replaces the days it holds, `--replace`
        and `--dry-run` apply) or `dimension` (content, organisations).
    reader: `module:function` of the reader in `govuk_kpi.sources`.
    batch_source: the `load_batch.source` its loads are recorded as (the GA4 and GA UI
        routes load as `analytics`); the name itself when not given.
    format: the input format it reads; for the project's own daily CSVs (`daily-csv`), the
        name of its columns in `daily_csv.FORMAT_VERSIONS`.
    landing: where its input is found, in order, each a pattern formatted with `day`:
        a daily source's relative to the landing folder (`data/landing`), a dimension's
        relative to the day's snapshot folder.
    pipeline: whether `govuk-kpi run` picks its landing files up (the GA UI's "Pages"
        report is exported and loaded by hand).
    extract: the `govuk-kpi extract` kind that fetches its input, if any.
    """

    name: str
    kind: Kind
    reader: str
    format: str
    landing: tuple[str, ...]
    batch_source: str = ""
    pipeline: bool = True
    extract: str | None = None

    def __post_init__(self) -> None:
        if not self.batch_source:
            object.__setattr__(self, "batch_source", self.name)

    @property
    def daily(self) -> bool:
        return self.kind == "daily"

    def load_reader(self) -> Callable[..., Any]:
        """The reader function, imported now."""
        module, _, function = self.reader.partition(":")
        reader: Callable[..., Any] = getattr(importlib.import_module(module), function)
        return reader

    def landing_paths(self, root: Path, day: date) -> list[Path]:
        """Its landing patterns for `day`, under `root`."""
        return [root / pattern.format(day=day) for pattern in self.landing]

    def lands_as(self, path: Path) -> bool:
        """Whether a file's name is one of this source's landing names (any day)."""
        return any(fnmatch(path.name, _glob(pattern)) for pattern in self.landing)


class SourceRegistry(Mapping[str, Source]):
    """Sources by name, in the order they were registered (papermill's translators registry
    is the model: one `register` call per source, in one block)."""

    def __init__(self) -> None:
        self._sources: dict[str, Source] = {}

    def register(self, source: Source) -> Source:
        if source.name in self._sources:
            raise ValueError(f"source {source.name!r} is registered twice")
        if source.kind not in ("daily", "dimension"):
            raise ValueError(f"source {source.name!r}: kind must be daily or dimension")
        if not source.landing:
            raise ValueError(f"source {source.name!r} has no landing pattern")
        self._sources[source.name] = source
        return source

    def __getitem__(self, name: str) -> Source:
        return self._sources[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)

    def names(self, kind: Kind | None = None) -> tuple[str, ...]:
        """The registered names (of one kind), in registration order."""
        return tuple(s.name for s in self._sources.values() if kind in (None, s.kind))

    def batch_sources(self, kind: Kind) -> tuple[str, ...]:
        """The distinct `load_batch.source` values loads of this kind are recorded as."""
        return tuple(
            dict.fromkeys(s.batch_source for s in self._sources.values() if s.kind == kind)
        )

    def of_format(self, format: str) -> tuple[Source, ...]:
        return tuple(s for s in self._sources.values() if s.format == format)

    def extract_kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.extract for s in self._sources.values() if s.extract))

    def landing_sources(self, batch_source: str) -> tuple[Source, ...]:
        """The daily sources the pipeline looks for in `batch_source`'s landing folder."""
        return tuple(
            s
            for s in self._sources.values()
            if s.daily and s.pipeline and s.batch_source == batch_source
        )

    def landing_kinds(self) -> tuple[str, ...]:
        """The landing folders the pipeline reads a day's files from (`analytics`, ...)."""
        return tuple(
            dict.fromkeys(s.batch_source for s in self._sources.values() if s.daily and s.pipeline)
        )

    def landing_file(self, batch_source: str, day: date, root: Path) -> Path:
        """A day's file for `batch_source` under the landing folder `root`: the first of its
        sources' landing names that exists, else the first name (the file awaited)."""
        candidates = [
            path for s in self.landing_sources(batch_source) for path in s.landing_paths(root, day)
        ]
        if not candidates:
            raise ValueError(f"no source lands in {batch_source!r}")
        return next((path for path in candidates if path.exists()), candidates[0])

    def landing_source(self, path: Path, batch_source: str) -> Source:
        """Which of `batch_source`'s landing sources a landing file is (by its name)."""
        sources = self.landing_sources(batch_source)
        return next((s for s in sources if s.lands_as(path)), sources[0])


def _glob(pattern: str) -> str:
    """A landing pattern's file name as a glob: `{day:...}` matches any day."""
    name = pattern.rsplit("/", 1)[-1]
    out, depth = [], 0
    for char in name:
        if char == "{":
            depth += 1
            if depth == 1:
                out.append("*")
        elif char == "}":
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


_DAY = "{day:%Y-%m-%d}"
_GA4_DAY = "{day:%Y%m%d}"


def _dimension(name: str, reader: str, format: str) -> Source:
    """A dimension that `govuk-kpi extract NAME` fetches into the snapshot's folder NAME."""
    return Source(
        name=name, kind="dimension", reader=reader, format=format, landing=(name,), extract=name
    )


def _daily_csv(name: str) -> Source:
    """A day of the project's own CSV, landed as `NAME/NAME-YYYY-MM-DD.csv`."""
    return Source(
        name=name,
        kind="daily",
        reader="govuk_kpi.sources.daily_csv:read_daily_csv",
        format="daily-csv",
        landing=(f"{name}/{name}-{_DAY}.csv",),
    )


SOURCES = SourceRegistry()
SOURCES.register(
    _dimension("content", "govuk_kpi.sources.content_items:read_content_items", "content-api-json")
)
SOURCES.register(
    _dimension(
        "organisations",
        "govuk_kpi.sources.organisations:read_organisations",
        "organisations-api-json",
    )
)
SOURCES.register(_daily_csv("analytics"))
SOURCES.register(_daily_csv("feedback"))
SOURCES.register(
    Source(
        name="ga4",
        kind="daily",
        batch_source="analytics",
        reader="govuk_kpi.sources.ga4_duckdb:read_ga4",
        format="ga4-export",
        landing=(
            f"analytics/events_{_GA4_DAY}.parquet",
            f"analytics/events_{_GA4_DAY}.json.gz",
            f"analytics/events_{_GA4_DAY}.json",
        ),
        extract="ga4",
    )
)
SOURCES.register(
    Source(
        name="ga-pages",
        kind="daily",
        batch_source="analytics",
        reader="govuk_kpi.sources.ga_csv:read_ga_pages_csv",
        format="ga-pages-csv",
        landing=(f"analytics/ga-pages-{_DAY}.csv",),
        pipeline=False,  # exported from the GA UI and loaded by hand
    )
)

SOURCE_NAMES: tuple[str, ...] = SOURCES.names()
DAILY_NAMES: tuple[str, ...] = SOURCES.names("daily")
"""The names whose files hold days of usage: their loads take `replace` and `dry_run`."""
DAILY_BATCH_SOURCES: tuple[str, ...] = SOURCES.batch_sources("daily")
"""`load_batch.source` of daily loads: ("analytics", "feedback")."""
DIMENSION_BATCH_SOURCES: tuple[str, ...] = SOURCES.batch_sources("dimension")
"""`load_batch.source` of dimension loads: ("content", "organisations")."""
