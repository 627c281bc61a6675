"""The ranker the site serves (``ranker``) and the tuning of its weights (``tuning``)."""
