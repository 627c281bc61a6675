"""Baseline recommenders behind the ``recsys.protocol.Scorer`` contract, vectorised with NumPy/SciPy.

* :class:`PopularityScorer` — ranks by number of training ratings; predicts no stars.
* :class:`DampedMeanScorer` — Bayesian-average item mean plus a damped user offset; ranks by
  the damped item mean and predicts stars.
* :class:`ItemKNNScorer` — item-item cosine on the binary user-item matrix, top-k neighbours
  per target movie (Deshpande & Karypis 2004); predicts no stars.
* :class:`BiasedMFScorer` — ``r = mu + b_u + b_i + p_u . q_i`` fitted by alternating least
  squares on explicit stars (Koren, Bell & Volinsky 2009; weighted-lambda ridge as in Zhou et
  al. 2008). A new person is folded in by solving the same ridge problem for their vector and
  bias with the item side frozen. Ranks by predicted stars (which ranks badly; it is here as
  the rating-accuracy bar).
* :class:`EASEScorer` — Steck 2019, "Embarrassingly Shallow Autoencoders":
  ``P = (X^T X + lambda I)^-1``, ``B = I - P / diag(P)`` (i.e. ``B_ij = -P_ij / P_jj``, zero
  diagonal) on the binary matrix X; scores are ``x_u B``.
* :class:`IALSScorer` — implicit-feedback MF (Hu, Koren & Volinsky 2008) in the form and with the
  frequency-scaled regularisation of Rendle et al. 2021/2022 ("Revisiting the performance of
  iALS on item recommendation benchmarks"); a person is folded in from their history.

Every scorer ranks from the ``history`` it is given (for a warm user the harness passes their
training ratings), so warm and cold people are scored the same way; only the biased MF uses a
warm user's learned vector.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.linalg import lapack

from recsys.data.vocabulary import Vocabulary

MIN_STARS, MAX_STARS = 0.5, 5.0


class _MatrixScorer:
    """Shared plumbing: vocabularies, the sparse user x item matrix, history lookup."""

    #: Whether ``predict_ratings`` returns stars (the harness computes RMSE/MAE only then).
    predicts_ratings = False

    users: Vocabulary
    items: Vocabulary

    def _index(self, train: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if train.empty:
            raise ValueError("cannot fit on an empty ratings frame")
        self.users = Vocabulary(train["user_id"].to_numpy())
        self.items = Vocabulary(train["movie_id"].to_numpy())
        rows = self.users.indices(train["user_id"].to_numpy())
        cols = self.items.indices(train["movie_id"].to_numpy())
        stars = train["rating"].to_numpy(dtype=np.float64)
        return rows, cols, stars

    def _binary(self, rows: np.ndarray, cols: np.ndarray) -> sparse.csr_matrix:
        matrix = sparse.csr_matrix((np.ones(rows.size, dtype=np.float64), (rows, cols)),
                                   shape=(len(self.users), len(self.items)))
        matrix.data[:] = 1.0  # duplicate (user, movie) rows count once
        return matrix

    def _history(self, history: Mapping[int, float]) -> tuple[np.ndarray, np.ndarray]:
        """Rows and stars of the known movies in ``history`` (unknown movies are ignored)."""
        if not history:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        movie_ids = np.fromiter(history.keys(), dtype=np.int64, count=len(history))
        stars = np.fromiter(history.values(), dtype=np.float64, count=len(history))
        rows = self.items.indices(movie_ids)
        known = rows >= 0
        return rows[known], stars[known]

    def predict_ratings(self, *, user_id: int | None, history: Mapping[int, float],
                        movie_ids: Sequence[int]) -> np.ndarray:
        return np.full(len(movie_ids), np.nan, dtype=np.float32)

    def _check_fitted(self, attribute: str):
        if getattr(self, attribute, None) is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit() first")


class PopularityScorer(_MatrixScorer):
    """Scores every movie by its number of training ratings (the same list for everybody)."""

    def __init__(self):
        self.counts: np.ndarray | None = None

    def fit(self, train: pd.DataFrame) -> PopularityScorer:
        _, cols, _ = self._index(train)
        self.counts = np.bincount(cols, minlength=len(self.items)).astype(np.float32)
        return self

    def score(self, *, user_id: int | None, history: Mapping[int, float]) -> np.ndarray:
        self._check_fitted("counts")
        return self.counts.copy()


class RecentPopularityScorer(_MatrixScorer):
    """Time-aware popularity (Ji et al., SIGIR 2020): asked at time ``at``, every movie is scored by
    its liked ratings (>= 4 stars) made before ``at``, one made ``age`` days earlier counting
    ``exp(-age / days)``; films released after the year of ``at`` are never ranked
    (``release_years``). Ties, such as films nobody liked lately, go by the liked count up to ``at``
    (no rating made later counts). ``at`` None: the end of the training data. The same list for
    everybody asked at the same time."""

    reads_time = True

    def __init__(self, days: float = 365.0, release_years: Mapping[int, int] | None = None):
        self.days, self.release_years = float(days), release_years
        self.timeline = None

    def fit(self, train: pd.DataFrame) -> RecentPopularityScorer:
        from recsys.timeline import LikedTimeline, release_year_array

        self._index(train)
        self.timeline = LikedTimeline.of(train, self.items)
        self._years = None if self.release_years is None else release_year_array(self.items, self.release_years)
        return self

    def score(self, *, user_id: int | None, history: Mapping[int, float], at: float | None = None) -> np.ndarray:
        from recsys.timeline import released_after

        self._check_fitted("timeline")
        at = self.timeline.end if at is None else float(at)
        liked = np.log1p(self.timeline.counts_before(at))
        tie_break = liked / (liked.max() + 1.0) * 1e-3  # below any decayed count's difference that matters
        scores = np.log1p(self.timeline.decayed_counts(at, self.days)) + tie_break
        if self._years is not None:
            later = released_after(self._years, at)
            if later is not None:
                scores[later] = -np.inf
        return scores.astype(np.float32)


class DampedMeanScorer(_MatrixScorer):
    """Global mean + damped item offset + damped user offset (a Bayesian average).

    ``b_i = sum_u (r_ui - mu) / (n_i + damping)``; ``b_u = sum_i (r_ui - mu - b_i) / (n_u + damping)``
    with the user sums taken over ``history``. Ranks by ``mu + b_i``; predicts
    ``mu + b_u + b_i`` clipped to the star range.
    """

    predicts_ratings = True

    def __init__(self, damping: float = 5.0):
        self.damping = float(damping)
        self.item_bias: np.ndarray | None = None
        self.mean = 0.0

    def fit(self, train: pd.DataFrame) -> DampedMeanScorer:
        _, cols, stars = self._index(train)
        self.mean = float(stars.mean())
        sums = np.bincount(cols, weights=stars - self.mean, minlength=len(self.items))
        counts = np.bincount(cols, minlength=len(self.items))
        self.item_bias = (sums / (counts + self.damping)).astype(np.float64)
        return self

    def _user_bias(self, history: Mapping[int, float]) -> float:
        rows, stars = self._history(history)
        return float(np.sum(stars - self.mean - self.item_bias[rows]) / (rows.size + self.damping))

    def score(self, *, user_id: int | None, history: Mapping[int, float]) -> np.ndarray:
        self._check_fitted("item_bias")
        return (self.mean + self.item_bias).astype(np.float32)

    def predict_ratings(self, *, user_id: int | None, history: Mapping[int, float],
                        movie_ids: Sequence[int]) -> np.ndarray:
        self._check_fitted("item_bias")
        rows = self.items.indices(np.asarray(movie_ids, dtype=np.int64))
        stars = np.clip(self.mean + self._user_bias(history) + self.item_bias[np.maximum(rows, 0)],
                        MIN_STARS, MAX_STARS)
        return np.where(rows >= 0, stars, np.nan).astype(np.float32)


class ItemKNNScorer(_MatrixScorer):
    """Item-item kNN on the binary matrix: ``score_j = sum_{i in history, i in N_k(j)} cos(i, j)``.

    Args:
        neighbours: how many most-similar movies each target movie keeps.
        shrinkage: added to the cosine denominator, damping similarities of rare movies.
    """

    def __init__(self, neighbours: int = 100, shrinkage: float = 10.0):
        self.neighbours = int(neighbours)
        self.shrinkage = float(shrinkage)
        self.similarity: sparse.csr_matrix | None = None

    def fit(self, train: pd.DataFrame) -> ItemKNNScorer:
        rows, cols, _ = self._index(train)
        x = self._binary(rows, cols).tocsc()
        co = (x.T @ x).toarray().astype(np.float32)  # co-occurrence counts
        norms = np.sqrt(np.diag(co)).astype(np.float32)
        sim = co / (np.outer(norms, norms) + self.shrinkage)
        np.fill_diagonal(sim, 0.0)
        n = sim.shape[0]
        k = min(self.neighbours, n - 1) if n > 1 else 0
        if k <= 0:
            self.similarity = sparse.csr_matrix((n, n), dtype=np.float32)
            return self
        # Column j keeps its k most similar movies i. The cosine matrix is symmetric, so the
        # neighbours of j are found along row j (contiguous memory: much faster than axis 0).
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]  # (n, k): neighbours of each target
        target = np.broadcast_to(np.arange(n)[:, None], top.shape)
        values = sim[target, top]
        keep = values > 0
        top, cols_idx = top[keep], target[keep]
        self.similarity = sparse.csr_matrix((values[keep], (top, cols_idx)), shape=(n, n))
        return self

    def score(self, *, user_id: int | None, history: Mapping[int, float]) -> np.ndarray:
        self._check_fitted("similarity")
        rows, _ = self._history(history)
        if rows.size == 0:
            return np.zeros(len(self.items), dtype=np.float32)
        return np.asarray(self.similarity[np.unique(rows)].sum(axis=0), dtype=np.float32).ravel()


class _Links:
    """Which rows of the other side each group's ratings link to (ALS's users -> movies, or movies
    -> users), as a CSR matrix built once: every sweep reuses its structure, only targets change.

    Rating j links group ``groups[j]`` to the other side's row ``others[j]``.
    """

    def __init__(self, groups: np.ndarray, others: np.ndarray, n_groups: int, n_other: int):
        # The ratings in CSR order (by group, then other row); 32-bit where it fits, since at
        # ml-25m's 25M ratings every such array is 100 MB a side.
        index_type = np.int32 if max(groups.size, n_other) < np.iinfo(np.int32).max else np.int64
        self.order = np.lexsort((others, groups)).astype(index_type)
        counts = np.bincount(groups, minlength=n_groups)
        self.counts = counts.astype(np.float64)
        indptr = np.zeros(n_groups + 1, dtype=index_type)
        np.cumsum(counts, out=indptr[1:])
        self.indices, self.indptr, self.shape = others[self.order].astype(index_type), indptr, (n_groups, n_other)
        self.indicator = self.weighted(np.ones(groups.size))

    def weighted(self, values: np.ndarray) -> sparse.csr_matrix:
        """The links with rating j's entry ``values[j]`` (repeated links add up in a product)."""
        return sparse.csr_matrix((values[self.order], self.indices, self.indptr), shape=self.shape)


def _ridge_step(links: _Links, other_features: np.ndarray, targets: np.ndarray, reg: np.ndarray,
                const_reg: np.ndarray) -> np.ndarray:
    """One ALS half-step: a ridge regression per group (user or movie), all solved at once.

    For each group g with the rows F_g of ``other_features`` its ratings link to (``links``) and
    their targets t_g: ``w_g = (F_g^T F_g + diag(n_g reg + const_reg) + eps I)^-1 F_g^T t_g``
    (``reg`` is the weighted lambda, multiplied by the group's rating count n_g).

    The Gram matrices are ``indicator @ outer`` where ``outer`` holds each *other-side* row's
    outer product once, so no (ratings x d x d) array is ever built. Only the upper triangle of
    each outer product is summed (a Gram matrix is symmetric): the sparse product, most of an ALS
    sweep, costs ``d (d + 1) / 2`` instead of ``d**2`` per rating.

    Returns:
        (n_groups, d) solutions; zeros for groups without ratings.
    """
    n_groups = links.shape[0]
    d = other_features.shape[1]
    upper_rows, upper_cols = np.triu_indices(d)
    outer = np.take(other_features, upper_rows, axis=1) * np.take(other_features, upper_cols, axis=1)
    upper = np.asarray(links.indicator @ outer)
    del outer
    # Entry (i, j) of a Gram matrix is the upper-triangle sum of (min(i, j), max(i, j)).
    position = np.empty((d, d), dtype=np.intp)
    position[upper_rows, upper_cols] = position[upper_cols, upper_rows] = np.arange(upper_rows.size)
    gram = upper[:, position.ravel()].reshape(n_groups, d, d)
    del upper
    rhs = np.asarray(links.weighted(np.asarray(targets, dtype=np.float64)) @ other_features)
    diagonal = links.counts[:, None] * reg[None, :] + const_reg[None, :] + 1e-8
    gram[:, np.arange(d), np.arange(d)] += diagonal
    return np.linalg.solve(gram, rhs[..., None])[..., 0]


class BiasedMFScorer(_MatrixScorer):
    """Biased matrix factorization by ALS: ``r_ui = mu + b_u + b_i + p_u . q_i``.

    Args:
        factors: latent dimension.
        reg: ridge weight on the factors, multiplied by the row's rating count (weighted lambda).
        bias_reg: constant ridge weight on the biases (a damping: a movie with few ratings keeps a
            small bias, so one 5-star rating does not put it on top of the ranking).
        iterations: ALS sweeps (user step then item step).
        seed: seeds the Generator for the initial factors.
    """

    predicts_ratings = True

    def __init__(self, factors: int = 32, reg: float = 0.2, bias_reg: float = 10.0, iterations: int = 10,
                 seed: int = 42):
        self.factors, self.reg, self.bias_reg = int(factors), float(reg), float(bias_reg)
        self.iterations, self.seed = int(iterations), int(seed)
        self.item_factors: np.ndarray | None = None

    def _reg(self) -> tuple[np.ndarray, np.ndarray]:
        weighted = np.array([self.reg] * self.factors + [0.0])
        constant = np.array([0.0] * self.factors + [self.bias_reg])
        return weighted, constant

    def fit(self, train: pd.DataFrame) -> BiasedMFScorer:
        rows, cols, stars = self._index(train)
        rng = np.random.default_rng(self.seed)
        n_users, n_items, d = len(self.users), len(self.items), self.factors
        self.mean = float(stars.mean())
        p = rng.normal(0.0, 0.1, (n_users, d))
        q = rng.normal(0.0, 0.1, (n_items, d))
        bu, bi = np.zeros(n_users), np.zeros(n_items)
        reg, const_reg = self._reg()
        ones_users, ones_items = np.ones((n_users, 1)), np.ones((n_items, 1))
        by_user, by_item = _Links(rows, cols, n_users, n_items), _Links(cols, rows, n_items, n_users)
        for _ in range(self.iterations):
            # User step: features [q_i, 1], target r - mu - b_i -> [p_u, b_u].
            solved = _ridge_step(by_user, np.hstack([q, ones_items]), stars - self.mean - bi[cols], reg, const_reg)
            p, bu = solved[:, :d], solved[:, d]
            solved = _ridge_step(by_item, np.hstack([p, ones_users]), stars - self.mean - bu[rows], reg, const_reg)
            q, bi = solved[:, :d], solved[:, d]
        self.user_factors, self.user_bias = p, bu
        self.item_factors, self.item_bias = q, bi
        return self

    def item_side(self) -> dict[str, np.ndarray]:
        """What a person is folded in against (the saved part of a model): movie ids, item
        factors and biases, and ``[mean, reg, bias_reg]``. Training users' vectors are not in it."""
        self._check_fitted("item_factors")
        return {"movie_ids": self.items.ids, "item_factors": self.item_factors.astype(np.float32),
                "item_bias": self.item_bias.astype(np.float32),
                "params": np.array([self.mean, self.reg, self.bias_reg], dtype=np.float64)}

    @classmethod
    def from_item_side(cls, movie_ids: np.ndarray, item_factors: np.ndarray, item_bias: np.ndarray,
                       params: np.ndarray) -> BiasedMFScorer:
        """A scorer that folds everybody in (no training users) from :meth:`item_side`'s arrays."""
        movie_ids, item_factors = np.asarray(movie_ids), np.asarray(item_factors, dtype=np.float64)
        item_bias, params = np.asarray(item_bias, dtype=np.float64), np.asarray(params, dtype=np.float64)
        if item_factors.ndim != 2 or item_factors.shape[0] != len(movie_ids) or item_bias.shape != (len(movie_ids),):
            raise ValueError(f"biased MF: {item_factors.shape} factors and {item_bias.shape} biases "
                             f"for {len(movie_ids)} movies")
        if movie_ids.size > 1 and not (np.diff(movie_ids) > 0).all():
            raise ValueError("biased MF: movie ids must be increasing (a Vocabulary's row order)")
        if params.shape != (3,) or not np.isfinite(params).all():
            raise ValueError(f"biased MF: params must be [mean, reg, bias_reg], not {params!r}")
        scorer = cls(factors=item_factors.shape[1], reg=params[1], bias_reg=params[2])
        scorer.items, scorer.users = Vocabulary(movie_ids), Vocabulary([])
        scorer.mean, scorer.item_factors, scorer.item_bias = float(params[0]), item_factors, item_bias
        return scorer

    def fold_in(self, history: Mapping[int, float]) -> tuple[np.ndarray, float]:
        """A new person's ``(p_u, b_u)``: the same ridge problem as an ALS user step, item side frozen.
        With no known movies: zero vector and zero bias (the item-bias model)."""
        self._check_fitted("item_factors")
        rows, stars = self._history(history)
        if rows.size == 0:
            return np.zeros(self.factors), 0.0
        features = np.hstack([self.item_factors[rows], np.ones((rows.size, 1))])
        links = _Links(np.zeros(rows.size, dtype=np.int64), np.arange(rows.size), 1, rows.size)
        solved = _ridge_step(links, features, stars - self.mean - self.item_bias[rows], *self._reg())[0]
        return solved[: self.factors], float(solved[self.factors])

    def _user(self, user_id: int | None, history: Mapping[int, float]) -> tuple[np.ndarray, float]:
        self._check_fitted("item_factors")
        row = self.users.index(user_id) if user_id is not None else -1
        if row >= 0:
            return self.user_factors[row], float(self.user_bias[row])
        return self.fold_in(history)

    def stars_at(self, vector: np.ndarray, bias: float, rows: np.ndarray | slice) -> np.ndarray:
        """The stars of the movies at ``rows`` for a person with ``(vector, bias)`` (see :meth:`fold_in`)."""
        raw = self.mean + bias + self.item_bias[rows] + self.item_factors[rows] @ vector
        return np.clip(raw, MIN_STARS, MAX_STARS)

    def score(self, *, user_id: int | None, history: Mapping[int, float]) -> np.ndarray:
        vector, bias = self._user(user_id, history)
        return self.stars_at(vector, bias, slice(None)).astype(np.float32)

    def predict_ratings(self, *, user_id: int | None, history: Mapping[int, float],
                        movie_ids: Sequence[int]) -> np.ndarray:
        vector, bias = self._user(user_id, history)
        rows = self.items.indices(np.asarray(movie_ids, dtype=np.int64))
        stars = self.stars_at(vector, bias, np.maximum(rows, 0))
        return np.where(rows >= 0, stars, np.nan).astype(np.float32)


#: Rows of the EASE Gram matrix made per sparse product (a block is ``_EASE_BLOCK x movies`` floats).
_EASE_BLOCK = 2048


def _mirror_upper_to_lower(matrix: np.ndarray, block: int = _EASE_BLOCK) -> None:
    """Make a square matrix symmetric in place from its upper triangle, a block of rows at a time."""
    n = len(matrix)
    for start in range(0, n, block):
        stop = min(start + block, n)
        rows = matrix[start:stop]
        # Within the diagonal block, the lower part comes from the block's own upper part.
        square = rows[:, start:stop]
        lower = np.tril_indices(stop - start, -1)
        square[lower] = square.T[lower]
        # Left of it, from the column strip above (already the upper triangle of earlier rows).
        rows[:, :start] = matrix[:start, start:stop].T


class EASEScorer(_MatrixScorer):
    """EASE (Steck 2019): ``B = I - P diag(1/diag(P))`` with zero diagonal,
    ``P = (X^T X + lambda I)^-1`` on the binary user x movie matrix; ``score = x_u B``.

    Args:
        l2: lambda; about 500 suits ml-latest-small (see ``tune_ease_lambda``).
        max_items: learn weights for at most this many movies, the most-rated ones (None: all).
            The weight matrix is dense, ``max_items**2`` float32: 10,000 movies are 400 MB and
            a 62,000-movie catalog would be 15 GB. Movies outside score 0 (as if unrelated).
        min_ratings: leave out movies with fewer training ratings (one rating carries no
            co-occurrence signal and only grows the matrix).
    """

    def __init__(self, l2: float = 500.0, *, max_items: int | None = None, min_ratings: int = 1):
        self.l2 = float(l2)
        self.max_items = max_items
        self.min_ratings = int(min_ratings)
        self.weights: np.ndarray | None = None

    @classmethod
    def from_weights(cls, movie_ids: np.ndarray, weights: np.ndarray, l2: float = 500.0) -> EASEScorer:
        """A fitted scorer from saved weights (``weights`` may be a read-only memory map)."""
        if weights.shape != (len(movie_ids), len(movie_ids)):
            raise ValueError(f"EASE weights {weights.shape} do not match {len(movie_ids)} movies")
        scorer = cls(l2)
        scorer.items = Vocabulary(np.asarray(movie_ids))
        scorer.weights = weights
        return scorer

    def _kept_movies(self, train: pd.DataFrame) -> pd.DataFrame:
        if self.max_items is None and self.min_ratings <= 1:
            return train
        counts = train.groupby("movie_id").size()
        counts = counts[counts >= self.min_ratings]
        # Most-rated first; ties by id so the choice is deterministic.
        order = sorted(zip(-counts.to_numpy(), counts.index.to_numpy()))
        keep = [movie for _, movie in order[: self.max_items]]
        kept = train[train["movie_id"].isin(keep)]
        if kept.empty:
            raise ValueError("EASE: no movie has enough ratings to learn from")
        return kept

    def fit(self, train: pd.DataFrame) -> EASEScorer:
        rows, cols, _ = self._index(self._kept_movies(train))
        x = self._binary(rows, cols).astype(np.float32)  # users x movies, CSR
        x_t = x.T.tocsr()  # movies x users: a block of its rows is a block of Gram rows
        del rows, cols
        n = len(self.items)
        # One n x n float32 matrix is all the memory the fit takes (the Gram matrix, factored and
        # inverted in place, then scaled into the weights in place): 400 MB for 10,000 movies.
        gram = np.empty((n, n), dtype=np.float32)
        for start in range(0, n, _EASE_BLOCK):
            block = slice(start, min(start + _EASE_BLOCK, n))
            gram[block] = (x_t[block] @ x).toarray()
        del x, x_t
        gram[np.diag_indices(n)] += self.l2
        # X^T X + lambda I is symmetric positive definite (eigenvalues >= lambda), so a float32
        # Cholesky inverse is accurate here and about 4x faster than a float64 LU inverse.
        # LAPACK works in column-major order: the transpose of a C-ordered symmetric matrix is
        # the same matrix in column-major order, so no copy is made.
        factor, info = lapack.spotrf(gram.T, lower=1, overwrite_a=1)
        if info == 0:
            inverse, info = lapack.spotri(factor, lower=1, overwrite_c=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"EASE: the regularised Gram matrix is not positive definite ({info})")
        if not np.shares_memory(inverse, gram):  # LAPACK copied after all: carry on in its copy
            gram = np.ascontiguousarray(inverse.T)
        del factor, inverse
        # potri filled the lower triangle of the column-major matrix: the upper one of ``gram``.
        _mirror_upper_to_lower(gram)
        diagonal = -np.diag(gram).copy()
        gram /= diagonal[None, :]
        np.fill_diagonal(gram, 0.0)
        self.weights = gram
        return self

    def score(self, *, user_id: int | None, history: Mapping[int, float]) -> np.ndarray:
        self._check_fitted("weights")
        rows, _ = self._history(history)
        if rows.size == 0:
            return np.zeros(len(self.items), dtype=np.float32)
        return self.weights[np.unique(rows)].sum(axis=0)

    def weighted_score(self, history: Mapping[int, float], weights: np.ndarray) -> np.ndarray:
        """``sum_i weights_i B[i]`` over the known movies of ``history`` (``weights`` in its
        order): :meth:`score` with some ratings counting more than others."""
        self._check_fitted("weights")
        if not history:
            return np.zeros(len(self.items), dtype=np.float32)
        movie_ids = np.fromiter(history.keys(), dtype=np.int64, count=len(history))
        rows = self.items.indices(movie_ids)
        known = rows >= 0
        if not known.any():
            return np.zeros(len(self.items), dtype=np.float32)
        return np.asarray(weights, np.float32)[known] @ self.weights[rows[known]]


class IALSScorer(_MatrixScorer):
    """iALS as in Rendle et al. 2022 (RecSys '22), on the binary matrix of who rated what.

    Minimises ``sum_{(u,i) rated} (w_u . h_i - 1)^2 + alpha0 sum_{u,i} (w_u . h_i)^2
    + lam sum_u (|I_u| + alpha0 |I|)^nu |w_u|^2 + lam sum_i (|U_i| + alpha0 |U|)^nu |h_i|^2``
    by alternating exact least squares. A user step solves, per person,
    ``(H_u^T H_u + alpha0 H^T H + lam (|I_u| + alpha0 |I|)^nu I) w_u = H_u^T 1``; the item
    step is the same with the roles swapped. Scores are ``w_u . h_i`` with ``w_u`` solved
    from the history given (a warm user's training ratings give their learned vector).

    Args:
        factors: latent dimension.
        reg: lam.
        unobserved_weight: alpha0, the weight of every (person, movie) pair pulled towards 0.
        nu: the exponent of the frequency scaling of the regularisation (1 in the paper).
        iterations: ALS sweeps.
        seed: seeds the initial factors (normal, std 0.1 / sqrt(factors)).
    """

    def __init__(self, factors: int = 64, reg: float = 0.01, unobserved_weight: float = 0.1, nu: float = 1.0,
                 iterations: int = 12, seed: int = 42):
        self.factors, self.reg, self.unobserved_weight = int(factors), float(reg), float(unobserved_weight)
        self.nu, self.iterations, self.seed = float(nu), int(iterations), int(seed)
        self.item_factors: np.ndarray | None = None

    def _solve(self, matrix: sparse.csr_matrix, other: np.ndarray) -> np.ndarray:
        """One half-step: every row of ``matrix`` (a binary csr, rows = the side being solved)."""
        d = other.shape[1]
        gramian = self.unobserved_weight * (other.T @ other)
        counts = np.diff(matrix.indptr)
        lambdas = self.reg * (counts + self.unobserved_weight * other.shape[0]) ** self.nu
        out = np.zeros((matrix.shape[0], d))
        eye = np.eye(d)
        for row in np.flatnonzero(counts):
            features = other[matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]]
            out[row] = np.linalg.solve(features.T @ features + gramian + lambdas[row] * eye, features.sum(axis=0))
        return out

    def fit(self, train: pd.DataFrame) -> IALSScorer:
        rows, cols, _ = self._index(train)
        x = self._binary(rows, cols)
        xt = x.T.tocsr()
        rng = np.random.default_rng(self.seed)
        std = 0.1 / np.sqrt(self.factors)
        users = rng.normal(0.0, std, (len(self.users), self.factors))
        items = rng.normal(0.0, std, (len(self.items), self.factors))
        for _ in range(self.iterations):
            users = self._solve(x, items)
            items = self._solve(xt, users)
        self.item_factors = items
        self._n_users = len(self.users)
        self._gramian = self.unobserved_weight * (items.T @ items)
        return self

    def fold_in(self, history: Mapping[int, float]) -> np.ndarray:
        """A person's vector from the movies they rated: the user step, item side frozen."""
        self._check_fitted("item_factors")
        rows, _ = self._history(history)
        rows = np.unique(rows)
        if rows.size == 0:
            return np.zeros(self.factors)
        features = self.item_factors[rows]
        lam = self.reg * (rows.size + self.unobserved_weight * len(self.items)) ** self.nu
        return np.linalg.solve(features.T @ features + self._gramian + lam * np.eye(self.factors),
                               features.sum(axis=0))

    def score(self, *, user_id: int | None, history: Mapping[int, float]) -> np.ndarray:
        return (self.item_factors @ self.fold_in(history)).astype(np.float32)
