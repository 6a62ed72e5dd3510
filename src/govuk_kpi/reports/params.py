"""Report sets (`params/*.yaml`): which notebooks to run, for when, and for whom.

Everything is checked before anything runs: an unknown or ill-typed key is a `ConfigError`
naming the file and the key (papermill alone would only warn).

A notebook whose parameters cell declares `organisation` runs once per organisation of the set
(`<notebook>-<slug>`); every other notebook runs once. Nothing else decides the fan-out.

    name: sample                        # optional; default: the file's name
    as_of: 2026-10-31                   # the last day reported on
    period: past-30-days                # any period govuk_kpi.core.periods knows
    notebooks: [kpi_overview, organisation_report, content_audit]
    organisations: all with pages       # for notebooks declaring `organisation`: a selector...
    # organisations: [department-for-transport]           # ...or a list of slugs
    parameters:                         # optional: more notebook parameters (thresholds)
      low_satisfaction: 0.5
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from govuk_kpi.core.errors import ConfigError
from govuk_kpi.core.periods import resolve_period

NOTEBOOK_DIR = Path("notebooks")
KEYS = {"name", "as_of", "period", "notebooks", "organisations", "parameters"}
REQUIRED = ("as_of", "notebooks")
# A notebook declaring this parameter runs once per organisation of its report set.
FAN_OUT = "organisation"
# Parameters the builder sets itself: a report set may not.
RESERVED = {"as_of", "period", FAN_OUT, "output_dir"}
SELECTOR = re.compile(
    r"^all(?:\s+(?P<status>live|closed|exempt|joining|transitioning))?(?:\s+(?P<type>.+))?$"
)
WITH_PAGES = " with pages"
ANY_TYPE = "organisations"
_TYPES: dict[str, type | tuple[type, ...]] = {
    "int": int,
    "float": (int, float),
    "str": str,
    "bool": bool,
    "list": list,
    "dict": dict,
}


@dataclass(frozen=True)
class ReportJob:
    """One notebook run: its report name, the notebook, and the parameters it gets."""

    name: str
    notebook: Path
    parameters: dict[str, Any]
    params_file: Path
    as_of: str


@dataclass(frozen=True)
class ReportSet:
    """A validated `params/*.yaml`."""

    path: Path
    name: str
    as_of: date
    period: str
    notebooks: list[str]
    organisations: list[str] | str | None
    parameters: dict[str, Any] = field(default_factory=dict)

    def on(self, as_of: date) -> ReportSet:
        """The same set as of another day (the pipeline's days), checked as `load_report_set`
        checks it; the file is left as it is."""
        _check_period(self.path, self.period, as_of)
        return replace(self, as_of=as_of)


@dataclass(frozen=True)
class Selector:
    """`all [status] [<organisation type, plural> | organisations] [with pages]`.

    `with pages` keeps the organisations that are the primary organisation of the newest
    edition of at least one page in the warehouse (live or withdrawn): those whose report has
    pages in it. `all with pages` is every such organisation.
    """

    status: str | None
    type: str | None  # None: any type
    with_pages: bool

    @classmethod
    def parse(cls, text: str) -> Selector | None:
        """The selector `text` says, or None when it is not one."""
        words = " ".join(text.split()).lower()
        with_pages = words.endswith(WITH_PAGES)
        if with_pages:
            words = words.removesuffix(WITH_PAGES)
        match = SELECTOR.match(words)
        if match is None:
            return None
        kind = match.group("type")
        if kind is None and not with_pages:
            return None  # bare `all`: say which organisations
        return cls(match.group("status"), None if kind in (None, ANY_TYPE) else kind, with_pages)


def fans_out(declared: dict[str, Any]) -> bool:
    """True when a notebook with these declared parameters runs once per organisation."""
    return FAN_OUT in declared


def _error(path: Path, key: str, message: str) -> ConfigError:
    return ConfigError(f"{path}: {key}: {message}")


def notebook_parameters(notebook: Path) -> dict[str, dict[str, Any]]:
    """The notebook's declared parameters (its cell tagged `parameters`), by name."""
    import papermill

    return papermill.inspect_notebook(str(notebook))


def _check_type(path: Path, key: str, value: Any, declared: dict[str, Any]) -> None:
    type_name = (declared.get("inferred_type_name") or "None").lower()
    if type_name == "none":  # no annotation: the type of the default's literal
        try:
            type_name = type(ast.literal_eval(declared.get("default") or "None")).__name__
        except (ValueError, SyntaxError):
            return
    expected = _TYPES.get(type_name)
    if expected is None:
        return  # the notebook's default says nothing checkable
    if isinstance(value, bool) and type_name in ("int", "float"):
        raise _error(path, key, f"expected {type_name}, got a boolean {value!r}")
    if not isinstance(value, expected):
        raise _error(path, key, f"expected {type_name}, got {type(value).__name__} {value!r}")


def _check_parameters(
    path: Path, parameters: Any, notebooks: list[str], declared: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The set's extra notebook parameters, each declared by a notebook and of its type."""
    if not isinstance(parameters, dict):
        raise _error(path, "parameters", "expected a mapping of notebook parameters")
    for key, value in parameters.items():
        where = f"parameters.{key}"
        if key in RESERVED:
            raise _error(path, where, "set by the builder; use the top-level key")
        owners = [n for n in notebooks if key in declared[n]]
        if not owners:
            raise _error(path, where, f"no notebook of {', '.join(notebooks)} declares it")
        for owner in owners:
            _check_type(path, where, value, declared[owner][key])
    return parameters


def _read(path: Path) -> dict[Any, Any]:
    """The file's mapping of keys, each known, the required ones there."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values")
    for key in raw:
        if key not in KEYS:
            raise _error(path, str(key), f"unknown key; expected one of {', '.join(sorted(KEYS))}")
    for key in REQUIRED:
        if key not in raw:
            raise _error(path, key, "missing")
    return raw


def _check_as_of(path: Path, as_of: Any) -> date:
    if isinstance(as_of, str):
        try:
            as_of = date.fromisoformat(as_of)
        except ValueError:
            raise _error(path, "as_of", f"not a date (YYYY-MM-DD): {as_of!r}") from None
    if not isinstance(as_of, date):
        raise _error(path, "as_of", f"not a date (YYYY-MM-DD): {as_of!r}")
    return as_of


def _check_period(path: Path, period: Any, as_of: date) -> str:
    if not isinstance(period, str):
        raise _error(path, "period", f"expected text, got {period!r}")
    try:
        resolve_period(period, as_of)
    except ConfigError as exc:
        raise _error(path, "period", str(exc)) from None
    return period


def _check_notebooks(
    path: Path, notebooks: Any, notebook_dir: Path
) -> dict[str, dict[str, dict[str, Any]]]:
    """Each listed notebook's declared parameters, by notebook name."""
    if (
        not isinstance(notebooks, list)
        or not notebooks
        or not all(isinstance(n, str) for n in notebooks)
    ):
        raise _error(path, "notebooks", "expected a non-empty list of notebook names")
    declared: dict[str, dict[str, dict[str, Any]]] = {}
    for name in notebooks:
        file = notebook_dir / f"{name}.ipynb"
        if not file.is_file():
            raise _error(path, "notebooks", f"no notebook {file}")
        declared[name] = notebook_parameters(file)
    return declared


def _check_organisations(
    path: Path,
    organisations: Any,
    notebooks: list[str],
    declared: dict[str, dict[str, dict[str, Any]]],
) -> list[str] | str | None:
    """The slugs or selector, there when a notebook declaring `organisation` needs them."""
    if organisations is not None and not (
        (isinstance(organisations, str) and Selector.parse(organisations))
        or (
            isinstance(organisations, list)
            and organisations
            and all(isinstance(o, str) and o for o in organisations)
        )
    ):
        raise _error(
            path,
            "organisations",
            "expected a list of slugs or a selector like 'all with pages' or "
            "'all live ministerial departments'",
        )
    fanning = [n for n in notebooks if fans_out(declared[n])]
    if fanning and not organisations:
        needed = f"needed by {', '.join(fanning)} (declaring {FAN_OUT!r})"
        raise _error(path, "organisations", needed)
    return organisations


def _check_name(path: Path, name: Any) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise _error(path, "name", f"expected a lower-case slug, got {name!r}")
    return name


def load_report_set(path: str | Path, notebook_dir: Path = NOTEBOOK_DIR) -> ReportSet:
    """Read and check one report set (no warehouse needed)."""
    path = Path(path)
    raw = _read(path)
    as_of = _check_as_of(path, raw["as_of"])
    period = _check_period(path, raw.get("period", "past-30-days"), as_of)
    notebooks = raw["notebooks"]
    declared = _check_notebooks(path, notebooks, notebook_dir)
    organisations = _check_organisations(path, raw.get("organisations"), notebooks, declared)
    parameters = _check_parameters(path, raw.get("parameters") or {}, notebooks, declared)
    name = _check_name(path, raw.get("name", path.stem))
    return ReportSet(path, name, as_of, period, notebooks, organisations, parameters)


def resolve_organisations(selection: list[str] | str, organisations: Any) -> list[str]:
    """Slugs for a list or a selector, checked against `Warehouse.organisations()` (its
    `pages` column, the pages whose newest edition names the organisation primary, is what
    `with pages` reads)."""
    known = organisations
    if isinstance(selection, list):
        missing = [s for s in selection if s not in set(known["slug"])]
        if missing:
            raise ConfigError(f"organisations: unknown slug {', '.join(missing)}")
        return list(selection)
    selector = Selector.parse(selection)
    if selector is None:
        raise ConfigError(f"organisations: cannot read the selector {selection!r}")
    chosen = known["slug"].notna()
    if selector.type is not None:
        wanted = selector.type
        types = known["organisation_type"].fillna("").str.lower()
        chosen &= (
            (types == wanted)
            | (types + "s" == wanted)
            | (types.str.replace("y$", "ies", regex=True) == wanted)
        )
        if not chosen.any():
            raise ConfigError(f"organisations: no organisation type matches {wanted!r}")
    if selector.status:
        chosen &= known["status"].fillna("").str.lower() == selector.status
    if selector.with_pages:
        if "pages" not in known:
            raise ConfigError(
                "organisations: 'with pages' needs each organisation's pages "
                "(the `pages` column of Warehouse.organisations())"
            )
        # One organisation can be known under several content ids (a content item linking an
        # old one): its report, by slug, holds the pages of them all.
        pages = known.groupby("slug")["pages"].transform("sum")
        chosen &= pages.fillna(0) > 0
    return sorted(set(known.loc[chosen, "slug"]))


def plan(
    report_set: ReportSet, organisations: Any, notebook_dir: Path = NOTEBOOK_DIR
) -> list[ReportJob]:
    """The notebook runs of a report set; `organisations` is `Warehouse.organisations()`.

    A notebook that declares `organisation` runs once per organisation the set selects,
    named `<notebook>-<slug>`; the others run once, named after the notebook.
    """
    jobs: list[ReportJob] = []
    common = {"as_of": report_set.as_of.isoformat(), "period": report_set.period}
    slugs: list[str] | None = None
    for name in report_set.notebooks:
        notebook = notebook_dir / f"{name}.ipynb"
        declared = notebook_parameters(notebook)
        extra = {k: v for k, v in report_set.parameters.items() if k in declared}
        base = {k: v for k, v in common.items() if k in declared}
        report = name.replace("_", "-")
        if not fans_out(declared):
            jobs.append(
                ReportJob(report, notebook, {**base, **extra}, report_set.path, common["as_of"])
            )
            continue
        if slugs is None:
            slugs = resolve_organisations(report_set.organisations or [], organisations)
        jobs.extend(
            ReportJob(
                f"{report}-{slug}",
                notebook,
                {**base, **extra, FAN_OUT: slug},
                report_set.path,
                common["as_of"],
            )
            for slug in slugs
        )
    return jobs
