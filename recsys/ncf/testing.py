"""Helpers for tests and benchmarks (never used by the site): NeuMF weights of any size."""
from __future__ import annotations

import numpy as np

from recsys.ncf.config import NCFConfig


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
