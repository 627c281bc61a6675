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
