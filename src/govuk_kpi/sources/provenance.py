"""Whether an input is generated sample data rather than real usage."""

from __future__ import annotations

from pathlib import Path

# The sample generator writes this file beside what it generates (sample/generate.py).
GENERATED_MARKER = "GENERATED.txt"


def is_generated(path: Path) -> bool:
    """True when `path` lies in a folder (or one or two above it) marked as generated data."""
    folder = Path(path).resolve()
    if folder.is_file():
        folder = folder.parent
    return any((parent / GENERATED_MARKER).is_file() for parent in [folder, *folder.parents][:3])
