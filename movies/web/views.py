"""Browser pages: the rating grid, recommendations, search, movie pages, start over, sign up.

Views are thin: parse a form, call a service (writes) or selector (reads), render. Every state
change is a POST with CSRF. A request sent by the page's script (header ``X-Requested-With: fetch``)
gets a fragment or JSON, and a 400 with a JSON error for bad input; a plain form post gets a
redirect back with a flashed message, so the whole flow also works with JavaScript off.
"""
from __future__ import annotations

import csv
import random

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from movies import rating_imports, selectors, services, sessions
from movies.integrations import rating_files
from movies.parsing import parse_int
from movies.web.forms import (
    AccountDeleteForm,
    MovieActionForm,
    RatingFileForm,
    RatingForm,
    SearchForm,
    SignupForm,
    StartOverForm,
)

# The grid's shuffle seed lives in the session so a reload shows the same cards (minus rated ones).
GRID_SEED_SESSION_KEY = "grid_seed"
MAX_SEED = 2**31 - 1
# The matched ratings of an uploaded file wait here (movie id, stars) until the person confirms.
IMPORT_SESSION_KEY = "ratings_import"
# The largest upload request read: the file's limit plus room for the form's other fields.
IMPORT_MAX_REQUEST_BYTES = rating_files.MAX_BYTES + 64 * 1024


def _is_fetch(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _visitor(request: HttpRequest):
    return services.visitor_get(session=request.session, user=request.user)


def _visitor_for_write(request: HttpRequest):
    return services.visitor_get_or_create(session=request.session, user=request.user)


def _seed_param(request: HttpRequest, default: int = 0) -> int:
    seed = parse_int(request.GET.get("seed", ""), low=0, high=MAX_SEED)
    return default if seed is None else seed


def _grid_seed(request: HttpRequest) -> int:
    seed = request.session.get(GRID_SEED_SESSION_KEY)
    if not isinstance(seed, int):
        seed = random.SystemRandom().randrange(MAX_SEED)
        request.session[GRID_SEED_SESSION_KEY] = seed
        if request.session.session_key is None and not request.user.is_authenticated:
            sessions.session_start_anonymous(session=request.session)
    return seed


def _same_site_path(target: str) -> bool:
    """A path on this site ("/search/?q=x"): no scheme, no host, no "//", no spaces or control characters."""
    return (target.startswith("/") and not target.startswith(("//", "/\\"))
            and target.isprintable() and " " not in target
            and url_has_allowed_host_and_scheme(target, allowed_hosts=set()))


def _back(request: HttpRequest, anchor: str = "") -> HttpResponseRedirect:
    """Redirect to the page the form came from (a same-site ``next``), else home.

    Built with HttpResponseRedirect, not redirect(): redirect() would treat "home" or "abc" as a
    URL name to reverse and fail with NoReverseMatch after the rating was stored.
    """
    target = request.POST.get("next", "")
    if not _same_site_path(target):
        target = reverse("movies:home")
    return HttpResponseRedirect(target + anchor if anchor and "#" not in target else target)


def _first_error(form) -> str:
    for errors in form.errors.values():
        return errors[0]
    return "That request was not understood."


def _error(request: HttpRequest, message: str):
    if _is_fetch(request):
        return JsonResponse({"ok": False, "error": message}, status=400)
    messages.error(request, message)
    return _back(request)


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    state = selectors.visitor_state(visitor=_visitor(request))
    context = {
        "grid": selectors.movie_list_for_rating(state=state, seed=_grid_seed(request)),
        "panel": selectors.recommendations_for_visitor(state=state, seed=_seed_param(request)),
        "rated": selectors.rated_movies(state=state),
        "state": state,
        "min_ratings": settings.RECOMMENDATIONS_MIN_RATINGS,
    }
    return render(request, "movies/home.html", context)


@require_safe
def recommendations(request: HttpRequest) -> HttpResponse:
    """The recommendations panel alone, for the page's script to swap in after a rating."""
    state = selectors.visitor_state(visitor=_visitor(request))
    panel = selectors.recommendations_for_visitor(state=state, seed=_seed_param(request))
    if not _is_fetch(request):
        return redirect(f"{reverse('movies:home')}?seed={panel.seed}#recommendations")
    return render(request, "movies/_recommendations.html", {"panel": panel})


@require_POST
def rate(request: HttpRequest) -> HttpResponse:
    form = RatingForm(request.POST)
    if not form.is_valid():
        return _error(request, _first_error(form))
    movie_id = form.cleaned_data["movie_id"]
    visitor = _visitor_for_write(request)
    try:
        if form.cleaned_data["clear"]:
            services.rating_clear(visitor=visitor, movie_id=movie_id)
            stars = None
        else:
            record = services.rating_record(visitor=visitor, movie_id=movie_id, rating=form.cleaned_data["rating"])
            stars = record.rating
    except ValidationError as error:
        return _error(request, error.messages[0])
    state = selectors.visitor_state(visitor=visitor)
    if _is_fetch(request):
        return JsonResponse(
            {
                "ok": True,
                "movie_id": movie_id,
                "rating": stars,
                "rated_count": state.rated_count,
                "ratings_needed": max(0, settings.RECOMMENDATIONS_MIN_RATINGS - state.rated_count),
            }
        )
    if stars is None:
        messages.success(request, "Rating cleared.")
    else:
        messages.success(request, f"Rated {stars:g} stars.")
    return _back(request)


@require_POST
def skip(request: HttpRequest) -> HttpResponse:
    """'Haven't seen it': flag the movie and answer with the card that replaces it."""
    form = MovieActionForm(request.POST)
    if not form.is_valid():
        return _error(request, _first_error(form))
    visitor = _visitor_for_write(request)
    try:
        services.movie_skip(visitor=visitor, movie_id=form.cleaned_data["movie_id"])
    except ValidationError as error:
        return _error(request, error.messages[0])
    if not _is_fetch(request):
        messages.info(request, "Skipped. It will not be shown again.")
        return _back(request)
    state = selectors.visitor_state(visitor=visitor)
    replacement = selectors.movie_list_for_rating(
        state=state, n=1, seed=_grid_seed(request), exclude=form.cleaned_data["shown"]
    )
    if not replacement:
        return HttpResponse("", status=200)  # nothing left to show: the page removes the card
    return render(request, "movies/_rate_card.html", {"movie": replacement[0], "next": reverse("movies:home")})


@require_POST
def hide(request: HttpRequest) -> HttpResponse:
    """'Not interested': never recommend this movie again; answers with the refreshed panel."""
    form = MovieActionForm(request.POST)
    if not form.is_valid():
        return _error(request, _first_error(form))
    visitor = _visitor_for_write(request)
    try:
        services.movie_hide(visitor=visitor, movie_id=form.cleaned_data["movie_id"])
    except ValidationError as error:
        return _error(request, error.messages[0])
    if not _is_fetch(request):
        messages.info(request, "Hidden. It will not be recommended again.")
        return _back(request, "#recommendations")
    state = selectors.visitor_state(visitor=visitor)
    panel = selectors.recommendations_for_visitor(state=state, seed=_seed_param(request))
    return render(request, "movies/_recommendations.html", {"panel": panel})


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    state = selectors.visitor_state(visitor=_visitor(request))
    results = selectors.movie_search(query=query) if query else []
    for movie in results:
        movie.visitor_rating = state.ratings.get(movie.id)
    return render(request, "movies/search.html", {"form": form, "query": query, "results": results})


@require_safe
def movie_detail(request: HttpRequest, movie_id: int) -> HttpResponse:
    state = selectors.visitor_state(visitor=_visitor(request))
    detail = selectors.movie_detail(movie_id=movie_id, state=state)
    if detail is None:
        raise Http404("No such movie.")
    return render(request, "movies/movie_detail.html", {"detail": detail, "movie": detail.movie})


@require_http_methods(["GET", "POST"])
def start_over(request: HttpRequest) -> HttpResponse:
    """Clear every rating, skip and hide, only after an explicit confirmation (POST with a ticked box)."""
    visitor = _visitor(request)
    state = selectors.visitor_state(visitor=visitor)
    if request.method == "POST":
        form = StartOverForm(request.POST)
        if form.is_valid():
            if visitor is not None:
                services.visitor_reset(visitor=visitor)
            request.session.pop(GRID_SEED_SESSION_KEY, None)
            messages.success(request, "Everything is cleared. Start rating again!")
            return redirect("movies:home")
        status = 400
    else:
        form = StartOverForm()
        status = 200
    return render(request, "movies/start_over.html", {"form": form, "state": state}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    """Delete the signed-in account and everything it rated, after its password and a ticked box."""
    state = selectors.visitor_state(visitor=_visitor(request))
    form = AccountDeleteForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.account_delete(user=request.user)
        logout(request)
        messages.success(request, "Your account and its ratings are deleted.")
        return redirect("movies:home")
    return render(request, "registration/account_delete.html", {"form": form, "state": state},
                  status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account, sign in, and move this browser's ratings into it."""
    if request.user.is_authenticated:
        return redirect("movies:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        anonymous = services.visitor_get(session=request.session, user=None)
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        services.visitor_merge_into_user(visitor=anonymous, user=user, session=request.session)
        messages.success(request, f"Welcome, {user.get_username()}! Your ratings are saved to your account.")
        return redirect("movies:home")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


@csrf_exempt  # only to look at the size first: the view below checks the CSRF token
@require_http_methods(["GET", "POST"])
def ratings_import(request: HttpRequest) -> HttpResponse:
    """Upload an IMDb or Letterboxd ratings CSV; answers with what matched, to confirm. Stores nothing.

    A request larger than :data:`IMPORT_MAX_REQUEST_BYTES` is refused before anything reads its
    body (the CSRF check reads it): uploaded files do not count against
    DATA_UPLOAD_MAX_MEMORY_SIZE and would otherwise be spooled to disk whatever their size.
    """
    if request.method == "POST" and (
            parse_int(request.META.get("CONTENT_LENGTH", ""), low=0, high=2**63) or 0) > IMPORT_MAX_REQUEST_BYTES:
        form = RatingFileForm(data={}, files={})
        form.is_valid()
        form.errors["file"] = form.error_class([rating_files.ERROR_TOO_BIG])
        state = selectors.visitor_state(visitor=_visitor(request))
        return render(request, "movies/ratings_import.html", {"form": form, "state": state}, status=400)
    return _ratings_import(request)


@csrf_protect
def _ratings_import(request: HttpRequest) -> HttpResponse:
    state = selectors.visitor_state(visitor=_visitor(request))
    if request.method == "GET":
        return render(request, "movies/ratings_import.html", {"form": RatingFileForm(), "state": state})
    request.session.pop(IMPORT_SESSION_KEY, None)
    form = RatingFileForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "movies/ratings_import.html", {"form": form, "state": state}, status=400)
    preview = rating_imports.rating_import_match(rating_file=form.cleaned_data["file"], state=state)
    if preview.matched:
        request.session[IMPORT_SESSION_KEY] = [[movie_id, stars] for movie_id, stars in preview.ratings.items()]
    return render(request, "movies/ratings_import.html",
                  {"form": RatingFileForm(), "preview": preview, "state": state})


@require_POST
def ratings_import_confirm(request: HttpRequest) -> HttpResponse:
    """Store the ratings of the file uploaded last, in one transaction."""
    pending = request.session.get(IMPORT_SESSION_KEY)
    if not isinstance(pending, list) or not pending:
        messages.error(request, services.ERROR_IMPORT_NOTHING)
        return redirect("movies:ratings_import")
    try:
        ratings = {int(movie_id): stars for movie_id, stars in pending}
        count = services.ratings_import(visitor=_visitor_for_write(request), ratings=ratings)
    except (TypeError, ValueError, ValidationError) as error:
        request.session.pop(IMPORT_SESSION_KEY, None)
        messages.error(request, error.messages[0] if isinstance(error, ValidationError) else
                       services.ERROR_IMPORT_NOTHING)
        return redirect("movies:ratings_import")
    request.session.pop(IMPORT_SESSION_KEY, None)
    messages.success(request, f"Imported {count} rating{'' if count == 1 else 's'}.")
    return redirect(f"{reverse('movies:home')}#recommendations")


@require_safe
def ratings_export(request: HttpRequest) -> HttpResponse:
    """The visitor's own ratings as a CSV download."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="my-ratings.csv"'
    csv.writer(response).writerows(rating_imports.ratings_export_rows(visitor=_visitor(request)))
    return response
