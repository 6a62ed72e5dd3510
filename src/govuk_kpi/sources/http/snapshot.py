"""Raw snapshots: what an extract fetched, byte for byte, in a dated read-only folder.

Layout of one snapshot (`data/snapshots/<YYYY-MM-DD>/` by default)::

    snapshot.json                  every URL asked for: status, outcome, file, sha256, error
    organisations/page-0001.json   Organisations API pages (load with `load organisations`)
    search/<query>/start-000000.json  Search API pages
    content/<base path>.json       Content API items (load with `load content`)
    gone/<base path>.json          410 Gone answers, kept apart so loaders never see them

Each kind is extracted at most once into a snapshot: a second run of the same kind on the same
day goes to `<YYYY-MM-DD>-2`, `-3`, ... Files are made read-only (0444) as they are written;
`snapshot.json` is replaced whole, atomically, when a kind finishes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from govuk_kpi.core.errors import ConfigError

MANIFEST = "snapshot.json"
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH  # 0444
_SAFE_SEGMENT = re.compile(r"[^A-Za-z0-9._~-]")


def path_file_name(base_path: str) -> str:
    """The relative file of a base path: `/a/b` → `a/b.json`, `/` → `_root.json`.

    Each segment keeps letters, digits and `._~-`; anything else is percent-encoded, and
    segments that are empty, `.` or `..` are encoded too, so a path can never leave the folder.
    """
    segments = [s for s in base_path.split("/") if s != ""]
    if not segments:
        return "_root.json"
    safe = []
    for segment in segments:
        encoded = _SAFE_SEGMENT.sub(lambda m: quote(m.group(0), safe=""), segment)
        if encoded in {".", ".."}:
            encoded = encoded.replace(".", "%2E")
        safe.append(encoded)
    return "/".join(safe) + ".json"


def write_read_only(path: Path, data: bytes) -> str:
    """Write a new file, make it read-only and return its SHA-256. Never overwrites."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb") as handle:
        handle.write(data)
    path.chmod(READ_ONLY)
    return hashlib.sha256(data).hexdigest()


def choose_snapshot_dir(root: Path, kind: str, day: date | None = None) -> Path:
    """The dated snapshot folder for a run of `kind`: the first not yet holding that kind."""
    day = day or datetime.now(UTC).date()
    stem = day.isoformat()
    for n in range(1, 10_000):
        folder = Path(root) / (stem if n == 1 else f"{stem}-{n}")
        if not (folder / kind).exists() and kind not in _kinds_in(folder):
            return folder
    raise RuntimeError(f"too many snapshots of {kind} for {stem} under {root}")


def _kinds_in(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("kinds", {})
    except (OSError, ValueError, AttributeError):
        return {}


class SnapshotWriter:
    """Writes one kind's files into a snapshot folder and its part of `snapshot.json`.

    Thread-safe: workers call `save` and `record` concurrently.
    """

    def __init__(self, folder: Path, kind: str, *, source: str) -> None:
        self.folder = Path(folder)
        self.kind = kind
        self.source = source
        self.started_at = datetime.now(UTC)
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        if (self.folder / kind).exists() or kind in _kinds_in(self.folder):
            raise ConfigError(
                f"{self.folder} already holds a {kind} snapshot: choose another --snapshot"
            )
        (self.folder / kind).mkdir(parents=True)

    @classmethod
    def dated(
        cls, root: Path, kind: str, *, source: str, day: date | None = None
    ) -> SnapshotWriter:
        """A writer into the first dated folder under `root` without this kind."""
        return cls(choose_snapshot_dir(root, kind, day), kind, source=source)

    @property
    def data_dir(self) -> Path:
        """The folder of this kind's files (what a loader reads)."""
        return self.folder / self.kind

    def save(
        self,
        relative: str,
        body: bytes,
        *,
        url: str,
        status: int | None,
        outcome: str,
        area: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Write a body untouched under `<area or kind>/<relative>` and record it."""
        target = self.folder / (area or self.kind) / relative
        sha = write_read_only(target, body)
        return self.record(
            url=url,
            status=status,
            outcome=outcome,
            file=target.relative_to(self.folder).as_posix(),
            sha256=sha,
            bytes=len(body),
            **extra,
        )

    def record(self, **entry: Any) -> dict[str, Any]:
        """Record a URL asked for (fetched or not)."""
        entry = {k: v for k, v in entry.items() if v not in (None, [], "")}
        with self._lock:
            self.entries.append(entry)
        return entry

    def finish(self, **summary: Any) -> Path:
        """Write this kind's section of `snapshot.json` (read-only, replaced atomically)."""
        entries = sorted(self.entries, key=lambda e: e["url"])
        failed = [e for e in entries if e.get("outcome") in {"failed", "missing"}]
        counts: dict[str, int] = {}
        for entry in entries:
            counts[entry["outcome"]] = counts.get(entry["outcome"], 0) + 1
        section = {
            "source": self.source,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "folder": self.kind,
            "counts": dict(sorted(counts.items())),
            **summary,
            "failed": [
                {k: e.get(k) for k in ("url", "status", "outcome", "error")} for e in failed
            ],
            "entries": entries,
        }
        with _MANIFEST_LOCK:
            kinds = _kinds_in(self.folder)
            kinds[self.kind] = section
            manifest = {"snapshot": self.folder.name, "kinds": dict(sorted(kinds.items()))}
            path = self.folder / MANIFEST
            temporary = self.folder / f".{MANIFEST}.{os.getpid()}.tmp"
            temporary.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
            temporary.chmod(READ_ONLY)
            os.replace(temporary, path)
        return path


_MANIFEST_LOCK = threading.Lock()


def read_manifest(folder: Path) -> dict[str, Any]:
    """The `snapshot.json` of a snapshot folder."""
    return json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
