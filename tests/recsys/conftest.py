"""Fixtures of the NCF engine tests: a tiny ratings frame with obvious structure, tiny configs."""
import socket
from contextlib import ExitStack

import numpy as np
import pandas as pd
import pytest

from recsys.ncf.config import NCFConfig

N_USERS, N_MOVIES = 30, 40


def structured_ratings(seed: int = 0) -> pd.DataFrame:
    """30 users x 40 movies in two camps: users 1-15 love movies 1-20 and dislike 21-40, users
    16-30 the reverse. Each user rates 60% of the movies; movie ids are 1..40, user ids 1..30."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(1, N_USERS + 1):
        camp = 0 if user <= N_USERS // 2 else 1
        for movie in range(1, N_MOVIES + 1):
            if rng.random() > 0.6:
                continue
            liked = (movie <= N_MOVIES // 2) == (camp == 0)
            stars = rng.choice([4.0, 4.5, 5.0]) if liked else rng.choice([1.0, 1.5, 2.0])
            rows.append((user, movie, float(stars), 1_000_000 + len(rows)))
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "timestamp"]).astype(
        {"user_id": np.int32, "movie_id": np.int32, "rating": np.float32, "timestamp": np.int64})


def tiny_config(**overrides) -> NCFConfig:
    values = {"embedding_dim": 8, "layers": (16, 8), "dropout": 0.0, "batch_size": 64, "epochs": 8, "patience": 3,
                  "learning_rate": 0.01, "validation_fraction": 0.1, "seed": 7}
    values.update(overrides)
    return NCFConfig(**values)


def write_structured_dataset(directory, seed: int = 0):
    """The structured ratings as a MovieLens CSV release (ratings.csv + movies.csv)."""
    directory.mkdir(parents=True, exist_ok=True)
    frame = structured_ratings(seed)
    frame.rename(columns={"user_id": "userId", "movie_id": "movieId"}).to_csv(directory / "ratings.csv", index=False)
    movies = pd.DataFrame({"movieId": range(1, N_MOVIES + 1),
                           "title": [f"Movie {k} (2000)" for k in range(1, N_MOVIES + 1)],
                           "genres": ["Drama" if k <= N_MOVIES // 2 else "Comedy" for k in range(1, N_MOVIES + 1)]})
    movies.to_csv(directory / "movies.csv", index=False)
    return directory


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (for TF_CONFIG clusters on loopback)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(n)]
        for sock in sockets:  # held open together, so no port comes back twice
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@pytest.fixture(scope="session")
def structured_frame() -> pd.DataFrame:
    return structured_ratings()


@pytest.fixture(scope="session")
def trained_tiny(structured_frame):
    """One implicit-mode model trained on the structured frame, shared by the tests that only read it."""
    from recsys.ncf.training import train

    return train(structured_frame, tiny_config())
