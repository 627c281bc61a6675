"""The one place that turns the ranker's picks into the sentences people read.

The ranker (:meth:`recsys.ranking.ranker.Ranker.recommend`) says which part drove each pick and which
liked movie explains it; this module only looks up titles and genres, in the process's copy of the
catalog (:mod:`movies.catalog`: no query):

* content: "similar to Heat, which you loved" (the liked movie most like it by text);
* collaborative: "because you rated Heat 5 stars" (the liked movie nearest in the NCF's space);
* popularity, when a film they liked shares one of its genres: "a popular Crime pick, like Heat,
  which you rated 5 stars" (the pick's most telling genre, the rarest in the catalog, that a
  liked film shares; their best-rated such film);
* popularity otherwise: "popular with people who like Comedy" (the pick's genre the person rated most);
* otherwise "popular with everyone".

Titles are the natural ones ("The Matrix", :func:`recsys.data.titles.natural_title`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from movies.catalog import catalog_entries, genre_sizes
from recsys.data.titles import natural_title

REASON_POPULAR = "popular with everyone"


def reason_lines(picks: Sequence, *, history: Mapping[int, float], liked: Sequence[int]) -> list[str]:
    """One line per pick (:class:`recsys.ranking.ranker.Pick`); ``liked``: the liked movies the model knows."""
    if not picks:
        return []
    catalog = catalog_entries()
    liked = [int(movie) for movie in liked]

    def genres_of(movie_id) -> list[str]:
        entry = catalog.get(int(movie_id))
        return list(entry.genres) if entry is not None else []

    def title_of(movie_id) -> str:
        entry = catalog.get(movie_id)
        return natural_title(entry.title) if entry is not None else ""

    # The genres of what they liked (4 stars and up); of everything they rated when nothing yet.
    taste: dict[str, int] = {}
    for movie_id in (liked or list(history)):
        for genre in genres_of(movie_id):
            taste[genre] = taste.get(genre, 0) + 1
    lines = []
    for pick in picks:
        if pick.similar_to is not None and title_of(pick.similar_to):
            lines.append(f"similar to {title_of(pick.similar_to)}, which you loved")
        elif pick.because_of is not None and title_of(pick.because_of):
            lines.append(f"because you rated {title_of(pick.because_of)} {history[pick.because_of]:g} stars")
        else:
            own = genres_of(pick.movie_id)
            line = _liked_film_line(own, liked, genres_of, title_of, history, genre_sizes()) if own and liked else ""
            lines.append(line or _popular_line(own, taste))
    return lines


def _liked_film_line(own_genres: list[str], liked: Sequence[int], genres_of, title_of,
                     history: Mapping[int, float], size: Mapping[str, int]) -> str:
    """"a popular Crime pick, like Heat, which you rated 5 stars", or "" when no liked film shares a genre."""
    best = None
    for position, movie_id in enumerate(liked):
        shared = set(own_genres) & set(genres_of(movie_id))
        if not shared or not title_of(movie_id):
            continue
        genre = min(shared, key=lambda g: (size.get(g, 0) or float("inf"), g))  # the rarest says most
        key = (size.get(genre, 0) or float("inf"), -history.get(movie_id, 0.0), position)
        if best is None or key < best[0]:
            best = (key, genre, movie_id)
    if best is None:
        return ""
    _key, genre, movie_id = best
    return f"a popular {genre} pick, like {title_of(movie_id)}, which you rated {history[movie_id]:g} stars"


def _popular_line(own_genres: list[str], taste: Mapping[str, int]) -> str:
    if own_genres and taste:
        genre = max(own_genres, key=lambda g: (taste.get(g, 0), -own_genres.index(g)))
        if taste.get(genre):
            return f"popular with people who like {genre}"
    return REASON_POPULAR
