"""The analytics page: charts of the catalog, the ratings, the model and the evaluation."""
