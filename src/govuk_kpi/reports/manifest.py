"""A report's manifest: `reports/<as-of>/<name>.manifest.json`, and its typed model.

The manifest says what a report was made from (notebook, parameters, code, packages, data and
the load batches behind its figures), when, whether it ran, and the figures it shows readers
(`Figure`: value, unit, label, the SQL behind it, its period and load batches). A report is
finished when its manifest is (`govuk_kpi.reports.build`).

`Manifest` is the one reading of the file: the builder writes it (`to_json`), and the report
site, `govuk-kpi trace` and the pipeline read it (`from_json`), by typed fields.

Schema versions: 1 is every manifest written before the field existed (no `schema_version`
key); 2 adds `schema_version` and is otherwise the same, so a version 1 file reads as it is.
A version this code does not know is refused (`ManifestError`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from govuk_kpi.core.errors import GovukKpiError

MANIFEST_SUFFIX = ".manifest.json"
# The fields that differ from one run of an unchanged report to the next.
VOLATILE = ("started_at", "finished_at", "duration_seconds")
SCHEMA_VERSION = 2
LEGACY_VERSION = 1  # a manifest without `schema_version`


class ManifestError(GovukKpiError):
    """A manifest that cannot be read as one (not JSON, not a mapping, an unknown version)."""


@dataclass(frozen=True)
class Figure:
    """One figure shown to a reader, as the notebook recorded it (`figures.record`).

    `batches`: the ids of the load batches of its period (the manifest's `batches` in full).
    """

    value: Any
    label: str | None = None
    unit: str | None = None
    query: str | None = None
    period: Mapping[str, Any] | None = None
    headline: bool = False
    batches: tuple[int, ...] = ()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Figure:
        period = raw.get("period")
        return cls(
            value=raw.get("value"),
            label=raw.get("label"),
            unit=raw.get("unit"),
            query=raw.get("query"),
            period=dict(period) if isinstance(period, Mapping) else None,
            headline=bool(raw.get("headline")),
            batches=tuple(raw.get("batches") or ()),
        )

    def to_dict(self) -> dict[str, Any]:
        """The figure's JSON mapping, its keys in the order the file has them (sorted)."""
        return {
            "batches": list(self.batches),
            "headline": self.headline,
            "label": self.label,
            "period": dict(self.period) if self.period is not None else None,
            "query": self.query,
            "unit": self.unit,
            "value": self.value,
        }


@dataclass(frozen=True)
class Outputs:
    """The report's files beside its manifest: notebook, HTML, and any downloads."""

    notebook: str
    html: str
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    """Everything `<name>.manifest.json` records of one report."""

    report: str
    as_of: str
    title: str
    status: str  # ok, failed
    notebook: str
    outputs: Outputs
    subtitle: str | None = None
    generated_usage: bool = False
    error: str | None = None
    notebook_sha256: str = ""
    params_file: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    code_version: str = ""
    packages: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    batches: Sequence[Mapping[str, Any]] = ()
    inputs_key: str = ""
    figures: Mapping[str, Figure] = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""
    duration_seconds: float = 0.0
    schema_version: int = SCHEMA_VERSION

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def kind(self) -> str:
        """The notebook the report was made from (`organisation_report`...)."""
        return Path(self.notebook).stem

    def headlines(self) -> dict[str, Figure]:
        """The figures shown beside the report on the site index, by name."""
        return {name: f for name, f in self.figures.items() if f.headline}

    def to_dict(self) -> dict[str, Any]:
        raw = {k: v for k, v in asdict(self).items() if k not in ("figures", "outputs")}
        raw["parameters"] = dict(self.parameters)
        raw["packages"] = dict(self.packages)
        raw["data"] = dict(self.data)
        raw["batches"] = [dict(b) for b in self.batches]
        raw["outputs"] = {
            "notebook": self.outputs.notebook,
            "html": self.outputs.html,
            "files": list(self.outputs.files),
        }
        raw["figures"] = {name: f.to_dict() for name, f in self.figures.items()}
        return raw

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str) + "\n"

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Manifest:
        """A manifest from its JSON mapping, of this schema version or an older one."""
        version = raw.get("schema_version", LEGACY_VERSION)
        if version not in (LEGACY_VERSION, SCHEMA_VERSION):
            raise ManifestError(f"manifest schema version {version!r} is not known here")
        report = str(raw.get("report") or "")
        outputs = raw.get("outputs") or {}
        return cls(
            report=report,
            as_of=str(raw.get("as_of") or ""),
            title=str(raw.get("title") or report),
            status=str(raw.get("status") or "failed"),
            notebook=str(raw.get("notebook") or ""),
            outputs=Outputs(
                notebook=str(outputs.get("notebook") or f"{report}.ipynb"),
                html=str(outputs.get("html") or f"{report}.html"),
                files=tuple(outputs.get("files") or ()),
            ),
            subtitle=raw.get("subtitle"),
            generated_usage=bool(raw.get("generated_usage")),
            error=raw.get("error"),
            notebook_sha256=str(raw.get("notebook_sha256") or ""),
            params_file=str(raw.get("params_file") or ""),
            parameters=dict(raw.get("parameters") or {}),
            code_version=str(raw.get("code_version") or ""),
            packages=dict(raw.get("packages") or {}),
            data=dict(raw.get("data") or {}),
            batches=[dict(b) for b in raw.get("batches") or ()],
            inputs_key=str(raw.get("inputs_key") or ""),
            figures={
                str(name): Figure.from_dict(f) for name, f in (raw.get("figures") or {}).items()
            },
            started_at=str(raw.get("started_at") or ""),
            finished_at=str(raw.get("finished_at") or ""),
            duration_seconds=float(raw.get("duration_seconds") or 0.0),
            schema_version=SCHEMA_VERSION,  # migrated on read: version 1 is the same fields
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ManifestError(f"not JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise ManifestError("expected a JSON object")
        return cls.from_dict(raw)


def manifest_path(out_dir: Path, report: str) -> Path:
    return out_dir / f"{report}{MANIFEST_SUFFIX}"


def write_text_whole(path: Path, text: str) -> None:
    """Write `path` whole or not at all: into a file beside it, then renamed over it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_manifest(path: Path, manifest: Manifest) -> None:
    write_text_whole(path, manifest.to_json())


def read_manifest(path: Path) -> Manifest | None:
    """The manifest at `path`; None when there is none or it cannot be read."""
    try:
        return Manifest.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ManifestError, TypeError, ValueError, AttributeError):
        return None


def provenance(
    warehouse: Any, figures: Mapping[str, Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, Figure]]:
    """The load batches behind the figures (all of them), and the figures with their own."""
    spans: dict[tuple[str, str], list[int]] = {}
    batches: dict[int, dict[str, Any]] = {}
    typed: dict[str, Figure] = {}
    for name, figure in figures.items():
        period = figure.get("period") or {}
        span = (period.get("start") or "1900-01-01", period.get("end") or "2999-12-31")
        if span not in spans:
            frame = warehouse.source_batches(*span)
            rows = json.loads(frame.to_json(orient="records", date_format="iso"))
            for row in rows:
                for key in ("date_from", "date_to"):
                    if row.get(key):
                        row[key] = row[key][:10]
                batches[row["batch_id"]] = row
            spans[span] = [row["batch_id"] for row in rows]
        typed[name] = Figure.from_dict({**figure, "batches": spans[span]})
    return [batches[k] for k in sorted(batches)], typed
