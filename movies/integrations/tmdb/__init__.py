"""TMDB: the HTTP client (``client``) and the batch fetch of posters and details (``services``)."""
