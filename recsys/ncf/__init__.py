"""The NeuMF model (He et al. 2017): configuration, Keras training (tf.distribute too), NumPy
serving and new-user fold-in, and the checksummed artifacts the site loads."""
