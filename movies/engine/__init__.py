"""The site's door to the recommender (``recommender``), the content index glue (``content``),
the sentences of reasons (``reasons``), visitors' ratings as training data and retraining
while serving. Views, the API and commands reach ``recsys``' model and ranker only through here."""
