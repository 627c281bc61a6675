"""The staff admin: the catalog (movies, genres) and the read-only history (ratings, tags, visitors).

Historical MovieLens data and visitors' feedback are never edited by hand here: the importer and
the site own them, so those admins grant view permission only.
"""
from datetime import UTC, datetime

from django.contrib import admin
from django.db.models import Count, Q
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html, format_html_join

from movies.integrations.tmdb.client import poster_url
from movies.models import RATING_VALUES, Genre, Movie, Rating, Tag, Visitor, VisitorMovieFlag, VisitorRating
from movies.parsing import parse_int
from movies.selectors import movie_search

# Title searches also take the site search's best matches for the natural title.
ADMIN_SEARCH_LIMIT = 100

TAGS_SHOWN = 50


def _when(timestamp: int | None) -> str:
    """A MovieLens time (seconds since 1970, UTC) as people read it: "2015-03-31 06:40 UTC"."""
    if timestamp is None:
        return "—"
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


class ReadOnlyAdminMixin:
    """View permission only: rows come from imports or from visitors, not from staff."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DecadeListFilter(admin.SimpleListFilter):
    title = "decade"
    parameter_name = "decade"

    def lookups(self, request, model_admin):
        # One query for the range; every decade in it is offered, oldest last.
        years = Movie.objects.filter(year__isnull=False).values_list("year", flat=True)
        first, last = years.order_by("year").first(), years.order_by("-year").first()
        if first is None:
            return []
        return [(str(decade), f"{decade}s") for decade in range(last - last % 10, first - first % 10 - 1, -10)]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        try:
            decade = int(self.value())
        except ValueError:
            return queryset.none()
        return queryset.filter(year__gte=decade, year__lte=decade + 9)


class HasPosterListFilter(admin.SimpleListFilter):
    title = "poster"
    parameter_name = "has_poster"

    def lookups(self, request, model_admin):
        return [("yes", "Has a poster"), ("no", "No poster")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.with_poster()
        if self.value() == "no":
            return queryset.filter(poster_path="")
        return queryset


class LimitedTagFormSet(BaseInlineFormSet):
    def get_queryset(self):
        # Popular movies carry hundreds of tags; the page shows the newest few.
        return super().get_queryset().order_by("-timestamp", "id")[:TAGS_SHOWN]


class TagInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Tag
    formset = LimitedTagFormSet
    fields = ["tag", "user_id", "tagged_at"]
    readonly_fields = fields
    extra = 0
    verbose_name_plural = f"tags (newest {TAGS_SHOWN})"

    @admin.display(description="Tagged")
    def tagged_at(self, tag):
        return _when(tag.timestamp)


@admin.register(Movie)
class MovieAdmin(admin.ModelAdmin):
    list_display = ["poster_thumbnail", "display_title", "title", "year", "genre_names", "rating_count",
                    "mean_rating"]
    list_display_links = ["display_title"]
    list_filter = ["genres", DecadeListFilter, HasPosterListFilter, "tmdb_status"]
    search_fields = ["title"]
    search_help_text = "Title, or a MovieLens, IMDb (tt0114709) or TMDB id."
    list_per_page = 50
    show_full_result_count = False
    ordering = ["-rating_count", "id"]
    filter_horizontal = ["genres"]
    readonly_fields = [
        "id", "display_title", "poster_preview", "imdb_link", "tmdb_link", "rating_count", "mean_rating",
        "rating_histogram",
        "tmdb_status", "tmdb_fetched_at",
    ]
    fieldsets = [
        (None, {"fields": ["id", "display_title", "title", "year", "genres", "poster_preview"]}),
        ("Links", {"fields": [("imdb_id", "imdb_link"), ("tmdb_id", "tmdb_link")]}),
        ("Ratings", {"fields": ["rating_count", "mean_rating", "rating_histogram"]}),
        ("TMDB", {"classes": ["collapse"], "fields": [
            "poster_path", "overview", "release_date", "runtime", "original_language", "tmdb_status",
            "tmdb_fetched_at"]}),
    ]
    inlines = [TagInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("genres")

    def get_search_results(self, request, queryset, search_term):
        # A number may be a MovieLens, IMDb or TMDB id ("tt0114709" is an IMDb id) as well as
        # part of a title; the filters already applied to ``queryset`` still hold.
        term = search_term.strip()
        digits = term.lower().removeprefix("tt")
        number = parse_int(digits, low=1, high=2**31 - 1)
        if number is None:
            # The title as stored ("Matrix, The") or as people write it ("The Matrix").
            results, duplicates = super().get_search_results(request, queryset, search_term)
            if not term:
                return results, duplicates
            natural = [movie.id for movie in movie_search(query=term, limit=ADMIN_SEARCH_LIMIT)]
            return queryset.filter(Q(pk__in=results.values("pk")) | Q(pk__in=natural)), duplicates
        if term.lower().startswith("tt"):
            return queryset.filter(imdb_id=number), False
        ids = Q(pk=number) | Q(imdb_id=number) | Q(tmdb_id=number) | Q(title__icontains=term)
        return queryset.filter(ids), False

    @admin.display(description="Title", ordering="title")
    def display_title(self, movie):
        return movie.display_title

    @admin.display(description="Poster")
    def poster_thumbnail(self, movie):
        if movie.poster_path:
            return format_html(
                '<img src="{}" alt="" width="46" height="69" loading="lazy" style="object-fit:cover">',
                poster_url(movie, size="w92"),
            )
        return format_html(
            '<span title="No poster" style="display:inline-block;width:46px;height:69px;background:#ddd;'
            'color:#777;text-align:center;line-height:69px">{}</span>', "—",
        )

    @admin.display(description="Genres")
    def genre_names(self, movie):
        # Reads the prefetched genres: no query per row.
        return ", ".join(genre.name for genre in movie.genres.all())

    @admin.display(description="Mean rating", ordering="rating_mean")
    def mean_rating(self, movie):
        return "—" if movie.rating_mean is None else f"{movie.rating_mean:.2f}"

    @admin.display(description="Poster")
    def poster_preview(self, movie):
        return self.poster_thumbnail(movie)

    @admin.display(description="IMDb")
    def imdb_link(self, movie):
        if not movie.imdb_url:
            return "—"
        return format_html('<a href="{0}" rel="noopener" target="_blank">{0}</a>', movie.imdb_url)

    @admin.display(description="TMDB")
    def tmdb_link(self, movie):
        if not movie.tmdb_url:
            return "—"
        return format_html('<a href="{0}" rel="noopener" target="_blank">{0}</a>', movie.tmdb_url)

    @admin.display(description="Histogram")
    def rating_histogram(self, movie):
        if movie.pk is None:
            return "—"
        counts = Rating.objects.filter(movie=movie).aggregate(
            **{f"stars_{index}": Count("id", filter=Q(rating=value)) for index, value in enumerate(RATING_VALUES)}
        )
        counts = [counts[f"stars_{index}"] for index in range(len(RATING_VALUES))]
        tallest = max(counts) or 1
        bars = format_html_join(
            "",
            '<div style="display:flex;align-items:center;gap:6px;font-size:11px">'
            '<span style="width:2.5em;text-align:right">{}</span>'
            '<span class="histogram-bar" style="display:inline-block;height:10px;width:{}px;background:#79aec8">'
            '</span><span>{}</span></div>',
            ((f"{value:g}★", round(200 * count / tallest), count) for value, count in zip(RATING_VALUES, counts)),
        )
        return format_html('<div class="rating-histogram">{}</div>', bars)


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ["name", "movie_count"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(movie_count=Count("movies"))

    @admin.display(description="Movies", ordering="movie_count")
    def movie_count(self, genre):
        return genre.movie_count


@admin.register(Rating)
class RatingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "user_id", "movie", "rating", "rated_at"]
    list_select_related = ["movie"]
    list_filter = ["rating"]
    search_fields = ["=user_id", "=movie__id"]
    search_help_text = "A MovieLens user id or movie id."
    show_full_result_count = False

    @admin.display(description="Rated", ordering="timestamp")
    def rated_at(self, rating):
        return _when(rating.timestamp)


@admin.register(Tag)
class TagAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["tag", "user_id", "movie", "tagged_at"]
    list_select_related = ["movie"]
    search_fields = ["tag", "=user_id"]
    show_full_result_count = False

    @admin.display(description="Tagged", ordering="timestamp")
    def tagged_at(self, tag):
        return _when(tag.timestamp)


@admin.register(Visitor)
class VisitorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "user", "created_at", "updated_at"]
    list_select_related = ["user"]
    search_fields = ["=id", "user__username"]


@admin.register(VisitorRating)
class VisitorRatingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["visitor", "movie", "rating", "updated_at"]
    list_select_related = ["visitor__user", "movie"]
    list_filter = ["rating"]


@admin.register(VisitorMovieFlag)
class VisitorMovieFlagAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["visitor", "movie", "kind", "created_at"]
    list_select_related = ["visitor__user", "movie"]
    list_filter = ["kind"]
