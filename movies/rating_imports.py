"""Reads for the "import my ratings" page: an uploaded file's rows matched to the catalog (IMDb id
first, then any name the movie goes by plus its year), and a person's ratings as CSV rows."""
from __future__ import annotations

from dataclasses import dataclass

from movies.models import Movie, Visitor, VisitorRating
from movies.selectors import VisitorState, movies_in_order, search_key
from recsys.data.titles import natural_title, title_variants


@dataclass(frozen=True)
class ImportedRating:
    movie: Movie
    stars: float
    label: str  # the row as the file named it
    current: float | None  # the visitor's rating of the movie on this site now, if any


@dataclass(frozen=True)
class ImportPreview:
    """What an uploaded file would store: the rows matched to the catalog and the labels of the rest."""

    format: str
    matched: list[ImportedRating]
    unmatched: list[str]

    @property
    def ratings(self) -> dict[int, float]:
        return {item.movie.id: item.stars for item in self.matched}

    @property
    def total(self) -> int:
        return len(self.matched) + len(self.unmatched)

    @property
    def changed_count(self) -> int:
        """Matched movies the visitor has already rated here with other stars (the file's stars win)."""
        return sum(1 for item in self.matched if item.current is not None and item.current != item.stars)


def _title_year_index() -> tuple[dict[tuple[str, int | None], list[int]], dict[int, int]]:
    """(search key of every name a movie goes by, year) -> movie ids, most rated first; and IMDb id -> movie id."""
    by_name: dict[tuple[str, int | None], list[int]] = {}
    by_imdb: dict[int, int] = {}
    for movie_id, title, year, imdb_id in Movie.objects.popular().values_list("id", "title", "year", "imdb_id"):
        if imdb_id:
            by_imdb.setdefault(imdb_id, movie_id)
        for name in title_variants(title):
            by_name.setdefault((search_key(name), year), []).append(movie_id)
    return by_name, by_imdb


def rating_import_match(*, rating_file, state: VisitorState) -> ImportPreview:
    """Match the rows of a parsed file (:class:`movies.integrations.rating_files.RatingFile`) to the catalog.

    A row with an IMDb id matches through the catalog's links (``Movie.imdb_id``); otherwise, or
    when the id is not linked, by title and year: any name the movie goes by (its title proper,
    alternative and "a.k.a." titles, article in front or not), the same year, else one year off
    (release dates differ between countries). A title and year that fit several movies go to the
    most rated. When a movie comes up twice, the later row wins. Two queries.
    """
    by_name, by_imdb = _title_year_index()
    found: dict[int, tuple[float, str]] = {}
    unmatched: list[str] = []
    for row in rating_file.ratings:
        movie_id = by_imdb.get(row.imdb_id) if row.imdb_id else None
        if movie_id is None and row.title:
            key = search_key(row.title)
            for year in ((row.year, row.year - 1, row.year + 1) if row.year else (None,)):
                ids = by_name.get((key, year))
                if ids:
                    movie_id = ids[0]
                    break
        if movie_id is None:
            unmatched.append(row.label)
            continue
        found.pop(movie_id, None)
        found[movie_id] = (row.stars, row.label)
    movies = movies_in_order(list(found))
    matched = [ImportedRating(movie=movie, stars=found[movie.id][0], label=found[movie.id][1],
                              current=state.ratings.get(movie.id)) for movie in movies]
    return ImportPreview(format=rating_file.format, matched=matched, unmatched=unmatched)


def ratings_export_rows(*, visitor: Visitor | None) -> list[tuple]:
    """The visitor's ratings as CSV rows, header first: MovieLens id, IMDb id, title, year, stars, when."""
    header = ("movielens_id", "imdb_id", "title", "year", "rating", "rated_at")
    if visitor is None:
        return [header]
    rows = VisitorRating.objects.filter(visitor=visitor).order_by("-updated_at", "movie_id").values_list(
        "movie_id", "movie__imdb_id", "movie__title", "movie__year", "rating", "updated_at")
    return [header, *((movie_id, f"tt{imdb_id:07d}" if imdb_id else "", natural_title(title), year or "",
                       f"{stars:g}", when.strftime("%Y-%m-%d"))
                      for movie_id, imdb_id, title, year, stars, when in rows)]
