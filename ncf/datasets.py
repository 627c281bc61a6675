"""Reading MovieLens releases into pandas frames.

Two on-disk formats exist:

* CSV releases (ml-latest-small, ml-latest, ml-25m, ml-32m): ``ratings.csv``,
  ``movies.csv``, ``tags.csv``, ``links.csv`` with a header row, UTF-8.
* ``::``-separated releases (ml-1m, ml-10m): ``ratings.dat``, ``movies.dat``,
  ``tags.dat`` (ml-10m only), no header, latin-1 titles, no links.

Every loader returns the same column names whatever the format:
ratings ``user_id, movie_id, rating, timestamp``; movies ``movie_id, title, genres``
(genres is the raw ``|``-joined string); tags ``user_id, movie_id, tag, timestamp``;
links ``movie_id, imdb_id, tmdb_id`` (nullable integers).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

CSV = "csv"
DAT = "dat"

RATING_DTYPES = {"user_id": np.int32, "movie_id": np.int32, "rating": np.float32, "timestamp": np.int64}


class DatasetError(ValueError):
    """A MovieLens directory is missing files or holds malformed data."""


@dataclass(frozen=True)
class DatasetFiles:
    """The files of one MovieLens release on disk."""

    directory: Path
    format: str  # CSV or DAT
    ratings: Path
    movies: Path
    tags: Path | None
    links: Path | None


def locate(directory: str | Path) -> DatasetFiles:
    """Find the release files in ``directory`` and tell their format.

    Raises:
        DatasetError: when neither ratings.csv/movies.csv nor ratings.dat/movies.dat exist.
    """
    directory = Path(directory)
    for fmt in (CSV, DAT):
        ratings, movies = directory / f"ratings.{fmt}", directory / f"movies.{fmt}"
        if ratings.is_file() and movies.is_file():
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
    raise DatasetError(
        f"{directory} is not a MovieLens dataset: expected ratings.csv and movies.csv "
        f"(or ratings.dat and movies.dat for ml-1m/ml-10m)."
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
