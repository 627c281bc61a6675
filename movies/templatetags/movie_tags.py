"""Template helpers for movie cards: poster URLs, placeholder colours, half-star steps."""
import zlib

from django import template

from movies.integrations.tmdb.client import poster_url as tmdb_poster_url
from movies.models import RATING_VALUES

register = template.Library()

# Placeholder posters take a hue from the movie's most telling genre. The order puts distinctive
# genres first, so "Animation|Comedy" is coloured as animation rather than as comedy.
GENRE_HUES = {
    "Animation": 195, "Documentary": 160, "Film-Noir": 225, "Western": 32, "War": 95,
    "Musical": 315, "Horror": 352, "Sci-Fi": 182, "Fantasy": 280, "Children": 48,
    "Mystery": 245, "Crime": 10, "Romance": 334, "Thriller": 18, "Adventure": 140,
    "Action": 4, "Comedy": 42, "Drama": 262, "IMAX": 205,
}


@register.simple_tag
def poster_url(movie, size: str = "w342") -> str:
    """The TMDB poster URL for a movie, or "" when it has none (the template draws a placeholder)."""
    return tmdb_poster_url(movie, size=size)


def primary_genre(movie) -> str:
    names = [genre.name for genre in movie.genres.all()]
    for name in GENRE_HUES:
        if name in names:
            return name
    return names[0] if names else ""


@register.filter
def genre_hue(movie) -> int:
    """A colour hue (0-359) for the movie's placeholder poster."""
    name = primary_genre(movie)
    if name in GENRE_HUES:
        return GENRE_HUES[name]
    return zlib.crc32((name or movie.title).encode("utf-8")) % 360


@register.filter
def genre_names(movie) -> list[str]:
    return [genre.name for genre in movie.genres.all() if genre.name != "(no genres listed)"]


@register.simple_tag
def rating_steps():
    """[(value "4.5", label "4.5 stars", half "left"/"right"), ...] from 0.5 to 5.0."""
    return [
        (f"{value:.1f}", f"{value:g} star" if value == 1 else f"{value:g} stars", "left" if value % 1 else "right")
        for value in RATING_VALUES
    ]


@register.filter
def rating_value(value) -> str:
    """A stored rating as the radio value it matches ("4.5"), or ""."""
    if value is None or value == "":
        return ""
    try:
        return f"{float(value):.1f}"
    except (TypeError, ValueError):
        return ""


@register.filter
def stars_percent(value) -> str:
    """A 0-5 star value as a percentage of five, for the predicted-stars meter."""
    try:
        return f"{max(0.0, min(5.0, float(value))) * 20:.0f}"
    except (TypeError, ValueError):
        return "0"
