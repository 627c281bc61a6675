"""Genre intelligence (seed 000): genres as vectors in the movie-embedding space.

* A genre's embedding is the mean of its movies' embeddings (L2-normalised).
* The genre-by-genre cosine matrix says which genres sit close together.
* A person's embedding is the mean of the movies they rated well; its cosine with each genre
  ranks the genres for them.
* The median split: genres above the person's median similarity that they also rated well
  are their *positive* genres; genres below the median that they never touched are
  *negative*.
* The genre-aware fine-tuning set turns that split into ``user_id, movie_id, interaction``
  rows (1 positive : 3 negative) that an NCF model can be fine-tuned on.
* Genre NDCG@k scores a ranked list by whether each movie falls in a genre the person likes.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys.content.texts import l2_normalise
from recsys.data.vocabulary import Vocabulary

LIKE_THRESHOLD = 4.0  # stars at or above which a rating counts as "rated well" (seed 000)


def genre_embeddings(genres_by_movie: Mapping[int, Sequence[str]], items: Vocabulary,
                     embeddings: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Mean embedding of each genre's movies.

    Args:
        genres_by_movie: movie id -> its genres.
        items: row order of ``embeddings``.
        embeddings: float32 (n, d) movie embeddings.
    Returns:
        ``(genre names sorted, float32 (g, d) L2-normalised)``; genres without a movie in
        ``items`` are left out.
    """
    members: dict[str, list[int]] = {}
    for movie_id, genres in genres_by_movie.items():
        row = items.index(movie_id)
        if row < 0:
            continue
        for genre in genres:
            members.setdefault(genre, []).append(row)
    names = sorted(members)
    dim = embeddings.shape[1] if embeddings.ndim == 2 else 0
    matrix = np.zeros((len(names), dim), np.float32)
    for i, name in enumerate(names):
        matrix[i] = embeddings[members[name]].mean(axis=0)
    return names, l2_normalise(matrix)


def genre_similarity(genre_matrix: np.ndarray) -> np.ndarray:
    """Cosine similarity of every pair of genres, float32 (g, g)."""
    unit = l2_normalise(genre_matrix)
    return unit @ unit.T


def user_embedding(history: Mapping[int, float], items: Vocabulary, embeddings: np.ndarray, *,
                   like_threshold: float = LIKE_THRESHOLD) -> np.ndarray | None:
    """Mean embedding (L2-normalised) of the movies a person rated >= ``like_threshold``;
    ``None`` when they rated none of the known movies that well."""
    liked = [m for m, stars in history.items() if stars >= like_threshold]
    rows = items.indices(liked)
    rows = rows[rows >= 0]
    if rows.size == 0:
        return None
    return l2_normalise(embeddings[rows].mean(axis=0, keepdims=True))[0]


def user_genre_similarity(user_vector: np.ndarray | None, genre_matrix: np.ndarray) -> np.ndarray:
    """Cosine of a person's embedding with each genre (zeros when there is no embedding)."""
    if user_vector is None:
        return np.zeros(genre_matrix.shape[0], np.float32)
    return l2_normalise(genre_matrix) @ np.asarray(user_vector, np.float32)


@dataclass(frozen=True)
class GenreSplit:
    positive: tuple[str, ...]  # above the median and rated well
    negative: tuple[str, ...]  # below the median and never rated


def split_genres(similarity: np.ndarray, genres: Sequence[str], *, liked_genres: Iterable[str],
                 rated_genres: Iterable[str]) -> GenreSplit:
    """Seed 000's median split intersected with what the person actually did.

    Args:
        similarity: the person's similarity to each genre (same order as ``genres``).
        liked_genres: genres of movies they rated >= 4.
        rated_genres: genres of every movie they rated.
    Returns:
        positive genres (similarity > median and liked) and negative ones (similarity <
        median and never rated), each ordered by similarity, most telling first.
    """
    similarity = np.asarray(similarity, dtype=np.float64)
    if similarity.size == 0:
        return GenreSplit((), ())
    median = float(np.median(similarity))
    liked, rated = set(liked_genres), set(rated_genres)
    order = np.argsort(-similarity, kind="stable")
    positive = tuple(genres[i] for i in order if similarity[i] > median and genres[i] in liked)
    negative = tuple(genres[i] for i in order[::-1] if similarity[i] < median and genres[i] not in rated)
    return GenreSplit(positive, negative)


def genre_finetune_set(ratings: pd.DataFrame, genres_by_movie: Mapping[int, Sequence[str]],
                       items: Vocabulary, embeddings: np.ndarray, *, negatives_per_positive: int = 3,
                       like_threshold: float = LIKE_THRESHOLD,
                       seed: int | np.random.Generator = 0) -> pd.DataFrame:
    """The genre-aware fine-tuning rows of seed 000.

    For each user: positives are the movies they rated >= ``like_threshold`` that belong to
    one of their positive genres (interaction 1); for each positive, ``negatives_per_positive``
    movies they never rated are drawn from their negative genres (interaction 0), cycling
    through those genres so each is represented. Users without a positive or a negative
    genre contribute nothing.

    Args:
        ratings: ``user_id, movie_id, rating`` (training ratings only).
    Returns:
        frame ``user_id:int64, movie_id:int64, interaction:float32, genre:str``.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    names, genre_matrix = genre_embeddings(genres_by_movie, items, embeddings)
    by_genre: dict[str, np.ndarray] = {}
    for movie_id, genres in genres_by_movie.items():
        for g in genres:
            by_genre.setdefault(g, []).append(int(movie_id))  # type: ignore[union-attr]
    by_genre = {g: np.asarray(sorted(ms), dtype=np.int64) for g, ms in by_genre.items()}
    rows: list[tuple[int, int, float, str]] = []
    for user_id, group in ratings.groupby("user_id", sort=True):
        history = dict(zip(group["movie_id"].astype(int), group["rating"].astype(float)))
        vector = user_embedding(history, items, embeddings, like_threshold=like_threshold)
        if vector is None:
            continue
        liked_movies = [m for m, s in history.items() if s >= like_threshold]
        liked_genres = {g for m in liked_movies for g in genres_by_movie.get(m, ())}
        rated_genres = {g for m in history for g in genres_by_movie.get(m, ())}
        split = split_genres(user_genre_similarity(vector, genre_matrix), names,
                             liked_genres=liked_genres, rated_genres=rated_genres)
        if not split.positive or not split.negative:
            continue
        positive_set = set(split.positive)
        positives = []
        for m in sorted(liked_movies):
            genre = next((g for g in split.positive if g in genres_by_movie.get(m, ())), None)
            if genre is not None and genre in positive_set:
                positives.append((m, genre))
        if not positives:
            continue
        seen = set(history)
        pools = {g: np.asarray([m for m in by_genre.get(g, ()) if m not in seen], np.int64)
                 for g in split.negative}
        pools = {g: p for g, p in pools.items() if p.size}
        if not pools:
            continue
        wanted = negatives_per_positive * len(positives)
        chosen: dict[int, str] = {}
        genre_cycle = list(pools)
        # Round-robin over the negative genres so one big genre does not take every slot.
        attempts = 0
        while len(chosen) < wanted and attempts < wanted * 4:
            g = genre_cycle[attempts % len(genre_cycle)]
            m = int(rng.choice(pools[g]))
            chosen.setdefault(m, g)
            attempts += 1
        rows.extend((int(user_id), m, 1.0, g) for m, g in positives)
        rows.extend((int(user_id), m, 0.0, g) for m, g in chosen.items())
    frame = pd.DataFrame(rows, columns=["user_id", "movie_id", "interaction", "genre"])
    return frame.astype({"user_id": np.int64, "movie_id": np.int64, "interaction": np.float32})


def genre_ndcg_at_k(recommended: Sequence[int], relevant_genres: Iterable[str],
                    genres_by_movie: Mapping[int, Sequence[str]], k: int = 10) -> float:
    """NDCG@k where a recommended movie is relevant (gain 1) when it shares a genre with
    ``relevant_genres`` (e.g. the genres of the person's held-out liked movies).

    The ideal list has ``k`` relevant movies (any catalog has that many in a liked genre),
    so the score is 1.0 only when every one of the top ``k`` is in a liked genre.
    """
    if k <= 0:
        raise ValueError("k must be positive")
    wanted = set(relevant_genres)
    if not wanted:
        return 0.0
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    gains = np.asarray([1.0 if wanted.intersection(genres_by_movie.get(int(m), ())) else 0.0
                        for m in list(recommended)[:k]])
    return float((gains * discounts[: gains.size]).sum() / discounts.sum())


def finetune_ncf(scorer, rows: pd.DataFrame, *, epochs: int = 1, learning_rate: float = 5e-4,
                 batch_size: int = 1024, seed: int = 0):
    """Seed 000's step 5: continue training a fitted :class:`recsys.ncf.scorer.NCFScorer` on the
    genre-aware rows (ranking head only; the star head is not asked to move).

    Args:
        scorer: an NCFScorer fitted in this process (its Keras model is kept on ``train_result``).
        rows: :func:`genre_finetune_set` output.
    Returns:
        a new NCFScorer with the fine-tuned weights (``scorer`` is left as it was).
    """
    import keras

    from recsys.ncf.model import build_model, export_weights, ncf_loss_factory
    from recsys.ncf.scorer import NCFScorer

    model = getattr(getattr(scorer, "train_result", None), "model", None)
    if model is None:
        raise ValueError("fine-tuning needs an NCFScorer fitted in this process (train_result.model)")
    # A fresh network with the same weights, so the fitted scorer is left untouched.
    clone = build_model(len(scorer.users), len(scorer.items), scorer.config)
    clone.set_weights(model.get_weights())
    u = scorer.users.indices(rows["user_id"].to_numpy())
    i = scorer.items.indices(rows["movie_id"].to_numpy())
    keep = (u >= 0) & (i >= 0)
    labels = rows["interaction"].to_numpy(np.float32)[keep]
    n = int(keep.sum())
    # Targets [rank label, rank weight, stars, star weight]: star weight 0 leaves the rating head alone.
    targets = np.stack([labels, np.ones(n, np.float32), np.zeros(n, np.float32), np.zeros(n, np.float32)], axis=1)
    order = np.random.default_rng(seed).permutation(n)
    clone.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=ncf_loss_factory(scorer.config.rating_loss_weight))
    clone.fit([u[keep][order].astype(np.int32), i[keep][order].astype(np.int32)], targets[order],
              batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    return NCFScorer.from_parts(scorer.config, scorer.users, scorer.items, export_weights(clone, scorer.config))
