"""Outside data: MovieLens downloads and imports, TMDB posters and details."""
