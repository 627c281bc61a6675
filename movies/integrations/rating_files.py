"""A person's ratings exported from another site: IMDb's ratings CSV and Letterboxd's ``ratings.csv``.

Plain parsing, no database: :func:`rating_file_parse` reads the bytes of an upload and returns the
rows with stars on this site's scale (0.5 to 5 in half steps), or raises :class:`RatingFileError`
with one of the message constants below, which the page shows as it is.

* IMDb: columns ``Const`` (``tt0133093``) and ``Your Rating`` (1 to 10), plus ``Title`` and
  ``Year`` when present (used when the IMDb id is not in the catalog's links). 10 -> 5 stars,
  7 -> 3.5, 1 -> 0.5.
* Letterboxd: ``Name``, ``Year``, ``Rating`` (0.5 to 5). A row without a rating is left out.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from movies.models import RATING_VALUES

FORMAT_IMDB, FORMAT_LETTERBOXD = "IMDb", "Letterboxd"
MAX_BYTES = 1024 * 1024  # an IMDb export of 5,000 ratings is about 700 KB
MAX_ROWS = 10_000

ERROR_EMPTY = "That file is empty."
ERROR_TOO_BIG = f"That file is larger than {MAX_BYTES // 1024} KB; export fewer ratings or split it."
ERROR_TOO_MANY_ROWS = f"That file has more than {MAX_ROWS:,} rows."
ERROR_NOT_UTF8 = "That file is not UTF-8 text. Upload the CSV file exactly as IMDb or Letterboxd exported it."
ERROR_NOT_CSV = "That file is not a CSV file. Upload the CSV file exactly as IMDb or Letterboxd exported it."
ERROR_WRONG_COLUMNS = ("That CSV file has neither IMDb's columns (Const, Your Rating) nor Letterboxd's "
                       "(Name, Year, Rating).")
ERROR_NO_RATINGS = "That file holds no ratings."


class RatingFileError(ValueError):
    """A file that cannot be read as ratings; ``str(error)`` is the message for the person."""


@dataclass(frozen=True)
class FileRating:
    """One rating of the file: the IMDb id (a number, None for Letterboxd), title, year, stars."""

    line: int
    imdb_id: int | None
    title: str
    year: int | None
    stars: float

    @property
    def label(self) -> str:
        """How the person recognises the row: "Heat (1995)", or the IMDb id without a title."""
        name = self.title or (f"tt{self.imdb_id:07d}" if self.imdb_id else f"line {self.line}")
        return f"{name} ({self.year})" if self.year else name


@dataclass(frozen=True)
class RatingFile:
    format: str
    ratings: list[FileRating]
    skipped_lines: list[int]  # rows without a usable rating or id


def _stars(value: str, *, scale: int) -> float | None:
    """IMDb's 1-10 (scale 10) or Letterboxd's 0.5-5 (scale 5) as half stars; None when unusable."""
    try:
        number = float(value.strip())
    except ValueError:
        return None
    stars = number / 2 if scale == 10 else number
    return stars if stars in RATING_VALUES else None


def _year(value: str | None) -> int | None:
    text = (value or "").strip()[:4]
    return int(text) if len(text) == 4 and text.isascii() and text.isdigit() else None


def _imdb_id(value: str) -> int | None:
    text = value.strip().lower()
    digits = text.removeprefix("tt")
    if text == digits or not (digits.isascii() and digits.isdigit()) or len(digits) > 10:
        return None
    return int(digits) or None


def rating_file_parse(data: bytes) -> RatingFile:
    """The ratings in an IMDb or Letterboxd export; raises :class:`RatingFileError` otherwise."""
    if not data.strip():
        raise RatingFileError(ERROR_EMPTY)
    if len(data) > MAX_BYTES:
        raise RatingFileError(ERROR_TOO_BIG)
    if b"\x00" in data:
        raise RatingFileError(ERROR_NOT_CSV)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RatingFileError(ERROR_NOT_UTF8) from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        raise RatingFileError(ERROR_NOT_CSV) from None
    if len(rows) > MAX_ROWS + 1:
        raise RatingFileError(ERROR_TOO_MANY_ROWS)
    header = [name.strip() for name in rows[0]]
    if len(header) < 2:
        raise RatingFileError(ERROR_NOT_CSV)
    column = {name.lower(): index for index, name in reversed(list(enumerate(header)))}
    if {"const", "your rating"} <= column.keys():
        kind = FORMAT_IMDB
    elif {"name", "year", "rating"} <= column.keys():
        kind = FORMAT_LETTERBOXD
    else:
        raise RatingFileError(ERROR_WRONG_COLUMNS)

    def cell(row: list[str], name: str) -> str:
        index = column.get(name)
        return row[index].strip() if index is not None and index < len(row) else ""

    ratings, skipped = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not any(value.strip() for value in row):
            continue
        if kind == FORMAT_IMDB:
            imdb_id = _imdb_id(cell(row, "const"))
            stars = _stars(cell(row, "your rating"), scale=10)
            title = cell(row, "title")
            usable = stars is not None and (imdb_id is not None or title)
        else:
            imdb_id, title = None, cell(row, "name")
            stars = _stars(cell(row, "rating"), scale=5)
            usable = stars is not None and bool(title)
        if not usable:
            skipped.append(line)
            continue
        ratings.append(FileRating(line=line, imdb_id=imdb_id, title=title, year=_year(cell(row, "year")),
                                  stars=stars))
    if not ratings:
        raise RatingFileError(ERROR_NO_RATINGS)
    return RatingFile(format=kind, ratings=ratings, skipped_lines=skipped)
