"""Hyper-parameters of the NeuMF engine, as one dataclass saved beside the weights."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields

#: Bump when a change to the model, the training or the export makes old artifacts wrong
#: (ncf-4: artifacts carry the product's EASE part and rating counts, so the site retrains once).
CODE_VERSION = "ncf-4"

MODE_REGRESSION = "regression"  # seed 003: MSE on stars only; ranked by predicted stars
MODE_IMPLICIT = "implicit"  # every rated movie is a positive, sampled unrated movies negatives
MODE_HARD_NEGATIVES = "hard-negatives"  # seed 000's labels from the stars + sampled negatives
MODES = (MODE_REGRESSION, MODE_IMPLICIT, MODE_HARD_NEGATIVES)

FOLDIN_FIT = "fit"
FOLDIN_AVERAGE = "average"
FOLDINS = (FOLDIN_FIT, FOLDIN_AVERAGE)


@dataclass
class NCFConfig:
    """Everything that decides what a trained model is.

    The ranking head is trained with binary cross-entropy on sampled negatives (modes
    ``implicit`` and ``hard-negatives``); the rating head with MSE on the stars in every mode.
    """

    embedding_dim: int = 32
    layers: tuple[int, ...] = (64, 32, 16)
    dropout: float = 0.1
    l2: float = 1e-2  # L2 on the embedding rows a batch looks up (mean over the batch)
    learning_rate: float = 3e-3
    batch_size: int = 2048
    epochs: int = 20
    patience: int = 2  # early stopping: epochs without validation improvement
    validation_fraction: float = 0.05  # carved from the training ratings, never the test data
    mode: str = MODE_IMPLICIT
    negatives_per_positive: int = 4
    negative_sampling_alpha: float = 0.0  # 0 = uniform unrated movies, 0.75 = word2vec-like popularity
    rating_loss_weight: float = 0.5  # weight of the star MSE next to the ranking BCE
    seed: int = 42
    # New-user fold-in (serving only; does not change the trained weights).
    foldin: str = FOLDIN_FIT
    foldin_steps: int = 5  # Gauss-Newton steps
    foldin_l2: float = 10.0  # pull of the fitted vector towards the mean training user
    foldin_negatives: int = 4  # sampled unrated movies per positive (at least 50 in all)
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.layers = tuple(int(x) for x in self.layers)
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.foldin not in FOLDINS:
            raise ValueError(f"foldin must be one of {', '.join(FOLDINS)}, not {self.foldin!r}")
        if self.embedding_dim < 1 or not self.layers or min(self.layers) < 1:
            raise ValueError("embedding_dim and every layer size must be positive")
        if self.epochs < 1 or self.batch_size < 1 or self.negatives_per_positive < 0:
            raise ValueError("epochs and batch_size must be positive, negatives_per_positive >= 0")
        if not 0.0 <= self.dropout < 1.0 or not 0.0 <= self.validation_fraction < 0.5:
            raise ValueError("dropout must be in [0, 1) and validation_fraction in [0, 0.5)")

    @property
    def ranks_by_stars(self) -> bool:
        return self.mode == MODE_REGRESSION

    def to_dict(self) -> dict:
        data = asdict(self)
        data["layers"] = list(self.layers)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> NCFConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def training_hash(self) -> str:
        """Hash of the fields that change the trained weights (fold-in settings excluded)."""
        data = self.to_dict()
        for key in ("foldin", "foldin_steps", "foldin_l2", "foldin_negatives"):
            data.pop(key)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
