"""The content engine: movie texts, the embedding cache, TF-IDF and combined similarity."""
import hashlib
import re
import time

import numpy as np
import pandas as pd
import pytest

from recsys.content import texts
from recsys.content.index import ContentIndex
from recsys.content.texts import ContentConfig, EmbeddingCache, catalog_frame, fingerprint, movie_text, top_tags
from recsys.data.titles import split_title_year


def fake_encode(texts):
    """Deterministic bag-of-words encoder: texts sharing words get a high cosine."""
    out = np.zeros((len(texts), 64), np.float32)
    for i, text in enumerate(texts):
        for word in re.findall(r"[a-z]+", text.lower()):
            out[i, int(hashlib.sha1(word.encode()).hexdigest(), 16) % 64] += 1.0
    return out


class CountingEncoder:
    def __init__(self):
        self.seen = []

    def __call__(self, texts):
        self.seen.extend(texts)
        return fake_encode(texts)


MOVIES = pd.DataFrame({
    "movie_id": [10, 20, 30, 40],
    "title": ["Space Battle (1999)", "Space War (2001)", "Love in Paris (1995)", "Untitled"],
    "genres": ["Sci-Fi|Action", "Sci-Fi|Action", "Romance|Drama", "(no genres listed)"],
    "overview": ["Starships fight aliens in space.", "", "Two lovers meet in Paris.", None],
})
TAGS = pd.DataFrame({
    "movie_id": [10, 10, 10, 20, 30, 30],
    "tag": ["aliens", "Aliens", "lasers", "aliens", "paris", "romantic"],
})


@pytest.fixture
def catalog():
    return catalog_frame(MOVIES, TAGS, max_tags=2)


def test_split_title_year_reads_trailing_year_only():
    assert split_title_year("Heat (1995)") == ("Heat", 1995)
    assert split_title_year("1984 (1956)") == ("1984", 1956)
    assert split_title_year("Untitled") == ("Untitled", None)


def test_top_tags_are_case_folded_and_ranked_by_frequency():
    assert top_tags(TAGS, 1) == {10: ["aliens"], 20: ["aliens"], 30: ["paris"]}
    assert top_tags(TAGS, 5)[10] == ["aliens", "lasers"]


def test_movie_text_has_title_year_genres_tags_and_overview():
    text = movie_text(title="Heat (1995)", genres=["Action", "Crime"], tags=["heist"], overview=" A cop. ")
    assert text == "Heat (1995). Genres: Action, Crime. Tags: heist. A cop."
    assert movie_text(title="Untitled") == "Untitled."


def test_catalog_frame_drops_no_genre_placeholder_and_sorts(catalog):
    assert list(catalog["movie_id"]) == [10, 20, 30, 40]
    assert catalog.loc[3, "genres"] == []
    assert catalog.loc[3, "overview"] == ""
    assert catalog.loc[0, "text"] == (
        "Space Battle (1999). Genres: Sci-Fi, Action. Tags: aliens, lasers. Starships fight aliens in space.")


def test_cache_encodes_only_new_or_changed_texts(tmp_path):
    cache = EmbeddingCache(tmp_path)
    first = CountingEncoder()
    update = cache.update({1: "space aliens", 2: "love story"}, first, batch_size=1)
    assert (update.encoded, update.reused) == (2, 0)
    assert sorted(first.seen) == ["love story", "space aliens"]

    second = CountingEncoder()
    update = cache.update({1: "space aliens", 2: "love story in paris", 3: "heist"}, second)
    assert (update.encoded, update.reused) == (2, 1)
    assert sorted(second.seen) == ["heist", "love story in paris"]
    ids, prints, matrix = cache.load()
    assert list(ids) == [1, 2, 3]
    assert prints[1] == fingerprint("love story in paris")
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(matrix[0], texts.l2_normalise(fake_encode(["space aliens"]))[0])


def test_warm_cache_never_calls_the_encoder_factory(tmp_path):
    EmbeddingCache(tmp_path).update({1: "a b"}, fake_encode)

    def factory():
        raise AssertionError("the model must not be loaded for a warm cache")

    update = EmbeddingCache(tmp_path).update({1: "a b"}, factory, lazy_encoder=True)
    assert (update.encoded, update.reused) == (0, 1)


def test_cache_from_another_model_is_ignored(tmp_path):
    EmbeddingCache(tmp_path, model_name="other").update({1: "a b"}, fake_encode)
    assert len(EmbeddingCache(tmp_path).load()[0]) == 0


def test_progress_reports_each_batch(tmp_path):
    calls = []
    EmbeddingCache(tmp_path).update({i: f"t{i}" for i in range(5)}, fake_encode, batch_size=2,
                                    progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_similar_ranks_shared_content_first(catalog):
    index = ContentIndex.build(catalog, encoder=fake_encode)
    similar = index.similar(10, n=3)
    assert [m for m, _ in similar][0] == 20
    assert 10 not in [m for m, _ in similar]
    assert similar[0][1] > similar[1][1]
    assert index.similar(999) == []
    assert [m for m, _ in index.similar(10, n=3, exclude=[20])][0] != 20


def test_combined_similarity_is_weighted_sum_of_cosines(catalog):
    config = ContentConfig(embedding_weight=0.6, tfidf_weight=0.4)
    index = ContentIndex.build(catalog, encoder=fake_encode, config=config)
    a, b = index.items.index(10), index.items.index(30)
    emb = float(index.embeddings[a] @ index.embeddings[b])
    tfidf = float((index.tfidf[a] @ index.tfidf[b].T).toarray()[0, 0])
    assert index.similarity(10, 30) == pytest.approx(0.6 * emb + 0.4 * tfidf, abs=1e-6)
    assert index.similarity(10, 10) == pytest.approx(1.0, abs=1e-5)
    assert np.isnan(index.similarity(10, 999))


def test_profile_scores_pull_towards_liked_and_away_from_disliked(catalog):
    index = ContentIndex.build(catalog, encoder=fake_encode)
    scores = index.profile_scores({10: 5.0, 30: 1.0})
    assert scores[index.items.index(20)] > scores[index.items.index(30)]
    assert not index.profile_scores({999: 5.0}).any()


def test_save_and_load_round_trip(tmp_path, catalog):
    built = ContentIndex.build(catalog, encoder=fake_encode, cache_dir=tmp_path)
    loaded = ContentIndex.load(tmp_path)
    assert list(loaded.items.ids) == [10, 20, 30, 40]
    np.testing.assert_array_equal(loaded.embeddings, built.embeddings)
    assert [m for m, _ in loaded.similar(10, 3)] == [m for m, _ in built.similar(10, 3)]
    np.testing.assert_allclose([s for _, s in loaded.similar(10, 3)], [s for _, s in built.similar(10, 3)], rtol=1e-6)
    assert ContentIndex.load(tmp_path / "missing") is None


def test_sparse_top_k_matches_on_demand_neighbours(catalog):
    index = ContentIndex.build(catalog, encoder=fake_encode)
    top = index.sparse_top_k(2, batch=3)
    assert top.shape == (4, 4) and top.nnz == 8
    row = top.getrow(0)
    got = sorted(zip(row.indices, row.data), key=lambda p: -p[1])
    want = index.similar(10, 2)
    assert [int(index.items.ids[c]) for c, _ in got] == [m for m, _ in want]


def test_empty_catalog_builds_an_empty_index():
    index = ContentIndex.build(catalog_frame(MOVIES.iloc[:0]), encoder=fake_encode)
    assert len(index) == 0 and index.similar(10) == []


def test_similar_is_fast_on_a_large_catalog(rng):
    n = 10_000
    index = ContentIndex(np.arange(n), rng.standard_normal((n, 384)).astype(np.float32))
    index.similar(0)
    started = time.perf_counter()
    for movie in range(50):
        index.similar(movie)
    assert (time.perf_counter() - started) / 50 < 0.05  # well under 50 ms a call on 2 shared cores


@pytest.fixture(scope="module")
def minilm():
    return texts.load_minilm_encoder()


@pytest.mark.slow
def test_real_minilm_groups_related_titles(minilm):
    vectors = minilm(["A space opera with starships and aliens.", "Aliens attack a starship in deep space.",
                      "A romantic comedy about a wedding in Paris."])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1
