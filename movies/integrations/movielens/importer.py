"""``movielens_import``: a MovieLens release directory into the catalog, checked, in one transaction."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
from django.db import IntegrityError, connection, transaction

from movies.models import Genre, Movie, Rating, Tag
from recsys.data import checked, datasets
from recsys.data.datasets import DatasetError
from recsys.data.titles import split_title_year

from . import MovieLensError

TITLE_MAX_LENGTH = Movie._meta.get_field("title").max_length
TAG_MAX_LENGTH = Tag._meta.get_field("tag").max_length

@dataclass(frozen=True)
class ImportSummary:
    directory: Path
    format: str
    movies: int
    genres: int
    links: int
    tags: int
    ratings: int
    users: int
    seconds: float

    def __str__(self):
        return (
            f"Imported {self.movies:,} movies, {self.genres:,} genres, {self.links:,} links, "
            f"{self.tags:,} tags and {self.ratings:,} ratings from {self.users:,} users "
            f"({self.format}) in {self.seconds:.1f} s."
        )


class Progress:
    def __init__(self, stdout: TextIO | None):
        self.stdout = stdout

    def __call__(self, message: str) -> None:
        if self.stdout is not None:
            self.stdout.write(message + "\n")
            flush = getattr(self.stdout, "flush", None)
            if flush:
                flush()


def movielens_import(
    *,
    path: str | Path,
    stdout: TextIO | None = None,
    chunk_rows: int = checked.RATING_CHUNK_ROWS,
) -> ImportSummary:
    """Load the release at ``path`` into the catalog, replacing the historical data it held.

    Movies are upserted (their TMDB fields survive a re-import); genres, tags and ratings end
    up exactly as in the files; rating_count and rating_mean are recomputed. Ratings stream in
    chunks of ``chunk_rows`` so memory stays bounded on ml-25m and larger.

    Raises:
        MovieLensError: "<file>, line <n>: <problem>" for malformed input; the database is unchanged.
    """
    started = time.monotonic()
    say = Progress(stdout)
    try:
        files = datasets.locate(path)
        say(f"Reading {files.directory} ({files.format} release)...")
        movies = checked.read_movies_checked(files)
        movie_ids = np.sort(movies["movie_id"].to_numpy())
        known = set(movie_ids.tolist())
        links = checked.read_links_checked(files, known)
        tags = checked.read_tags_checked(files, known)
        for number, title in zip(movies["movie_id"], movies["title"]):
            if len(title.strip()) > TITLE_MAX_LENGTH:
                raise DatasetError(f"{files.movies.name}: the title of movie {number} is longer than "
                                   f"{TITLE_MAX_LENGTH} characters")
        # Every id, rating and reference was checked above or is checked while streaming, so the
        # database's own per-row checks (foreign keys, CHECK constraints) are switched off on SQLite
        # for the bulk writes: they cost more than the inserts. Unique constraints stay on.
        # (Foreign keys can only be switched off outside a transaction; inside one it is a no-op.)
        with connection.constraint_checks_disabled(), transaction.atomic(), _sqlite_bulk_pragmas():
            genre_count = _import_movies(movies, links, say)
            tag_count = _import_tags(tags, say)
            rating_count, users = _import_ratings(files, movie_ids, chunk_rows, say)
    except DatasetError as exc:
        raise MovieLensError(f"{exc}. Nothing was imported; the database is unchanged.") from None
    except IntegrityError as exc:
        raise MovieLensError(
            f"{Path(path).name}: the data breaks a database rule ({exc}); nothing was imported."
        ) from None
    summary = ImportSummary(
        directory=files.directory, format=files.format, movies=len(movies), genres=genre_count,
        links=int(links.shape[0]), tags=tag_count, ratings=rating_count, users=users,
        seconds=time.monotonic() - started,
    )
    say(str(summary))
    return summary


class _sqlite_bulk_pragmas:
    """While importing into SQLite: a bigger page cache, and no CHECK constraints (rows are pre-checked)."""

    def __enter__(self):
        self.active = connection.vendor == "sqlite"
        if self.active:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size")
                self.previous = cursor.fetchone()[0]
                cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB
                cursor.execute("PRAGMA ignore_check_constraints = ON")
        return self

    def __exit__(self, *exc):
        if self.active:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(self.previous)}")
                cursor.execute("PRAGMA ignore_check_constraints = OFF")
        return False


def _import_movies(movies, links, say) -> int:
    link_of = {row.movie_id: (row.imdb_id, row.tmdb_id) for row in links.itertuples(index=False)}
    rows = []
    for movie_id, raw_title in zip(movies["movie_id"].tolist(), movies["title"]):
        title, year = split_title_year(raw_title)
        rows.append((movie_id, title, year, *link_of.get(movie_id, (None, None))))
    # Upsert rather than replace: TMDB fields fetched later must survive a re-import.
    _, upsert = _statements(Movie, ["id", "title", "year", "imdb_id", "tmdb_id"], ["id"], defaults=True)
    with connection.cursor() as cursor:
        cursor.executemany(upsert, rows)
    say(f"  movies: {len(rows):,}")

    names = sorted({name for names in movies["genres"] for name in names})
    existing = dict(Genre.objects.values_list("name", "id"))
    Genre.objects.bulk_create([Genre(name=name) for name in names if name not in existing])
    genre_id = dict(Genre.objects.filter(name__in=names).values_list("name", "id"))
    wanted = {
        (movie_id, genre_id[name])
        for movie_id, genre_names in zip(movies["movie_id"].tolist(), movies["genres"])
        for name in genre_names
    }
    through = Movie.genres.through
    imported = set(movies["movie_id"].tolist())
    current = {
        (movie_id, genre): pk
        for pk, movie_id, genre in through.objects.values_list("pk", "movie_id", "genre_id")
        if movie_id in imported
    }
    stale = [pk for pair, pk in current.items() if pair not in wanted]
    for start in range(0, len(stale), 500):
        through.objects.filter(pk__in=stale[start:start + 500]).delete()
    insert, _ = _statements(through, ["movie", "genre"], ["movie", "genre"])
    with connection.cursor() as cursor:
        cursor.executemany(insert, sorted(wanted - current.keys()))
    say(f"  genres: {len(names):,} ({len(wanted):,} movie-genre pairs)")
    return len(names)


def _import_tags(tags, say) -> int:
    # Tags that are blank (ml-25m has a few) or too long for the column are kept out;
    # the same (user, movie, tag) twice is one tag.
    tags = tags.assign(tag=tags["tag"].str.strip().str.slice(0, TAG_MAX_LENGTH))
    tags = tags[tags["tag"] != ""].drop_duplicates(["user_id", "movie_id", "tag"])
    rows = list(zip(tags["user_id"].tolist(), tags["movie_id"].tolist(), tags["tag"].tolist(),
                    tags["timestamp"].tolist()))
    _replace_rows(Tag, ["user_id", "movie", "tag", "timestamp"], ["user_id", "movie", "tag"], [rows])
    say(f"  tags: {len(rows):,}")
    return len(rows)


def _import_ratings(files, movie_ids, chunk_rows, say) -> tuple[int, int]:
    counts = np.zeros(int(movie_ids[-1]) + 1 if len(movie_ids) else 1, dtype=np.int64)
    sums = np.zeros_like(counts, dtype=np.float64)
    users: set[int] = set()
    total = 0

    def chunks():
        nonlocal total
        for frame in checked.iter_ratings_checked(files, movie_ids=movie_ids, chunk_rows=chunk_rows):
            movie = frame["movie_id"].to_numpy()
            counts[:] += np.bincount(movie, minlength=len(counts))
            sums[:] += np.bincount(movie, weights=frame["rating"].to_numpy(np.float64), minlength=len(sums))
            users.update(np.unique(frame["user_id"].to_numpy()).tolist())
            total += len(frame)
            say(f"  ratings: {total:,} read and checked")
            yield list(zip(frame["user_id"].tolist(), frame["movie_id"].tolist(),
                           frame["rating"].astype(np.float64).tolist(), frame["timestamp"].tolist()))

    def reset():
        nonlocal total
        counts[:] = 0
        sums[:] = 0
        users.clear()
        total = 0

    try:
        _replace_rows(Rating, ["user_id", "movie", "rating", "timestamp"], ["user_id", "movie"], chunks, reset)
    except IntegrityError as exc:
        # Repeats within a chunk are reported with their line; this catches those across chunks.
        raise DatasetError(f"{files.ratings.name}: a user rates the same movie twice ({exc})") from None

    rated = np.flatnonzero(counts)
    stats = [(int(counts[m]), float(sums[m] / counts[m]), int(m)) for m in rated]
    movie_table = connection.ops.quote_name(Movie._meta.db_table)
    with connection.cursor() as cursor:
        # Every movie starts from zero so movies no longer rated lose their old figures.
        cursor.execute(f"UPDATE {movie_table} SET rating_count = 0, rating_mean = NULL "
                       f"WHERE rating_count <> 0 OR rating_mean IS NOT NULL")
        cursor.executemany(
            f"UPDATE {movie_table} SET rating_count = %s, rating_mean = %s WHERE id = %s", stats
        )
    say(f"  ratings: {total:,} from {len(users):,} users; rating counts and means updated")
    return total, len(users)


def _replace_rows(model, fields, unique, chunks, reset=None) -> None:
    """Make ``model``'s table hold exactly the rows ``chunks`` yields, keeping ids of rows that stay.

    ``chunks`` is a list of row lists, or a callable returning an iterator of them (read again
    when a second pass is needed). An empty table gets plain INSERTs (the fast path for a first
    import); otherwise rows are upserted on ``unique``, and when the table then holds more rows
    than the files (rows dropped from the data), it is emptied and filled in a second pass.
    """
    insert, upsert = _statements(model, fields, unique)
    open_chunks = chunks if callable(chunks) else (lambda: (list(rows) for rows in chunks))

    def write(statement) -> int:
        written = 0
        with connection.cursor() as cursor:
            for rows in open_chunks():
                cursor.executemany(statement, rows)
                written += len(rows)
                # Free this chunk's tuples before the next chunk is built: one chunk in memory at a time.
                rows.clear()
        return written

    manager = model._base_manager
    if not manager.exists():
        with _indexes_deferred(model):
            write(insert)
        return
    written = write(upsert)
    if manager.count() != written:
        manager.all().delete()
        if reset is not None:
            reset()
        write(insert)


class _indexes_deferred:
    """On SQLite, drop ``model``'s indexes while an empty table is filled and rebuild them after.

    Building an index once over sorted rows is several times faster than updating three
    indexes row by row; inside the import's transaction a failure restores them. A unique
    index that cannot be rebuilt (a repeated key in the files) raises IntegrityError.
    """

    def __init__(self, model):
        self.table = model._meta.db_table
        self.indexes = []

    def __enter__(self):
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                    [self.table],
                )
                self.indexes = cursor.fetchall()
                for name, _ in self.indexes:
                    cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            with connection.cursor() as cursor:
                for _, sql in self.indexes:
                    cursor.execute(sql)
        return False


def _statements(model, fields, unique, *, defaults=False) -> tuple[str, str]:
    """Plain INSERT and INSERT ... ON CONFLICT DO UPDATE statements for ``fields`` of ``model``.

    Raw SQL with executemany is several times faster than bulk_create on large imports.
    With ``defaults``, the other columns get their model defaults on insert (Django defaults
    are not database defaults) and are left alone on update. SQLite and PostgreSQL both
    accept this syntax.
    """
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = [quote(model._meta.get_field(name).column) for name in fields]
    keys = [quote(model._meta.get_field(name).column) for name in unique]
    values = ["%s"] * len(columns)
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in columns if column not in keys)
    if defaults:
        for field in model._meta.concrete_fields:
            if field.name not in fields:
                columns.append(quote(field.column))
                values.append(_literal(field.get_default()))
    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(values)})"
    return insert, f"{insert} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"


def _literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for default {value!r}")
