"""The MovieLens catalog (movies, genres, tags, historical ratings) and visitors' own feedback."""
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from recsys.data.titles import natural_title

# Ratings are half stars from 0.5 to 5.0, as in MovieLens.
RATING_VALUES = tuple(step / 2 for step in range(1, 11))
RATING_MIN = RATING_VALUES[0]
RATING_MAX = RATING_VALUES[-1]


def valid_rating_q(field: str = "rating") -> Q:
    return Q(**{f"{field}__in": RATING_VALUES})


class Genre(models.Model):
    name = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class MovieQuerySet(models.QuerySet):
    def with_poster(self):
        return self.exclude(poster_path="")

    def popular(self):
        return self.order_by("-rating_count", "id")


class Movie(models.Model):
    class TmdbStatus(models.TextChoices):
        NOT_FETCHED = "", "Not fetched"
        FOUND = "found", "Found"
        NOT_FOUND = "not_found", "Not found on TMDB"
        FAILED = "failed", "Failed (will retry)"

    # The primary key is MovieLens' own movieId, so ids match the dataset everywhere.
    id = models.PositiveIntegerField("MovieLens id", primary_key=True)
    title = models.CharField(max_length=300, db_index=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True)
    genres = models.ManyToManyField(Genre, related_name="movies", blank=True)
    imdb_id = models.PositiveIntegerField("IMDb id", null=True, blank=True, db_index=True)
    tmdb_id = models.PositiveIntegerField("TMDB id", null=True, blank=True, db_index=True)
    rating_count = models.PositiveIntegerField(default=0, db_index=True)
    rating_mean = models.FloatField(null=True, blank=True)

    # Filled from TMDB by `manage.py fetch_tmdb`; blank until then.
    poster_path = models.CharField(max_length=200, blank=True)
    overview = models.TextField(blank=True)
    release_date = models.DateField(null=True, blank=True)
    runtime = models.PositiveSmallIntegerField(null=True, blank=True)
    original_language = models.CharField(max_length=12, blank=True)
    tmdb_status = models.CharField(max_length=12, choices=TmdbStatus.choices, blank=True, default="")
    tmdb_fetched_at = models.DateTimeField(null=True, blank=True)

    objects = MovieQuerySet.as_manager()

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return f"{self.display_title} ({self.year})" if self.year else self.display_title

    def get_absolute_url(self):
        return reverse("movies:movie_detail", args=[self.id])

    @property
    def display_title(self) -> str:
        """The title people read ("The Matrix"); ``title`` keeps MovieLens' own ("Matrix, The")."""
        return natural_title(self.title)

    @property
    def imdb_url(self) -> str:
        return f"https://www.imdb.com/title/tt{self.imdb_id:07d}/" if self.imdb_id else ""

    @property
    def tmdb_url(self) -> str:
        return f"https://www.themoviedb.org/movie/{self.tmdb_id}" if self.tmdb_id else ""


class Tag(models.Model):
    """A MovieLens user's free-text tag on a movie (historical, read-only)."""

    user_id = models.PositiveIntegerField("MovieLens user id")
    movie = models.ForeignKey(Movie, on_delete=models.CASCADE, related_name="tags")
    tag = models.CharField(max_length=300)
    timestamp = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "movie", "tag"], name="tag_unique_per_user_movie"),
        ]

    def __str__(self):
        return self.tag


class Rating(models.Model):
    """A historical MovieLens rating (read-only; the model is trained on these)."""

    user_id = models.PositiveIntegerField("MovieLens user id", db_index=True)
    movie = models.ForeignKey(Movie, on_delete=models.CASCADE, related_name="ratings")
    rating = models.FloatField()
    timestamp = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "movie"], name="rating_one_per_user_movie"),
            models.CheckConstraint(condition=valid_rating_q(), name="rating_half_stars_0_5_to_5"),
        ]

    def __str__(self):
        return f"user {self.user_id} rated {self.movie_id}: {self.rating}"


class Visitor(models.Model):
    """A person using the site: anonymous (tied to a session) or signed in (tied to an account)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="visitor"
    )
    # SHA-256 of the session key an anonymous visitor was created for. Unique, so two first writes
    # racing from one new session get the same row; a hash, so the table holds no live session keys.
    session_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"visitor {self.id} ({self.user or 'anonymous'})"


class VisitorRating(models.Model):
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="ratings")
    movie = models.ForeignKey(Movie, on_delete=models.CASCADE, related_name="visitor_ratings")
    rating = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visitor", "movie"], name="visitor_rating_one_per_movie"),
            models.CheckConstraint(condition=valid_rating_q(), name="visitor_rating_half_stars"),
        ]

    def __str__(self):
        return f"{self.visitor_id} rated {self.movie_id}: {self.rating}"


class VisitorMovieFlag(models.Model):
    """A movie a visitor skipped ("haven't seen it") or hid ("not interested")."""

    class Kind(models.TextChoices):
        SKIPPED = "skipped", "Haven't seen it"
        HIDDEN = "hidden", "Not interested"

    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="flags")
    movie = models.ForeignKey(Movie, on_delete=models.CASCADE, related_name="visitor_flags")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visitor", "movie", "kind"], name="visitor_flag_unique"),
        ]

    def __str__(self):
        return f"{self.visitor_id} {self.kind} {self.movie_id}"
