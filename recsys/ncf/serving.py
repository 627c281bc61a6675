"""NeuMF scoring and new-user fold-in in NumPy: no TensorFlow in the web process.

``NumpyNeuMF`` holds the float32 weights exported by ``recsys.ncf.model.export_weights`` and repeats the
Keras forward pass (embedding lookups, GMF product, MLP matmuls, sigmoid, RatingScale). The first
MLP layer is split: ``[p', q'] @ W0 = p' @ W0[:d] + q' @ W0[d:]``, and the movie half is computed
once at load, so scoring a whole catalog costs one broadcast add and the remaining small layers.

Fold-in (a person the model never saw): ``fit`` finds the person's GMF user vector and rating
bias with the network frozen, by a few Gauss-Newton steps on their ratings: BCE on the ranking
head (their rated movies against sampled unrated ones, labelled as in training) plus the star
MSE on the rating head, with an L2 pull towards the mean training user. The MLP user vector
stays the mean user's, which makes the problem (d + 1)-dimensional and lets the MLP branch be
computed once for the whole catalog: fold-in plus scoring 10k movies is one small solve and
one matrix-vector product. The vector it finds lives where the network was trained to read
user vectors, which the seed's ``average`` (a rating-weighted mean of movie vectors dropped in
the user slot) does not; with few ratings the pull keeps a person near the average user, i.e.
near popular picks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys.ncf.config import FOLDIN_AVERAGE, MODE_HARD_NEGATIVES, MODE_REGRESSION, NCFConfig
from recsys.ncf.sampling import seed_labels


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # stable for large |x|, no overflow warnings


@dataclass
class UserVector:
    gmf: np.ndarray  # (d,)
    mlp: np.ndarray  # (d,)
    bias: float


class NumpyNeuMF:
    """The trained NeuMF network as NumPy arrays (float32).

    Args:
        weights: arrays named as ``recsys.ncf.model.export_weights`` writes them.
        config: the configuration the weights were trained with.
    """

    def __init__(self, weights: dict, config: NCFConfig):
        self.config = config
        f32 = lambda a: np.ascontiguousarray(np.asarray(a, dtype=np.float32))  # noqa: E731
        w = {k: f32(v) for k, v in weights.items()}
        self.weights = w
        d = config.embedding_dim
        self.d = d
        self.user_gmf, self.user_mlp, self.user_bias = w["user_gmf"], w["user_mlp"], w["user_bias"]
        self.item_gmf, self.item_mlp = w["item_gmf"], w["item_mlp"]
        self.item_rank_bias, self.item_bias = w["item_rank_bias"], w["item_bias"]
        n_layers = len(config.layers)
        self.mlp_w = [w[f"mlp_{k}_w"] for k in range(n_layers)]
        self.mlp_b = [w[f"mlp_{k}_b"] for k in range(n_layers)]
        # Both heads read z = [gmf, mlp_out]; stack them so one matmul serves both.
        heads = np.stack([w["rank_w"], w["rating_w"]], axis=1)  # (d + last, 2)
        self.head_gmf, self.head_mlp = heads[:d], np.ascontiguousarray(heads[d:])
        self.head_b = np.array([w["rank_b"][0], w["rating_b"][0]], dtype=np.float32)
        self.low, self.high = (float(x) for x in w["rating_range"])
        self.w0_user = np.ascontiguousarray(self.mlp_w[0][:d])
        # The movie half of the first MLP layer, once for the catalog.
        self.item_mlp_in = self.item_mlp @ self.mlp_w[0][d:] + self.mlp_b[0]
        self.mean_user = UserVector(self.user_gmf.mean(0), self.user_mlp.mean(0), float(self.user_bias.mean()))
        # Folded-in people share one MLP branch, the same for everybody, computed once here:
        # the average over (a sample of) training users of their MLP branch through both heads.
        # Averaging outputs, not vectors, matters: the MLP is non-linear, and the output at the
        # mean vector ranks films far worse than the average user's output does.
        # Training stores it with the weights (``population_mlp_logits``) so loading stays fast.
        stored = w.get("population_mlp_logits")
        self.mean_mlp_logits = stored if stored is not None and stored.shape == (self.n_items, 2) \
            else self._population_mlp_logits()

    def _population_mlp_logits(self, budget: int = 2_000_000) -> np.ndarray:
        n_sample = int(min(self.n_users, max(16, budget // max(self.n_items, 1))))
        # Evenly spaced rows: deterministic, no generator needed, and spread over the table.
        rows = np.unique(np.linspace(0, self.n_users - 1, n_sample).astype(np.int64))
        total = np.zeros((self.n_items, 2), dtype=np.float32)
        for row in rows:
            total += self._mlp_forward(self.user_mlp[row], None)[-1] @ self.head_mlp
        return total / len(rows) + self.head_b

    @property
    def n_users(self) -> int:
        return self.user_gmf.shape[0]

    @property
    def n_items(self) -> int:
        return self.item_gmf.shape[0]

    def user_vector(self, row: int) -> UserVector:
        return UserVector(self.user_gmf[row], self.user_mlp[row], float(self.user_bias[row]))

    # -- forward pass -------------------------------------------------------------------
    def _mlp_forward(self, user_mlp: np.ndarray, items: np.ndarray | None):
        first = self.item_mlp_in if items is None else self.item_mlp_in[items]
        acts = [np.maximum(first + user_mlp @ self.w0_user, 0.0)]
        for w, b in zip(self.mlp_w[1:], self.mlp_b[1:]):
            acts.append(np.maximum(acts[-1] @ w + b, 0.0))
        return acts

    def logits(self, user: UserVector, items: np.ndarray | None = None) -> np.ndarray:
        """(n, 2) logits of the ranking and rating heads for ``items`` (all when None)."""
        gmf_items = self.item_gmf if items is None else self.item_gmf[items]
        out = gmf_items @ (user.gmf[:, None] * self.head_gmf)
        if user.mlp is self.mean_user.mlp:  # every folded-in person: the cached MLP branch
            out += self.mean_mlp_logits if items is None else self.mean_mlp_logits[items]
        else:
            out += self._mlp_forward(user.mlp, items)[-1] @ self.head_mlp
            out += self.head_b
        rank_bias = self.item_rank_bias if items is None else self.item_rank_bias[items]
        star_bias = self.item_bias if items is None else self.item_bias[items]
        out[:, 0] += rank_bias
        out[:, 1] += star_bias + user.bias
        return out

    def stars_from_logit(self, logit: np.ndarray) -> np.ndarray:
        return (self.low + (self.high - self.low) * _sigmoid(logit)).astype(np.float32)

    def predict(self, user: UserVector, items: np.ndarray | None = None) -> np.ndarray:
        """(n, 2) like the Keras model: ranking probability, predicted stars."""
        out = self.logits(user, items)
        return np.stack([_sigmoid(out[:, 0]), self.stars_from_logit(out[:, 1])], axis=1).astype(np.float32)

    def rank_scores(self, user: UserVector, items: np.ndarray | None = None) -> np.ndarray:
        """Ranking scores (higher is better): the ranking logit, or the stars in regression mode."""
        out = self.logits(user, items)
        if self.config.mode == MODE_REGRESSION:
            return self.stars_from_logit(out[:, 1])
        return out[:, 0].astype(np.float32)

    # -- fold-in ------------------------------------------------------------------------
    def fold_in(self, items: np.ndarray, stars: np.ndarray, *, method: str | None = None,
                seed: int | None = None) -> UserVector:
        """User vectors for a person from their ratings alone (no retraining).

        Args:
            items: movie rows the person rated (unknown movies already dropped).
            stars: their ratings, same order.
            method: ``fit`` (default from the config) or ``average`` (the seed's baseline).
            seed: seeds the sampled unrated movies (default: the config's seed).
        Returns:
            UserVector; the mean training user when ``items`` is empty.
        """
        items = np.asarray(items, dtype=np.int64)
        stars = np.asarray(stars, dtype=np.float32)
        if items.size == 0:
            return self.mean_user
        method = method or self.config.foldin
        if method == FOLDIN_AVERAGE:
            weights = stars / stars.sum() if stars.sum() > 0 else np.full(len(stars), 1 / len(stars), np.float32)
            return UserVector(weights @ self.item_gmf[items], weights @ self.item_mlp[items], 0.0)
        return self._fit_user(items, stars, np.random.default_rng(self.config.seed if seed is None else seed))

    def _fit_user(self, items: np.ndarray, stars: np.ndarray, rng: np.random.Generator) -> UserVector:
        # The person's GMF vector p and rating bias b are fitted; the MLP user part stays at the
        # mean user's, so the MLP branch (cached for the whole catalog) is a fixed per-movie
        # score. Both heads are then linear in p (rank logit = (q * h_k) . p + c), and the
        # MAP problem -- BCE on the ranking head + star MSE + lambda * ||(p, b) - mean user||^2 --
        # is solved by a few Gauss-Newton steps on a (d + 1)-dimensional system.
        cfg = self.config
        n_rated = len(items)
        if cfg.mode == MODE_REGRESSION:
            rows, rank_y, rank_w = items, np.zeros(n_rated, np.float32), np.zeros(n_rated, np.float32)
        else:
            if cfg.mode == MODE_HARD_NEGATIVES:
                rank_y, rank_w = seed_labels(stars)
            else:
                rank_y, rank_w = np.ones(n_rated, np.float32), np.ones(n_rated, np.float32)
            n_neg = max(int(cfg.foldin_negatives * rank_y.sum()), 50)
            negatives = rng.integers(0, self.n_items, size=n_neg)
            negatives = negatives[~np.isin(negatives, items)]
            rows = np.concatenate([items, negatives])
            rank_y = np.concatenate([rank_y, np.zeros(len(negatives), np.float32)])
            rank_w = np.concatenate([rank_w, np.ones(len(negatives), np.float32)])
        n = len(rows)
        star_w = np.zeros(n, np.float32)
        star_w[:n_rated] = cfg.rating_loss_weight
        star_y = np.zeros(n, np.float32)
        star_y[:n_rated] = stars

        gmf = self.item_gmf[rows]
        d = self.d
        rank_x = np.zeros((n, d + 1), np.float32)  # features of (p, b) in the ranking logit
        rank_x[:, :d] = gmf * self.head_gmf[:, 0]
        star_x = np.ones((n, d + 1), np.float32)  # ... and in the rating logit
        star_x[:, :d] = gmf * self.head_gmf[:, 1]
        fixed = self.mean_mlp_logits[rows]
        rank_c = fixed[:, 0] + self.item_rank_bias[rows]
        star_c = fixed[:, 1] + self.item_bias[rows]
        prior = np.append(self.mean_user.gmf, self.mean_user.bias).astype(np.float32)
        theta = prior.copy()
        ridge = 2.0 * cfg.foldin_l2 * np.eye(d + 1, dtype=np.float32)
        span = self.high - self.low
        for _ in range(cfg.foldin_steps):
            p = _sigmoid(rank_x @ theta + rank_c)
            s = _sigmoid(star_x @ theta + star_c)
            slope = span * s * (1.0 - s)  # d stars / d logit
            g_rank = rank_w * (p - rank_y)
            g_star = 2.0 * star_w * (self.low + span * s - star_y) * slope
            grad = rank_x.T @ g_rank + star_x.T @ g_star + 2.0 * cfg.foldin_l2 * (theta - prior)
            hess = (rank_x.T * (rank_w * p * (1.0 - p))) @ rank_x + (star_x.T * (2.0 * star_w * slope * slope)) @ star_x
            theta = theta - np.linalg.solve(hess + ridge, grad)
        return UserVector(theta[:d].astype(np.float32), self.mean_user.mlp, float(theta[d]))
