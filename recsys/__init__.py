"""The recommender-systems library behind the site: plain Python, NumPy and Keras; never Django.

Layers, each importing only those above it:

* ``recsys.primitives``, ``recsys.protocol``: top-k, z-scores, and the Scorer contract.
* ``recsys.data``: MovieLens files (every release), ids <-> rows, titles, splits.
* ``recsys.ncf``: the NeuMF model (Keras training, NumPy serving, fold-in, artifacts).
* ``recsys.baselines``: popularity, damped mean, item-kNN, biased MF, EASE.
* ``recsys.content``: movie texts, sentence embeddings and TF-IDF, genre embeddings.
* ``recsys.ranking``: the ranker the site serves (NCF + EASE + content + popularity) and the
  tuning of its weights on validation people.
* ``recsys.evaluation``: metrics and the harness that measures every scorer, the ranker included.
"""
import os as _os

# TensorFlow's C++ side prints INFO lines (CPU features, oneDNN) on import and during training,
# which flood `make run`'s console. It reads this variable once, when it is first imported, and
# only recsys imports it, so it is set here: INFO is hidden, warnings and errors still show.
# A value already in the environment wins (TF_CPP_MIN_LOG_LEVEL=0 brings everything back).
TF_LOG_LEVEL = "1"
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_LOG_LEVEL)
