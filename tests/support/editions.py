"""The edition live at a path on a day, by brute force: what the loader's matcher must give."""

from __future__ import annotations

from datetime import date


def live_edition(rows: list[tuple], day: int, path: str) -> tuple[int, int]:
    """The newest edition at `path` live at some moment of `day` (an ordinal), by brute force."""
    best = None
    for base_path, start, end, edition_key, page_id in rows:
        if base_path != path or (end is not None and end <= start):
            continue
        first = start.date().toordinal()
        if end is None:
            last = date.max.toordinal()
        else:
            midnight = end.hour == end.minute == end.second == end.microsecond == 0
            last = end.date().toordinal() - midnight
        if first <= day <= last and (best is None or (start, edition_key) > best[0]):
            best = ((start, edition_key), edition_key, page_id)
    return (-1, -1) if best is None else (best[1], best[2])
