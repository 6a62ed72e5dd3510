"""environment.yml (conda) lists the same dependencies as pyproject.toml (pip).

pyproject.toml is the source of truth: ``[project].dependencies`` plus the ``dev`` extra. Each
must appear in environment.yml, either as a conda dependency or under ``pip:``, with the same
version specifiers. Names are compared normalised (lowercase, ``_`` and ``.`` as ``-``) and
without extras, since conda has no extras.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
CONDA_ONLY = {"python", "pip"}  # the interpreter and installer, not project dependencies


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse(line: str) -> tuple[str, SpecifierSet]:
    """Split a requirement (pip, or conda MatchSpec written PEP 440-style) into name and specs."""
    # conda allows "name >=1.0" with a space and a channel prefix ("conda-forge::name").
    line = line.split("::")[-1].strip()
    line = re.sub(r"^([A-Za-z0-9_.\-]+(\[[^\]]*\])?)\s+(?=[<>=!~])", r"\1", line)
    req = Requirement(line)
    return normalise(req.name), req.specifier


def as_text(deps: dict[str, SpecifierSet]) -> dict[str, str]:
    return {name: str(spec) for name, spec in sorted(deps.items())}


def pyproject_dependencies() -> dict[str, SpecifierSet]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return dict(parse(line) for line in lines)


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def environment_dependencies() -> dict[str, SpecifierSet]:
    deps: dict[str, SpecifierSet] = {}
    for entry in environment()["dependencies"]:
        lines = entry["pip"] if isinstance(entry, dict) else [entry]
        for line in lines:
            if line.startswith("-"):  # pip options such as "-e ." (the project itself)
                continue
            bare = re.split(r"[\s\[<>=!~]", line.split("::")[-1], maxsplit=1)[0]
            if not isinstance(entry, dict) and normalise(bare) in CONDA_ONLY:
                continue
            name, spec = parse(line)
            assert name not in deps, f"environment.yml lists {name} twice"
            deps[name] = spec
    return deps


def test_environment_yml_has_the_dependencies_of_pyproject() -> None:
    expected = as_text(pyproject_dependencies())
    actual = as_text(environment_dependencies())
    missing = {name: spec for name, spec in expected.items() if name not in actual}
    extra = {name: spec for name, spec in actual.items() if name not in expected}
    differ = {
        name: (spec, actual[name])
        for name, spec in expected.items()
        if name in actual and actual[name] != spec
    }
    assert not (missing or extra or differ), (
        "environment.yml and pyproject.toml disagree; "
        f"missing from environment.yml: {missing}; not in pyproject.toml: {extra}; "
        f"different versions (pyproject, environment.yml): {differ}"
    )


def test_environment_yml_names_python_and_the_project() -> None:
    env = environment()
    assert env["name"] == "govuk-kpi"
    assert "conda-forge" in env["channels"]
    conda = [entry for entry in env["dependencies"] if isinstance(entry, str)]
    assert "python=3.11" in conda
    assert "pip" in conda
    pip = next(entry["pip"] for entry in env["dependencies"] if isinstance(entry, dict))
    assert "-e ." in pip


@pytest.mark.parametrize(
    ("line", "name", "spec"),
    [
        ("psycopg[binary]>=3.1", "psycopg", ">=3.1"),
        ("SQLAlchemy >=2.0,<3", "sqlalchemy", "<3,>=2.0"),
        ("import_linter>=2.0", "import-linter", ">=2.0"),
        ("conda-forge::ruff>=0.6", "ruff", ">=0.6"),
    ],
)
def test_parse_normalises_names_and_strips_extras(line: str, name: str, spec: str) -> None:
    assert parse(line) == (name, SpecifierSet(spec))
