"""Hyper-parameters of the NeuMF engine, as one dataclass saved beside the weights."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields

#: Bump when a change to the model, the training or the export makes old artifacts wrong
#: (ncf-5: lazy Adam and a batch chosen from the data's size train a different model; ncf-6: the
#: artifact holds the biased MF whose stars are averaged with the NCF's, and the fused XLA step
#: draws dropout's masks from another random stream; ncf-7: the artifact holds the successor
#: model of :mod:`recsys.sequence`; ncf-8: it holds the liked counts of new people's popularity).
CODE_VERSION = "ncf-8"

MODE_REGRESSION = "regression"  # seed 003: MSE on stars only; ranked by predicted stars
MODE_IMPLICIT = "implicit"  # every rated movie is a positive, sampled unrated movies negatives
MODE_HARD_NEGATIVES = "hard-negatives"  # seed 000's labels from the stars + sampled negatives
MODES = (MODE_REGRESSION, MODE_IMPLICIT, MODE_HARD_NEGATIVES)

FOLDIN_FIT = "fit"
FOLDIN_AVERAGE = "average"
FOLDINS = (FOLDIN_FIT, FOLDIN_AVERAGE)


#: The automatic batch: this many rows at least, doubled while an epoch would still have at least
#: AUTO_BATCH_STEPS steps at the doubled size, up to AUTO_BATCH_MAX rows.
AUTO_BATCH_MIN = 2048
AUTO_BATCH_STEPS = 1000
AUTO_BATCH_MAX = 16384


def auto_batch_size(n_examples: int) -> int:
    """The batch for an epoch of ``n_examples`` rows when the config leaves it to the data.

    A training step costs a fixed few milliseconds of TensorFlow overhead plus a cost per row, so
    a bigger batch trains more rows a second; but with fewer steps an epoch also learns less,
    and on ml-latest-small (~250 steps of 2,048 an epoch) a batch of 8,192 ends at a worse
    validation loss (docs/production.md). So small data keeps 2,048 rows, and the batch
    doubles only while an epoch would still have at least ``AUTO_BATCH_STEPS`` steps at the
    doubled size: 2,048 for ml-latest-small, 8,192 for 2.5M ratings (~1,400 steps an epoch),
    16,384 from about 3.3M ratings on (ml-25m: ~7,000 steps an epoch).
    """
    batch = AUTO_BATCH_MIN
    while batch < AUTO_BATCH_MAX and n_examples >= 2 * batch * AUTO_BATCH_STEPS:
        batch *= 2
    return batch


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
    batch_size: int = 0  # 0: chosen from the epoch's size (auto_batch_size); else this many rows
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
        if self.epochs < 1 or self.batch_size < 0 or self.negatives_per_positive < 0:
            raise ValueError("epochs must be positive, batch_size >= 0 (0: auto), negatives_per_positive >= 0")
        if not 0.0 <= self.dropout < 1.0 or not 0.0 <= self.validation_fraction < 0.5:
            raise ValueError("dropout must be in [0, 1) and validation_fraction in [0, 0.5)")

    def batch_size_for(self, n_examples: int) -> int:
        """The batch an epoch of ``n_examples`` rows trains with: ``batch_size``, or when it is 0
        :func:`auto_batch_size`."""
        return self.batch_size or auto_batch_size(n_examples)

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
