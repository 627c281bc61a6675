"""Reading MovieLens releases into pandas frames.

Two on-disk formats exist:

* CSV releases (ml-latest-small, ml-latest, ml-25m, ml-32m): ``ratings.csv``,
  ``movies.csv``, ``tags.csv``, ``links.csv`` with a header row, UTF-8.
* ``::``-separated releases (ml-1m, ml-10m): ``ratings.dat``, ``movies.dat``,
  ``tags.dat`` (ml-10m only), no header, latin-1 titles, no links.
* ml-100k: ``u.data`` (tab-separated user, item, rating, timestamp; whole stars),
  ``u.item`` (``|``-separated id, title, release date, video release date, IMDb URL and 19
  genre flags; ISO-8859-1) and ``u.genre`` (``name|index``, the names of those flags). No
  tags, no links.

Every loader returns the same column names whatever the format:
ratings ``user_id, movie_id, rating, timestamp``; movies ``movie_id, title, genres``
(genres is the raw ``|``-joined string); tags ``user_id, movie_id, tag, timestamp``;
links ``movie_id, imdb_id, tmdb_id`` (nullable integers).
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

CSV = "csv"
DAT = "dat"
U100K = "ml-100k"

# u.genre of ml-100k, used when a copy lacks that file; "unknown" is no genre.
U100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
)
U100K_FIXED_FIELDS = 5  # movie id | title | release date | video release date | IMDb URL

RATING_DTYPES = {"user_id": np.int32, "movie_id": np.int32, "rating": np.float32, "timestamp": np.int64}


class DatasetError(ValueError):
    """A MovieLens directory is missing files or holds malformed data."""


@dataclass(frozen=True)
class DatasetFiles:
    """The files of one MovieLens release on disk."""

    directory: Path
    format: str  # CSV, DAT or U100K
    ratings: Path
    movies: Path
    tags: Path | None
    links: Path | None
    genres: Path | None = None  # u.genre (ml-100k only)


# (format, ratings file, movies file, the releases that use them)
_LAYOUTS = (
    (CSV, "ratings.csv", "movies.csv", "ml-latest-small, ml-20m, ml-25m, ml-32m"),
    (DAT, "ratings.dat", "movies.dat", "ml-1m, ml-10m"),
    (U100K, "u.data", "u.item", "ml-100k"),
)


def locate(directory: str | Path) -> DatasetFiles:
    """Find the release files in ``directory`` and tell their format.

    Raises:
        DatasetError: when ``directory`` does not exist, holds only one of a release's two
            required files (naming the missing one), or holds none of ratings.csv/movies.csv,
            ratings.dat/movies.dat, u.data/u.item.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetError(f"{directory} is not a MovieLens dataset: there is no such directory.")
    for fmt, ratings_name, movies_name, _releases in _LAYOUTS:
        ratings, movies = directory / ratings_name, directory / movies_name
        if ratings.is_file() and movies.is_file():
            if fmt == U100K:
                genres = directory / "u.genre"
                return DatasetFiles(directory=directory, format=fmt, ratings=ratings, movies=movies,
                                    tags=None, links=None, genres=genres if genres.is_file() else None)
            tags = directory / f"tags.{fmt}"
            links = directory / "links.csv"
            return DatasetFiles(
                directory=directory,
                format=fmt,
                ratings=ratings,
                movies=movies,
                tags=tags if tags.is_file() else None,
                links=links if links.is_file() else None,
            )
    for _fmt, ratings_name, movies_name, releases in _LAYOUTS:
        present = [name for name in (ratings_name, movies_name) if (directory / name).is_file()]
        if present:
            missing = movies_name if present == [ratings_name] else ratings_name
            raise DatasetError(
                f"{directory} is an incomplete MovieLens release: it has {present[0]} but no {missing} "
                f"(a {releases} release needs both); copy the whole release again."
            )
    raise DatasetError(
        f"{directory} is not a MovieLens dataset: expected ratings.csv and movies.csv "
        f"(or ratings.dat and movies.dat for ml-1m/ml-10m, u.data and u.item for ml-100k)."
    )


def _dat_frame(path: Path, names: list[str], dtype: dict | None = None) -> pd.DataFrame:
    # pandas' C parser takes one-character separators only; "::" would force the slow
    # Python engine, so translate to a byte that never occurs in the data.
    raw = path.read_bytes().replace(b"::", b"\x1f")
    return pd.read_csv(
        io.BytesIO(raw), sep="\x1f", header=None, names=names, dtype=dtype,
        encoding="latin-1", quoting=3, keep_default_na=False,
    )


def load_ratings(directory: str | Path) -> pd.DataFrame:
    """All ratings as ``user_id:int32, movie_id:int32, rating:float32, timestamp:int64``."""
    files = locate(directory)
    if files.format == CSV:
        frame = pd.read_csv(
            files.ratings,
            dtype={"userId": np.int32, "movieId": np.int32, "rating": np.float32, "timestamp": np.int64},
        ).rename(columns={"userId": "user_id", "movieId": "movie_id"})
    elif files.format == U100K:
        frame = pd.read_csv(files.ratings, sep="\t", header=None, names=list(RATING_DTYPES), dtype=RATING_DTYPES)
    else:
        frame = _dat_frame(files.ratings, list(RATING_DTYPES), RATING_DTYPES)
    return frame[list(RATING_DTYPES)]


def load_movies(directory: str | Path) -> pd.DataFrame:
    """Movies as ``movie_id:int32, title:str, genres:str`` (genres ``|``-joined)."""
    files = locate(directory)
    if files.format == CSV:
        frame = pd.read_csv(files.movies, dtype={"movieId": np.int32, "title": str, "genres": str},
                            keep_default_na=False)
        frame = frame.rename(columns={"movieId": "movie_id"})
    elif files.format == U100K:
        rows = [(int(movie_id), title, "|".join(genres) or NO_GENRES)
                for _, movie_id, title, genres in _u_item_rows(files)]
        frame = pd.DataFrame(rows, columns=["movie_id", "title", "genres"]).astype({"movie_id": np.int32})
    else:
        frame = _dat_frame(files.movies, ["movie_id", "title", "genres"], {"movie_id": np.int32})
    return frame[["movie_id", "title", "genres"]]


def load_tags(directory: str | Path) -> pd.DataFrame:
    """Tags as ``user_id, movie_id, tag, timestamp``; empty when the release has none."""
    files = locate(directory)
    columns = ["user_id", "movie_id", "tag", "timestamp"]
    if files.tags is None:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                             zip(columns, (np.int32, np.int32, object, np.int64))})
    if files.format == CSV:
        frame = pd.read_csv(files.tags, keep_default_na=False,
                            dtype={"userId": np.int32, "movieId": np.int32, "tag": str, "timestamp": np.int64})
        frame = frame.rename(columns={"userId": "user_id", "movieId": "movie_id"})
    else:
        frame = _dat_frame(files.tags, columns, {"user_id": np.int32, "movie_id": np.int32, "timestamp": np.int64})
    return frame[columns]


def load_links(directory: str | Path) -> pd.DataFrame:
    """Links as ``movie_id, imdb_id, tmdb_id`` (nullable Int64); empty when absent."""
    files = locate(directory)
    if files.links is None:
        return pd.DataFrame({"movie_id": pd.Series(dtype=np.int32),
                             "imdb_id": pd.Series(dtype="Int64"), "tmdb_id": pd.Series(dtype="Int64")})
    frame = pd.read_csv(files.links, dtype={"movieId": np.int32, "imdbId": "Int64", "tmdbId": "Int64"})
    return frame.rename(columns={"movieId": "movie_id", "imdbId": "imdb_id", "tmdbId": "tmdb_id"})


# --- Validated, streaming readers ------------------------------------------
# The loaders above trust their input (they feed training on a known copy). The
# readers below check every field and report problems as "<file>, line <n>: <what>",
# so an importer can refuse a malformed release before it changes anything. Ratings
# stream in chunks: memory stays bounded whatever the size of the release.

RATING_CHUNK_ROWS = 500_000
NO_GENRES = "(no genres listed)"
MAX_ID = 2**31 - 1

_CSV_COLUMNS = {
    "movies": ("movieId", "title", "genres"),
    "ratings": ("userId", "movieId", "rating", "timestamp"),
    "tags": ("userId", "movieId", "tag", "timestamp"),
    "links": ("movieId", "imdbId", "tmdbId"),
}


def _where(path: Path, line: int) -> str:
    return f"{path.name}, line {line}"


def _decode(path: Path) -> str:
    """The text of a small release file; CSV must be UTF-8, .dat may be latin-1 (ml-1m), ml-100k's
    u.* files are ISO-8859-1."""
    raw = path.read_bytes()
    if path.name.startswith("u."):
        return raw.decode("latin-1")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if path.suffix == ".dat":
            # ml-1m and ml-10m predate UTF-8 in MovieLens; latin-1 decodes any byte.
            return raw.decode("latin-1")
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DatasetError(
            f"{_where(path, line)}: undecodable bytes {raw[exc.start:exc.end]!r} (the file must be UTF-8)"
        ) from None


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


def _u_genre_names(files: DatasetFiles) -> tuple[str, ...]:
    """The 19 flag names of ml-100k, from u.genre (``name|index`` lines) when the copy has it."""
    if files.genres is None:
        return U100K_GENRES
    names: dict[int, str] = {}
    for number, line in enumerate(_decode(files.genres).splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, index = line.rpartition("|")
        if not sep or not name.strip() or not index.strip().isdigit():
            raise DatasetError(f"{_where(files.genres, number)}: expected 'name|index', found {line!r}")
        names[int(index)] = name.strip()
    if sorted(names) != list(range(len(names))) or not names:
        raise DatasetError(f"{files.genres.name}: genre indexes must run 0, 1, 2, ... without gaps, "
                           f"found {sorted(names)}")
    return tuple(names[k] for k in range(len(names)))


def _u_item_rows(files: DatasetFiles) -> Iterator[tuple[int, str, str, tuple[str, ...]]]:
    """Yield ``(line, movie id text, title, genre names)`` for every movie of ml-100k's u.item."""
    names = _u_genre_names(files)
    expected = U100K_FIXED_FIELDS + len(names)
    for number, line in enumerate(_decode(files.movies).splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != expected:
            raise DatasetError(
                f"{_where(files.movies, number)}: expected {expected} fields separated by '|' "
                f"(id, title, release date, video release date, IMDb URL and {len(names)} genre flags), "
                f"found {len(fields)}"
            )
        flags = fields[U100K_FIXED_FIELDS:]
        if any(flag not in ("0", "1") for flag in flags):
            raise DatasetError(f"{_where(files.movies, number)}: genre flags must be 0 or 1, found {'|'.join(flags)}")
        genres = tuple(name for name, flag in zip(names, flags) if flag == "1" and name != "unknown")
        yield number, fields[0], fields[1], genres


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
