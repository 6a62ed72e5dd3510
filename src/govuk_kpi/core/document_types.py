"""Display labels for document types, as GOV.UK's content data tool showed them."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

_LABELS = Path(__file__).with_name("data") / "document-type-labels.json"


@cache
def _known() -> dict[str, str]:
    labels = json.loads(_LABELS.read_text(encoding="utf-8"))
    return {label.lower(): label for label in labels if label != "All document types"}


def document_type_label(name: str) -> str:
    """`news_article` -> `News article`; GOV.UK's own casing where it has one (`CMA case`)."""
    plain = name.replace("_", " ").strip()
    human = plain[:1].upper() + plain[1:]
    return _known().get(human.lower(), human)
