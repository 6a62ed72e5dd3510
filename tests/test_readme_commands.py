"""Every `govuk-kpi ...` command of README.md runs as written, in order, on one warehouse.

The commands are read from the README's code blocks and run in process (click's runner) in a
folder holding the files they name, so a command the README shows but the program refuses
fails here. Placeholders the README uses (`FILE`, `REPORT FIGURE`) are filled with real names;
commands that need a server, the network or many minutes are checked with `--help` instead,
each for the reason named in `HELP_ONLY`.
"""

from __future__ import annotations

import re
import shlex
import shutil
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from govuk_kpi.cli import IsoDateTime, main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DATA = ROOT / "data" / "govuk"
GA4_EXPORT = ROOT / "tests" / "extract" / "fixtures" / "events_20261030.json"

# Commands checked with `--help` only, and why they are not run.
HELP_ONLY = {
    "serve": "serves HTTP until stopped",
    "reports serve": "serves HTTP until stopped",
    "run": "extracts from www.gov.uk (the network) before it loads",
    "extract organisations": "fetches from www.gov.uk (the network)",
    "extract search": "fetches from www.gov.uk (the network)",
    "extract content": "fetches from www.gov.uk (the network)",
    "sample --pages 550000 --days 400": "GOV.UK size takes many minutes (tests/sample scales it)",
}

# Commands the README says exit 1 with the reason (here, yesterday's facts are missing:
# the folder's data ends in 2026), and why.
MAY_FAIL = {"health": "exit 1 with the reason if yesterday is missing"}

PLACEHOLDERS = {
    "FILE": "analytics-2026-10-30.csv",
    "REPORT": "kpi-overview",
    "FIGURE": "coverage.pages",
}

ANALYTICS = (
    "date,path,pviews,upviews,useful_yes,useful_no,searches,entrances,exits,bounces,page_time\n"
    "2026-10-30,/renew-adult-passport,48210,40112,61,40,75,30877,21034,15022,2893200\n"
    "2026-10-30,/Renew-Adult-Passport/?utm_source=email,312,301,0,0,1,290,150,120,18000\n"
    "2026-10-30,https://www.gov.uk/national-curriculum,5120,4410,7,3,9,3922,2411,1533,358400\n"
)
FEEDBACK = "date,path,feedex\n2026-10-30,/renew-adult-passport,12\n"


def readme_commands() -> list[str]:
    """The `govuk-kpi ...` lines of README.md's fenced code blocks, comments dropped."""
    commands = []
    in_block = False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_block = not in_block
            continue
        if in_block and line.startswith("govuk-kpi "):
            commands.append(re.sub(r"\s+#.*$", "", line).strip())
    return commands


def expand(command: str) -> list[list[str]]:
    """The argument lists to run for one README line (`a|b|c ...` is each of a, b and c)."""
    words = shlex.split(command)[1:]
    if len(words) > 1 and "|" in words[1]:
        return [[words[0], choice, *words[2:]] for choice in words[1].split("|")]
    return [words]


def command_words(args: list[str]) -> list[str]:
    """The (sub)command names that start an argument list, before its arguments and options."""
    words = []
    for arg in args:
        if arg.startswith("-") or arg == "...":
            break
        words.append(arg)
    return words


def help_only_reason(args: list[str]) -> str | None:
    text = " ".join(arg for arg in args if arg != "...")
    return HELP_ONLY.get(text)


@pytest.fixture
def readme_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding every file the README's commands name, as a working copy would."""
    shutil.copy(DATA / "organisations" / "organisations.json", tmp_path / "organisations.json")
    shutil.copytree(DATA / "content-items", tmp_path / "content-items")
    (tmp_path / "analytics-2026-10-30.csv").write_text(ANALYTICS, encoding="utf-8")
    (tmp_path / "feedback-2026-10-30.csv").write_text(FEEDBACK, encoding="utf-8")
    shutil.copy(GA4_EXPORT, tmp_path / GA4_EXPORT.name)
    shutil.copytree(ROOT / "params", tmp_path / "params")
    (tmp_path / "notebooks").symlink_to(ROOT / "notebooks", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_readme_shows_the_commands_it_promises() -> None:
    commands = readme_commands()
    assert "govuk-kpi load content content-items/ --observed-at 2026-10-31T06:00" in commands
    assert "govuk-kpi reports serve" in commands
    for named in HELP_ONLY:
        assert any(
            help_only_reason(args) == HELP_ONLY[named] for c in commands for args in expand(c)
        ), f"HELP_ONLY names {named!r}, which the README no longer shows"


@pytest.mark.slow
def test_every_readme_command_runs_as_written(readme_folder: Path) -> None:
    runner = CliRunner(env={"GOVUK_KPI_DATABASE_URL": f"sqlite:///{readme_folder}/w.db"})
    outputs: dict[str, str] = {}
    for command in readme_commands():
        for args in expand(command):
            if help_only_reason(args) is not None:
                args = [*command_words(args), "--help"]
            else:
                args = [PLACEHOLDERS.get(arg, arg) for arg in args]
            result = runner.invoke(main, args, catch_exceptions=False)
            allowed = (0, 1) if args[0] in MAY_FAIL else (0,)
            shown = f"govuk-kpi {' '.join(args)}: exit {result.exit_code}\n{result.output}"
            assert result.exit_code in allowed, shown
            assert "Traceback" not in result.output, shown
            if result.exit_code == 1:
                assert "yesterday" in result.output, shown
            outputs[" ".join(args)] = result.output
    assert len(outputs) >= 20
    loaded = outputs["load content content-items/ --observed-at 2026-10-31T06:00"]
    assert re.search(r"^content batch \d+: 279 read", loaded, re.MULTILINE), loaded


@pytest.mark.parametrize(
    "text",
    [
        "2026-10-31T06:00",
        "2026-10-31T06:00:00",
        "2026-10-31 06:00",
        "2026-10-31T06:00Z",
        "2026-10-31T06:00:00Z",
        "2026-10-31T07:00+01:00",
        "2026-10-31T01:00:00-05:00",
    ],
)
def test_observed_at_takes_iso_8601_and_stores_utc(text: str) -> None:
    assert IsoDateTime().convert(text, None, None) == datetime(2026, 10, 31, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["31/10/2026 06:00", "2026-10-31T25:00", "yesterday", ""])
def test_observed_at_refuses_what_is_not_a_moment(text: str) -> None:
    with pytest.raises(click.BadParameter, match="not an ISO 8601 date and time"):
        IsoDateTime().convert(text, None, None)


def test_a_generated_sample_says_how_far_it_is_on_stderr(tmp_path: Path) -> None:
    """`sample --pages N --days D` takes minutes at GOV.UK size: it must not be silent, and a
    script reading stdout must get only the summary."""
    runner = CliRunner()
    url = f"sqlite:///{tmp_path}/w.db"
    result = runner.invoke(
        main, ["--database-url", url, "sample", "--pages", "200", "--days", "20"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "sample: schema, 0 of 20 days"
    assert "sample: facts, 10 of 20 days" in lines
    assert lines[-1] == "sample: analyze, 20 of 20 days"
    assert "sample:" not in result.stdout and "\r" not in result.stderr
    assert result.stdout.startswith("scale sample warehouse: 200 pages")


def test_make_lab_keeps_the_kernel_in_the_venv_and_runs_as_root() -> None:
    import os
    import subprocess

    planned = subprocess.run(
        ["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "ipykernel install --sys-prefix" in planned and "--user" not in planned
    assert ("--allow-root" in planned) == (os.geteuid() == 0)
