"""NeuMF scoring and new-user fold-in in NumPy: no TensorFlow in the web process.

``NumpyNeuMF`` holds the float32 weights exported by ``ncf.model.export_weights`` and repeats the
Keras forward pass (embedding lookups, GMF product, MLP matmuls, sigmoid, RatingScale). The first
MLP layer is split: ``[p', q'] @ W0 = p' @ W0[:d] + q' @ W0[d:]``, and the movie half is computed
once at load, so scoring a whole catalog costs one broadcast add and the remaining small layers.

Fold-in (a person the model never saw): ``fit`` finds the person's user vectors -- GMF part,
MLP part and rating bias -- by a few Adam steps on their ratings with the network frozen:
BCE on the ranking head (their rated movies against sampled unrated ones, labelled as in
training) plus the star MSE on the rating head, with an L2 pull towards the mean training user.
The vectors it finds live where the network was trained to read user vectors, which the seed's
``average`` (a rating-weighted mean of movie vectors dropped in the user slot) does not; with
few ratings the pull keeps a person near the average user, i.e. near popular picks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import FOLDIN_AVERAGE, MODE_HARD_NEGATIVES, MODE_REGRESSION, NCFConfig
from .sampling import seed_labels


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
        weights: arrays named as ``ncf.model.export_weights`` writes them.
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
        cfg = self.config
        n_rated = len(items)
        if cfg.mode == MODE_REGRESSION:
            rows, rank_y, rank_w = items, np.zeros(n_rated, np.float32), np.zeros(n_rated, np.float32)
        else:
            if cfg.mode == MODE_HARD_NEGATIVES:
                rank_y, rank_w = seed_labels(stars)
            else:
                rank_y, rank_w = np.ones(n_rated, np.float32), np.ones(n_rated, np.float32)
            n_neg = max(int(cfg.foldin_negatives * max(rank_y.sum(), 1)), 20)
            negatives = rng.integers(0, self.n_items, size=n_neg)
            negatives = negatives[~np.isin(negatives, items)]
            rows = np.concatenate([items, negatives])
            rank_y = np.concatenate([rank_y, np.zeros(len(negatives), np.float32)])
            rank_w = np.concatenate([rank_w, np.ones(len(negatives), np.float32)])
        star_w = np.zeros(len(rows), np.float32)
        star_w[:n_rated] = cfg.rating_loss_weight
        star_y = np.zeros(len(rows), np.float32)
        star_y[:n_rated] = stars

        gmf_items = self.item_gmf[rows]
        first_items = self.item_mlp_in[rows]
        fixed_rank = self.item_rank_bias[rows] + self.head_b[0]
        fixed_star = self.item_bias[rows] + self.head_b[1]
        hk_g, hr_g = self.head_gmf[:, 0], self.head_gmf[:, 1]
        span = self.high - self.low

        mu = self.mean_user
        theta = np.concatenate([mu.gmf, mu.mlp, [mu.bias]]).astype(np.float64)
        prior = theta.copy()
        d = self.d
        m = np.zeros_like(theta)
        v = np.zeros_like(theta)
        b1, b2, lr = 0.9, 0.999, cfg.foldin_lr
        for step in range(1, cfg.foldin_steps + 1):
            pg, pm, bu = theta[:d], theta[d:2 * d], theta[2 * d]
            # forward through the frozen network
            pre = [first_items + pm @ self.w0_user]
            acts = [np.maximum(pre[0], 0.0)]
            for w, b in zip(self.mlp_w[1:], self.mlp_b[1:]):
                pre.append(acts[-1] @ w + b)
                acts.append(np.maximum(pre[-1], 0.0))
            gp = gmf_items * pg
            head = acts[-1] @ self.head_mlp
            rank_logit = gp @ hk_g + head[:, 0] + fixed_rank
            star_logit = gp @ hr_g + head[:, 1] + fixed_star + bu
            # gradients of sum(w * BCE) + sum(w * (stars - y)^2)
            d_rank = rank_w * (_sigmoid(rank_logit) - rank_y)
            s = _sigmoid(star_logit)
            d_star = star_w * 2.0 * (self.low + span * s - star_y) * span * s * (1.0 - s)
            g_pg = hk_g * (gmf_items.T @ d_rank) + hr_g * (gmf_items.T @ d_star)
            delta = d_rank[:, None] * self.head_mlp[:, 0] + d_star[:, None] * self.head_mlp[:, 1]
            for k in range(len(acts) - 1, 0, -1):
                delta = (delta * (pre[k] > 0)) @ self.mlp_w[k].T
            g_pm = self.w0_user @ (delta * (pre[0] > 0)).sum(0)
            grad = np.concatenate([g_pg, g_pm, [d_star.sum()]])
            grad += 2.0 * cfg.foldin_l2 * (theta - prior)
            m = b1 * m + (1 - b1) * grad
            v = b2 * v + (1 - b2) * grad * grad
            theta -= lr * (m / (1 - b1 ** step)) / (np.sqrt(v / (1 - b2 ** step)) + 1e-8)
        theta = theta.astype(np.float32)
        return UserVector(theta[:d], theta[d:2 * d], float(theta[2 * d]))


def random_weights(n_users: int, n_items: int, config: NCFConfig, rng: np.random.Generator,
                   scale: float = 0.1) -> dict:
    """Untrained weights of the right shapes (for benchmarks at any catalog size and for tests)."""
    d = config.embedding_dim
    normal = lambda *shape: (rng.standard_normal(shape) * scale).astype(np.float32)  # noqa: E731
    w = {
        "user_gmf": normal(n_users, d), "item_gmf": normal(n_items, d),
        "user_mlp": normal(n_users, d), "item_mlp": normal(n_items, d),
        "item_rank_bias": normal(n_items), "user_bias": normal(n_users), "item_bias": normal(n_items),
    }
    fan_in = 2 * d
    for k, units in enumerate(config.layers):
        w[f"mlp_{k}_w"] = (rng.standard_normal((fan_in, units)) / np.sqrt(fan_in)).astype(np.float32)
        w[f"mlp_{k}_b"] = normal(units)
        fan_in = units
    w.update(rank_w=normal(d + fan_in), rank_b=normal(1), rating_w=normal(d + fan_in), rating_b=normal(1),
             rating_range=np.array([0.5, 5.0], dtype=np.float32))
    return w
