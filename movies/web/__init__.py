"""Browser pages: the rating grid, recommendations, search, movie pages, accounts."""
