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

import io
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


NO_GENRES = "(no genres listed)"


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
