"""Training examples for the NeuMF heads: labels from the stars and sampled unrated movies.

Seed 000's labelling (mode ``hard-negatives``): a rating >= 4 is a hard positive, >= 3 a soft
positive, 2 to < 3 a soft negative and <= 1 a hard negative (1.5 counts as hard too: it is
nearer 1 than 2). Soft labels count half. Every positive brings ``negatives_per_positive``
movies the person never rated, labelled 0.

Mode ``implicit`` treats every rated movie as a positive (having chosen to watch a film says
more about what someone will watch next than the stars do) and samples negatives the same way.
Mode ``regression`` makes no ranking examples at all.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys.ncf.config import MODE_HARD_NEGATIVES, MODE_IMPLICIT, MODE_REGRESSION

SOFT_WEIGHT = 0.5


@dataclass
class Examples:
    """One epoch of training rows (parallel arrays)."""

    users: np.ndarray  # int32 rows
    items: np.ndarray  # int32 rows
    rank_label: np.ndarray  # float32 0/1
    rank_weight: np.ndarray  # float32, 0 where the row does not train the ranking head
    rating: np.ndarray  # float32 stars (0 for sampled negatives)
    rating_weight: np.ndarray  # float32, 1 for rated rows, 0 for sampled negatives

    def __len__(self) -> int:
        return len(self.users)

    def targets(self) -> np.ndarray:
        """(n, 4) float32 matrix the training loss unpacks."""
        return np.stack([self.rank_label, self.rank_weight, self.rating, self.rating_weight], axis=1)

    def take(self, order: np.ndarray) -> Examples:
        return Examples(*(getattr(self, name)[order] for name in
                          ("users", "items", "rank_label", "rank_weight", "rating", "rating_weight")))


def seed_labels(ratings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seed 000's label and weight for each star value.

    Returns:
        (label, weight): label 1 for ratings >= 3, else 0; weight 1 for hard (>= 4 or < 2),
        0.5 for soft (3 to < 4, 2 to < 3).
    """
    ratings = np.asarray(ratings, dtype=np.float32)
    label = (ratings >= 3.0).astype(np.float32)
    hard = (ratings >= 4.0) | (ratings < 2.0)
    weight = np.where(hard, 1.0, SOFT_WEIGHT).astype(np.float32)
    return label, weight


def sample_unrated(
    users: np.ndarray, n_items: int, rated_keys: np.ndarray, rng: np.random.Generator,
    item_probs: np.ndarray | None = None, rounds: int = 20,
) -> np.ndarray:
    """One movie per entry of ``users`` that this user has not rated.

    Args:
        users: user rows, one sample per entry.
        n_items: catalog size.
        rated_keys: sorted int64 ``user * n_items + item`` of every rated pair.
        rng: the random generator (explicit, for reproducibility).
        item_probs: sampling distribution over movies; None for uniform.
        rounds: vectorised redraws for samples that hit a rated movie (each round checks only
            the samples just redrawn, so rounds are cheap); the few left after that (people who
            rated most of the catalog) are drawn per person from their unrated movies (kept
            only when the person rated the whole catalog).
    Returns:
        int32 item rows.
    """
    users = np.asarray(users, dtype=np.int64)

    def draw(size: int) -> np.ndarray:
        if item_probs is None:
            return rng.integers(0, n_items, size=size)
        return rng.choice(n_items, size=size, p=item_probs)

    def rated(rows: np.ndarray) -> np.ndarray:
        keys = users[rows] * n_items + items[rows]
        pos = np.searchsorted(rated_keys, keys)
        return (pos < len(rated_keys)) & (rated_keys[np.minimum(pos, len(rated_keys) - 1)] == keys)

    items = draw(len(users))
    # Only redrawn samples are checked again: the others are already known to be unrated.
    todo = np.arange(len(users))
    for _ in range(rounds):
        todo = todo[rated(todo)]
        if not todo.size:
            break
        items[todo] = draw(todo.size)
    else:
        todo = todo[rated(todo)]
        # One set difference per person, not per sample (todo is in ascending order).
        for user in np.unique(users[todo]):
            rows = todo[users[todo] == user]
            lo, hi = np.searchsorted(rated_keys, [user * n_items, (user + 1) * n_items])
            free = np.setdiff1d(np.arange(n_items), rated_keys[lo:hi] - user * n_items, assume_unique=True)
            if free.size:
                p = None if item_probs is None else item_probs[free] / item_probs[free].sum()
                items[rows] = rng.choice(free, size=rows.size, p=p)
    return items.astype(np.int32)


def rated_pair_keys(users: np.ndarray, items: np.ndarray, n_items: int) -> np.ndarray:
    return np.unique(np.asarray(users, np.int64) * n_items + np.asarray(items, np.int64))


def popularity_probs(items: np.ndarray, n_items: int, alpha: float) -> np.ndarray | None:
    """count**alpha sampling distribution over movies (None when alpha is 0: uniform)."""
    if alpha == 0:
        return None
    counts = np.bincount(items, minlength=n_items).astype(np.float64) + 1.0
    probs = counts ** alpha
    return probs / probs.sum()


def build_examples(
    users: np.ndarray, items: np.ndarray, ratings: np.ndarray, *, n_items: int, mode: str,
    negatives_per_positive: int, rng: np.random.Generator, rated_keys: np.ndarray | None = None,
    item_probs: np.ndarray | None = None,
) -> Examples:
    """Rows for one epoch: the rated pairs plus freshly sampled unrated ones.

    Args:
        users, items, ratings: the training ratings as rows and stars.
        n_items: catalog size.
        mode: ``regression``, ``implicit`` or ``hard-negatives``.
        negatives_per_positive: unrated movies sampled per positive.
        rng: random generator; a new draw each epoch gives fresh negatives.
        rated_keys: from ``rated_pair_keys`` (computed when omitted).
        item_probs: negative sampling distribution (None: uniform).
    Returns:
        Examples, rated rows first, then the sampled negatives.
    """
    users = np.asarray(users, dtype=np.int32)
    items = np.asarray(items, dtype=np.int32)
    ratings = np.asarray(ratings, dtype=np.float32)
    n = len(users)
    ones = np.ones(n, dtype=np.float32)
    if mode == MODE_REGRESSION:
        return Examples(users, items, np.zeros(n, np.float32), np.zeros(n, np.float32), ratings, ones)
    if mode == MODE_IMPLICIT:
        label, weight = ones.copy(), ones.copy()
    elif mode == MODE_HARD_NEGATIVES:
        label, weight = seed_labels(ratings)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    positive_users = users[label == 1]
    neg_users = np.repeat(positive_users, negatives_per_positive)
    if rated_keys is None:
        rated_keys = rated_pair_keys(users, items, n_items)
    neg_items = sample_unrated(neg_users, n_items, rated_keys, rng, item_probs)
    m = len(neg_users)
    zeros = np.zeros(m, dtype=np.float32)
    return Examples(
        users=np.concatenate([users, neg_users.astype(np.int32)]),
        items=np.concatenate([items, neg_items]),
        rank_label=np.concatenate([label, zeros]),
        rank_weight=np.concatenate([weight, np.ones(m, np.float32)]),
        rating=np.concatenate([ratings, zeros]),
        rating_weight=np.concatenate([ones, zeros]),
    )


# --- One epoch, streamed ---------------------------------------------------
# Materialising an epoch (the rated rows, negatives_per_positive sampled rows per positive, and a
# shuffled copy of it all) costs ~24 bytes a row twice over: ~5.6 GB for ml-25m's ~117M rows.
# The functions below make the same kind of epoch a chunk at a time: the rated rows are shuffled
# once (a permutation of the ratings, not of the examples), each chunk of them brings its fresh
# negatives and is shuffled within itself, and the rows are handed on in whole batches.

#: Rated rows per chunk: with 4 negatives each, a chunk is ~5x this many examples (~12 MB).
CHUNK_RATINGS = 100_000


def epoch_size(ratings: np.ndarray, *, mode: str, negatives_per_positive: int) -> int:
    """How many examples ``build_examples`` (or ``epoch_chunks``) makes of these ratings."""
    ratings = np.asarray(ratings, dtype=np.float32)
    if mode == MODE_REGRESSION:
        return len(ratings)
    positives = len(ratings) if mode == MODE_IMPLICIT else int(np.count_nonzero(seed_labels(ratings)[0] == 1))
    return len(ratings) + positives * negatives_per_positive


def epoch_chunks(
    users: np.ndarray, items: np.ndarray, ratings: np.ndarray, *, n_items: int, mode: str,
    negatives_per_positive: int, rng: np.random.Generator, rated_keys: np.ndarray,
    item_probs: np.ndarray | None = None, chunk_ratings: int = CHUNK_RATINGS,
):
    """One epoch of shuffled training rows, a chunk at a time, never the whole epoch at once.

    The rated rows are visited in a random order; each run of ``chunk_ratings`` of them is
    turned into examples with fresh negatives (``build_examples``) and shuffled. Memory is
    proportional to ``chunk_ratings``, not to the epoch.

    Args:
        users, items, ratings: the training ratings as rows and stars.
        n_items, mode, negatives_per_positive, rated_keys, item_probs: as for ``build_examples``.
        rng: random generator; all of the epoch's randomness is drawn from it, in order.
        chunk_ratings: rated rows per chunk.
    Yields:
        Examples, shuffled within the chunk; ``epoch_size`` rows in all.
    """
    n = len(users)
    order = rng.permutation(n)
    for start in range(0, n, chunk_ratings):
        rows = np.sort(order[start:start + chunk_ratings])  # sorted: cache-friendly gathers
        chunk = build_examples(users[rows], items[rows], ratings[rows], n_items=n_items, mode=mode,
                               negatives_per_positive=negatives_per_positive, rng=rng,
                               rated_keys=rated_keys, item_probs=item_probs)
        yield chunk.take(rng.permutation(len(chunk)))


def epoch_blocks(chunks, block_rows: int):
    """Re-cut a stream of Examples into ``(users, items, targets)`` blocks of exactly
    ``block_rows`` rows (the last one shorter), carrying the remainder of a chunk over.

    Training uses ``block_rows`` = the batch size: every block is one batch, the same batches
    as cutting the whole epoch.
    """
    pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    held = 0
    for chunk in chunks:
        pending.append((chunk.users, chunk.items, chunk.targets()))
        held += len(chunk)
        if held < block_rows:
            continue
        users, items, targets = (np.concatenate(parts) for parts in zip(*pending))
        cut = (held // block_rows) * block_rows
        for start in range(0, cut, block_rows):
            yield users[start:start + block_rows], items[start:start + block_rows], targets[start:start + block_rows]
        pending = [(users[cut:], items[cut:], targets[cut:])] if cut < held else []
        held -= cut
    if held:
        yield tuple(np.concatenate(parts) for parts in zip(*pending))
