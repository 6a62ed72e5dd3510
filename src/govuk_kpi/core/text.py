"""One rule for control characters in text, so that SQLite and PostgreSQL store the same thing.

PostgreSQL refuses NUL in text, SQLite keeps it: left alone, the backends would disagree.
Text a reader sees (titles, descriptions, body text) loses its control characters; tab, line
feed and carriage return stay. Raw lines kept for the record (rejects, failure messages) keep
every character, with control characters written as visible escapes such as `\\x00`.
"""

from __future__ import annotations

import re

# C0 controls but tab, LF and CR, and DEL.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_control(text: str) -> str:
    """`text` without control characters (tab, line feed and carriage return are kept)."""
    return _CONTROL.sub("", text) if _CONTROL.search(text) else text


def visible_control(text: str) -> str:
    """`text` with each control character written as `\\xNN`, as a record of what was there."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text)


def has_control(text: str) -> bool:
    """Whether `text` holds a control character other than tab, line feed and carriage return."""
    return _CONTROL.search(text) is not None


def one_line(text: str) -> str:
    """`text` as one line: control characters and line ends written as escapes (messages)."""
    return visible_control(text).replace("\r", "\\r").replace("\n", "\\n")
