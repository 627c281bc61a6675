"""The two operations every ranking step shares: the best k of a score vector, and a
per-person z-score. One copy each, used by the ranker, the baselines, the content index,
the evaluation harness and the tuning code."""
from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best finite scores, best first; ties go to the lower position.

    ``-inf`` (and NaN) marks "not a candidate", so fewer than ``k`` positions may come back.
    """
    scores = np.asarray(scores)
    finite = np.flatnonzero(np.isfinite(scores))
    if finite.size == 0 or k <= 0:
        return np.empty(0, dtype=np.int64)
    if finite.size > k:
        finite = finite[np.argpartition(-scores[finite], k - 1)[:k]]
    return finite[np.lexsort((finite, -scores[finite]))]


def zscore(scores: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` in float64 (all zeros when every score is equal), so that no part
    of a blend wins by scale alone."""
    x = np.asarray(scores, dtype=np.float64)
    if x.size == 0:
        return x
    std = x.std()
    return (x - x.mean()) / std if std > 0 else np.zeros_like(x)
