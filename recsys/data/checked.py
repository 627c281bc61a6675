"""Validated, streaming readers of a MovieLens release, for importers.

The loaders of :mod:`recsys.data.datasets` trust their input (they feed training on a known
copy). These readers check every field and report problems as "<file>, line <n>: <what>", so
an importer can refuse a malformed release before it changes anything. Ratings stream in
chunks: memory stays bounded whatever the size of the release.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.data.datasets import (
    CSV,
    NO_GENRES,
    RATING_DTYPES,
    U100K,
    DatasetError,
    DatasetFiles,
    _decode,
    _u_item_rows,
    _where,
)

RATING_CHUNK_ROWS = 500_000
MAX_ID = 2**31 - 1

_CSV_COLUMNS = {
    "movies": ("movieId", "title", "genres"),
    "ratings": ("userId", "movieId", "rating", "timestamp"),
    "tags": ("userId", "movieId", "tag", "timestamp"),
    "links": ("movieId", "imdbId", "tmdbId"),
}






def _records(path: Path, kind: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line number, fields in canonical order)`` for every data row of a small file."""
    names = _CSV_COLUMNS[kind]
    text = _decode(path)
    if path.suffix == ".dat":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            fields = line.split("::")
            if len(fields) != len(names):
                raise DatasetError(
                    f"{_where(path, number)}: expected {len(names)} fields separated by '::', found {len(fields)}"
                )
            yield number, fields
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise DatasetError(f"{_where(path, 1)}: the file is empty (expected the header {','.join(names)})")
    header = [name.strip() for name in header]
    missing = [name for name in names if name not in header]
    if missing:
        raise DatasetError(
            f"{_where(path, 1)}: missing column {', '.join(missing)} in the header "
            f"(expected {','.join(names)}, found {','.join(header)})"
        )
    index = [header.index(name) for name in names]
    start = reader.line_num
    for fields in reader:
        if not fields:
            start = reader.line_num
            continue
        if len(fields) != len(header):
            absent = [header[i] for i in range(len(fields), len(header))]
            detail = f" (missing {', '.join(absent)})" if absent else ""
            raise DatasetError(
                f"{_where(path, start + 1)}: expected {len(header)} fields, found {len(fields)}{detail}"
            )
        yield start + 1, [fields[i] for i in index]
        start = reader.line_num


def _parse_int(value: str, what: str, path: Path, line: int, *, optional: bool = False) -> int | None:
    text = value.strip()
    if not text:
        if optional:
            return None
        raise DatasetError(f"{_where(path, line)}: missing {what}")
    if not text.isdigit() or not text.isascii():
        raise DatasetError(f"{_where(path, line)}: {what} {value!r} is not a non-negative integer")
    number = int(text)
    if number > MAX_ID and what != "timestamp":
        raise DatasetError(f"{_where(path, line)}: {what} {number} is too large")
    return number


def _check_movie(movie_id: int, movie_ids, path: Path, line: int) -> None:
    if movie_ids is not None and movie_id not in movie_ids:
        raise DatasetError(f"{_where(path, line)}: unknown movie {movie_id} (not in the movies file)")






def read_movies_checked(files: DatasetFiles) -> pd.DataFrame:
    """Movies as ``movie_id, title, genres`` with every row checked.

    Returns:
        One row per movie; ``genres`` is a tuple of names (empty for "(no genres listed)", or
        ml-100k's "unknown").

    Raises:
        DatasetError: naming the file and line of the first malformed row or repeated id.
    """
    ids, titles, genres = [], [], []
    seen: dict[int, int] = {}
    if files.format == U100K:
        records = ((line, (movie_id, title, "|".join(names)))
                   for line, movie_id, title, names in _u_item_rows(files))
    else:
        records = _records(files.movies, "movies")
    for line, (movie_id, title, genre_text) in records:
        movie_id = _parse_int(movie_id, "movieId", files.movies, line)
        if movie_id in seen:
            raise DatasetError(
                f"{_where(files.movies, line)}: movieId {movie_id} repeats line {seen[movie_id]}"
            )
        seen[movie_id] = line
        if not title.strip():
            raise DatasetError(f"{_where(files.movies, line)}: missing title")
        names = tuple(name.strip() for name in genre_text.split("|") if name.strip() and name.strip() != NO_GENRES)
        ids.append(movie_id)
        titles.append(title)
        genres.append(names)
    return pd.DataFrame({"movie_id": np.array(ids, dtype=np.int64), "title": titles, "genres": genres})


def read_links_checked(files: DatasetFiles, movie_ids=None) -> pd.DataFrame:
    """Links as ``movie_id, imdb_id, tmdb_id`` (None where blank), every row checked."""
    rows = []
    if files.links is not None:
        for line, (movie_id, imdb_id, tmdb_id) in _records(files.links, "links"):
            movie_id = _parse_int(movie_id, "movieId", files.links, line)
            _check_movie(movie_id, movie_ids, files.links, line)
            rows.append((
                movie_id,
                _parse_int(imdb_id, "imdbId", files.links, line, optional=True),
                _parse_int(tmdb_id, "tmdbId", files.links, line, optional=True),
            ))
    return pd.DataFrame(rows, columns=["movie_id", "imdb_id", "tmdb_id"], dtype=object)


def read_tags_checked(files: DatasetFiles, movie_ids=None) -> pd.DataFrame:
    """Tags as ``user_id, movie_id, tag, timestamp``, every row checked; empty when absent."""
    rows = []
    if files.tags is not None:
        for line, (user_id, movie_id, tag, timestamp) in _records(files.tags, "tags"):
            user_id = _parse_int(user_id, "userId", files.tags, line)
            movie_id = _parse_int(movie_id, "movieId", files.tags, line)
            _check_movie(movie_id, movie_ids, files.tags, line)
            rows.append((user_id, movie_id, tag, _parse_int(timestamp, "timestamp", files.tags, line)))
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "tag", "timestamp"])


class _DatLines(io.RawIOBase):
    """A binary stream over a ``::`` file with ``::`` turned into one byte, read lazily.

    Only whole lines are translated, so a ``::`` never straddles two reads.
    """

    def __init__(self, path: Path, block: int = 1 << 20):
        self._file = open(path, "rb")  # noqa: SIM115 (the reader owns it; close() closes it)
        self._block = block
        self._pending = b""
        self._out = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._out:
            data = self._file.read(self._block)
            if not data:
                self._out, self._pending = self._pending.replace(b"::", b"\x1f"), b""
                break
            data = self._pending + data
            cut = data.rfind(b"\n") + 1
            self._out, self._pending = data[:cut].replace(b"::", b"\x1f"), data[cut:]
        size = min(len(buffer), len(self._out))
        buffer[:size] = self._out[:size]
        self._out = self._out[size:]
        return size

    def close(self) -> None:
        self._file.close()
        super().close()


def _ids_checked(values: pd.Series, what: str, path: Path, first_line: int) -> np.ndarray:
    if pd.api.types.is_integer_dtype(values.dtype):
        numbers = values.to_numpy(np.int64)
        bad = (numbers < 0) | ((numbers > MAX_ID) if what != "timestamp" else False)
    else:
        numeric = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
        bad = np.isnan(numeric) | (numeric != np.floor(numeric)) | (numeric < 0)
        if what != "timestamp":
            bad |= numeric > MAX_ID
        numbers = None
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise DatasetError(f"{_where(path, first_line + position)}: {_describe(values.iloc[position], what)}")
    return numbers if numbers is not None else numeric.astype(np.int64)


def _describe(value, what: str) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    # pandas may have parsed "9" as 9.0 when the column holds decimals; show what was written.
    shown = repr(str(int(value)) if isinstance(value, float) and value.is_integer() else str(value))
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return f"missing {what}"
    if isinstance(value, str) and "\ufffd" in value:
        return f"undecodable bytes in {what} {value!r} (the file must be UTF-8)"
    if what == "whole rating":
        return f"rating {shown} is not one of 1, 2, 3, 4, 5 (ml-100k has whole stars)"
    if what == "rating":
        return f"rating {shown} is not one of 0.5, 1.0, ... 5.0 (half stars from 0.5 to 5)"
    return f"{what} {shown} is not a non-negative integer"


def _ratings_checked(values: pd.Series, path: Path, first_line: int, *, whole: bool = False) -> np.ndarray:
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
    step = 1 if whole else 2
    scaled = numeric * step
    # NaN fails every comparison, so missing or non-numeric values are caught here too.
    good = (scaled >= 1) & (scaled <= 5 * step) & (scaled == np.round(scaled))
    if not good.all():
        position = int(np.flatnonzero(~good)[0])
        what = "whole rating" if whole else "rating"
        raise DatasetError(f"{_where(path, first_line + position)}: {_describe(values.iloc[position], what)}")
    return numeric.astype(np.float32)


_PANDAS_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _rating_source(files: DatasetFiles):
    """(source, first data line, pandas options, column renames) of the ratings file."""
    path = files.ratings
    names = list(RATING_DTYPES)
    if files.format == CSV:
        with open(path, "rb") as handle:
            header_line = handle.readline().decode("utf-8-sig", errors="replace").strip()
        header = [name.strip() for name in header_line.split(",")]
        missing = [name for name in _CSV_COLUMNS["ratings"] if name not in header]
        if missing:
            raise DatasetError(
                f"{_where(path, 1)}: missing column {', '.join(missing)} in the header "
                f"(expected {','.join(_CSV_COLUMNS['ratings'])}, found {header_line})"
            )
        source, first_line = path, 2
        options = {"header": 0, "encoding": "utf-8", "encoding_errors": "replace"}
        rename = dict(zip(_CSV_COLUMNS["ratings"], names))
    elif files.format == U100K:
        source, first_line = path, 1
        options = dict(sep="\t", header=None, names=names, encoding="latin-1", encoding_errors="replace")
        rename = {}
    else:
        source, first_line = _DatLines(path), 1
        options = {"sep": "\x1f", "header": None, "names": names, "encoding": "latin-1"}
        rename = {}
    return source, first_line, options, rename


def iter_ratings_checked(
    files: DatasetFiles, *, movie_ids=None, chunk_rows: int = RATING_CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """Stream ratings in chunks of at most ``chunk_rows``, every field checked.

    Args:
        files: the release, from ``locate``.
        movie_ids: when given (a sorted NumPy array), a rating of any other movie is an error.
        chunk_rows: rows per chunk; memory use is proportional to it, not to the file.

    Yields:
        Frames ``user_id:int64, movie_id:int64, rating:float32, timestamp:int64, line:int64``.

    Raises:
        DatasetError: "<file>, line <n>: <problem>" for the first malformed row: a missing
            column or value, a non-numeric id, a rating off the half-star scale, an unknown
            movie, undecodable bytes, or a user rating the same movie twice within a chunk.
    """
    path = files.ratings
    source, first_line, options, rename = _rating_source(files)
    reader = pd.read_csv(
        source, chunksize=chunk_rows, skip_blank_lines=False, keep_default_na=False, na_values=[""], quoting=3,
        **options,
    )
    try:
        with reader:
            for chunk in reader:
                chunk = chunk.rename(columns=rename)
                frame = pd.DataFrame({
                    "user_id": _ids_checked(chunk["user_id"], "userId", path, first_line),
                    "movie_id": _ids_checked(chunk["movie_id"], "movieId", path, first_line),
                    "rating": _ratings_checked(chunk["rating"], path, first_line, whole=files.format == U100K),
                    "timestamp": _ids_checked(chunk["timestamp"], "timestamp", path, first_line),
                })
                if movie_ids is not None:
                    known = np.isin(frame["movie_id"].to_numpy(), movie_ids, assume_unique=False)
                    if not known.all():
                        position = int(np.flatnonzero(~known)[0])
                        raise DatasetError(
                            f"{_where(path, first_line + position)}: unknown movie "
                            f"{frame['movie_id'].iloc[position]} (not in the movies file)"
                        )
                repeated = frame.duplicated(["user_id", "movie_id"]).to_numpy()
                if repeated.any():
                    position = int(np.flatnonzero(repeated)[0])
                    raise DatasetError(
                        f"{_where(path, first_line + position)}: user {frame['user_id'].iat[position]} "
                        f"rates movie {frame['movie_id'].iat[position]} a second time"
                    )
                frame["line"] = np.arange(first_line, first_line + len(frame), dtype=np.int64)
                first_line += len(chunk)
                yield frame
    except pd.errors.ParserError as exc:
        match = _PANDAS_FIELDS.search(str(exc))
        if match:
            expected, line, saw = match.groups()
            raise DatasetError(
                f"{path.name}, line {line}: expected {expected} fields, found {saw}"
            ) from None
        raise DatasetError(f"{path.name}: unreadable ({exc})") from None
