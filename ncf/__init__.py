"""The recommender: MovieLens data, Keras NCF training, NumPy serving, evaluation.

Plain Python (NumPy, pandas, Keras); it never imports Django. Values reach it as
arguments or config dataclasses.
"""
