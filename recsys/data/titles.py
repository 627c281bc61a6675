"""MovieLens titles: ``"Heat (1995)"`` holds the title and the year; this is the one place
that takes them apart (the importer, the content text and the search key all use it)."""
from __future__ import annotations

import re

# "(500) Days of Summer (2009)" -> "(500) Days of Summer", 2009; "Fawlty Towers (1975-1979)" -> 1975.
_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:\s*[-\u2013]\s*(?:\d{4})?)?\)\s*$")


def split_title_year(raw: str) -> tuple[str, int | None]:
    """The title proper and its year (None when it has none); titles without a trailing year
    ("Babylon 5") are kept whole."""
    text = (raw or "").strip()
    match = _TITLE_YEAR.match(text)
    if match and match.group("title"):
        return match.group("title"), int(match.group("year"))
    return text, None
