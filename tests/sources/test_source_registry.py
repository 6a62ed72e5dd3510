"""One registry of data sources: everything that names a source derives from it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
import pytest

from govuk_kpi.sources.daily_csv import FORMAT_VERSION, FORMAT_VERSIONS, FORMATS
from govuk_kpi.sources.http.run import KINDS as HTTP_EXTRACT_KINDS
from govuk_kpi.sources.registry import (
    DAILY_BATCH_SOURCES,
    DIMENSION_BATCH_SOURCES,
    SOURCES,
    Source,
    SourceRegistry,
)
from govuk_kpi.warehouse import rollups
from govuk_kpi.warehouse.load_files import DAILY_KINDS, LOADER_FUNCTIONS, LOADERS

NAMES = list(SOURCES)


@pytest.mark.parametrize("name", NAMES)
def test_every_source_has_a_loader(name: str) -> None:
    assert name in LOADER_FUNCTIONS, f"no loader for source {name!r} in load_files"
    assert LOADERS[name] is LOADER_FUNCTIONS[name]


def test_no_loader_without_a_source() -> None:
    assert set(LOADER_FUNCTIONS) == set(SOURCES)
    assert list(LOADERS) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_every_source_has_a_landing_pattern_and_a_reader(name: str) -> None:
    source = SOURCES[name]
    assert source.landing
    for path in source.landing_paths(Path("root"), date(2026, 10, 30)):
        assert "{" not in str(path)
        assert source.lands_as(path)
    assert callable(source.load_reader())
    assert source.reader.startswith("govuk_kpi.sources.")


def _cli_load_choices() -> list[str] | None:
    try:
        from govuk_kpi import cli
    except ImportError:  # the command line is being split: the loaders still say it
        return None
    command = cli.main.commands.get("load") if isinstance(cli.main, click.Group) else None
    for param in getattr(command, "params", []):
        if param.name == "kind" and isinstance(param.type, click.Choice):
            return list(param.type.choices)
    return None


def test_every_source_is_a_choice_of_the_command_line() -> None:
    choices = _cli_load_choices()
    if choices is None:
        pytest.skip("the command line's load choices are not where this test looks")
    assert sorted(choices) == sorted(SOURCES)


def test_the_daily_and_dimension_sources() -> None:
    assert DAILY_KINDS == ("analytics", "feedback", "ga4", "ga-pages")
    assert rollups.DAILY_SOURCES == DAILY_BATCH_SOURCES == ("analytics", "feedback")
    assert rollups.DIMENSION_SOURCES == DIMENSION_BATCH_SOURCES == ("content", "organisations")
    for source in SOURCES.values():
        expected = DAILY_BATCH_SOURCES if source.daily else DIMENSION_BATCH_SOURCES
        assert source.batch_source in expected


def test_the_daily_csv_formats_are_the_registered_ones() -> None:
    assert (
        set(FORMATS)
        == {s.name for s in SOURCES.of_format("daily-csv")}
        == {
            "analytics",
            "feedback",
        }
    )
    assert FORMAT_VERSIONS[FORMAT_VERSION] == FORMATS


def test_the_extracts_over_http_cover_the_sources_fetched_over_http() -> None:
    over_http = {k for k in SOURCES.extract_kinds() if k != "ga4"}  # ga4: BigQuery
    assert over_http <= set(HTTP_EXTRACT_KINDS)
    assert over_http == {"content", "organisations"}


def test_the_landing_folders_and_files(tmp_path: Path) -> None:
    day = date(2026, 10, 30)
    assert SOURCES.landing_kinds() == ("analytics", "feedback")
    analytics = tmp_path / "analytics"
    assert (
        SOURCES.landing_file("analytics", day, tmp_path) == analytics / "analytics-2026-10-30.csv"
    )
    assert SOURCES.landing_file("feedback", day, tmp_path) == (
        tmp_path / "feedback" / "feedback-2026-10-30.csv"
    )
    analytics.mkdir()
    (analytics / "events_20261030.json").write_text("")
    (analytics / "events_20261030.json.gz").write_bytes(b"")
    export = SOURCES.landing_file("analytics", day, tmp_path)
    assert export == analytics / "events_20261030.json.gz"
    assert SOURCES.landing_source(export, "analytics").name == "ga4"
    (analytics / "analytics-2026-10-30.csv").write_text("")
    csv = SOURCES.landing_file("analytics", day, tmp_path)
    assert csv == analytics / "analytics-2026-10-30.csv"
    assert SOURCES.landing_source(csv, "analytics").name == "analytics"
    with pytest.raises(ValueError, match="no source lands"):
        SOURCES.landing_file("ga4", day, tmp_path)


def test_a_source_registers_once_with_a_landing_pattern() -> None:
    registry = SourceRegistry()
    one = Source("one", "daily", "govuk_kpi.sources.daily_csv:read_daily_csv", "x", ("a-{day}",))
    registry.register(one)
    assert registry["one"].batch_source == "one"
    with pytest.raises(ValueError, match="twice"):
        registry.register(one)
    with pytest.raises(ValueError, match="no landing pattern"):
        registry.register(Source("two", "daily", "m:f", "x", ()))
