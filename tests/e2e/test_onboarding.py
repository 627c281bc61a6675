"""Onboarding in a real headless Chromium: importing IMDb ratings, natural titles, the likely-seen grid."""
import pytest

from movies import selectors
from movies.models import Genre, Movie, Rating, VisitorRating
from tests.e2e.conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

IMDB_CSV = (
    "Const,Your Rating,Date Rated,Title,URL,Title Type,Year\n"
    "tt0133093,10,2020-01-02,The Matrix,https://www.imdb.com/title/tt0133093/,Movie,1999\n"
    "tt0211915,9,2020-01-03,Amélie,https://www.imdb.com/title/tt0211915/,Movie,2001\n"
    "tt0114709,8,2020-01-03,Toy Story,https://www.imdb.com/title/tt0114709/,Movie,1995\n"
    "tt7654321,6,2020-01-04,Some Series,https://www.imdb.com/title/tt7654321/,TV Series,2011\n"
)


@pytest.fixture
def movielens_catalog(seeded_catalog):
    """The sixty browser-test movies plus MovieLens-style titles with IMDb links, and MovieLens
    ratings from 40 people, so the grid is the likely-seen one."""
    drama, comedy = Genre.objects.get(name="Drama"), Genre.objects.get(name="Comedy")
    extra = [(2571, "Matrix, The", 1999, 133093), (4973, "Amélie (Fabuleux destin d'Amélie Poulain, Le)", 2001, 211915),
             (1001, "Toy Story", 1995, 114709), (1002, "Toy Story 2", 1999, 120363)]
    for movie_id, title, year, imdb_id in extra:
        movie = Movie.objects.create(id=movie_id, title=title, year=year, imdb_id=imdb_id, rating_count=2500,
                                     rating_mean=4.1)
        movie.genres.set([comedy if movie_id > 1000 else drama])
    ids = [movie.id for movie in seeded_catalog] + [movie_id for movie_id, *_ in extra]
    Rating.objects.bulk_create(
        Rating(user_id=user, movie_id=movie_id, rating=float(1 + (user * movie_id) % 5), timestamp=0)
        for user in range(1, 41) for index, movie_id in enumerate(ids)
        if movie_id > 1000 or movie_id == 2571 or (user * 3 + index * 7) % 10 < (7 if (user <= 20) == (index < 30) else 2))
    selectors._elicitation_cache.update(fingerprint=None, catalog=None)
    yield
    selectors._elicitation_cache.update(fingerprint=None, catalog=None)


def grid_ids(page) -> list[str]:
    return page.locator("#rate-grid .rate-card").evaluate_all("cards => cards.map(c => c.dataset.movieId)")


def test_import_imdb_ratings_confirm_and_get_recommendations(browser, live_server, movielens_catalog,
                                                             screenshot_dir):
    from playwright.sync_api import expect

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Import your ratings").click()
    expect(page.locator("h1")).to_have_text("Import your ratings")
    page.screenshot(path=str(screenshot_dir / "import-upload.png"), full_page=True)

    # A wrong file first: a clear message, nothing stored.
    page.set_input_files("input[type=file]", files=[{"name": "notes.csv", "mimeType": "text/csv",
                                                     "buffer": b"movie,stars\nHeat,4\n"}])
    page.locator("#import-upload").click()
    expect(page.locator(".field-error")).to_contain_text("neither IMDb's columns")
    page.screenshot(path=str(screenshot_dir / "import-bad-file.png"), full_page=True)
    assert not VisitorRating.objects.exists()

    page.set_input_files("input[type=file]", files=[{"name": "ratings.csv", "mimeType": "text/csv",
                                                     "buffer": IMDB_CSV.encode()}])
    page.locator("#import-upload").click()
    expect(page.locator("#import-summary")).to_contain_text("3 of 4 IMDb ratings matched")
    expect(page.locator(".import-list__missing")).to_have_text(["Some Series (2011)"])
    expect(page.locator('[data-import-movie-id="2571"]')).to_contain_text("The Matrix (1999) — 5 ★")
    page.screenshot(path=str(screenshot_dir / "import-preview.png"), full_page=True)
    assert not VisitorRating.objects.exists()

    page.locator("#import-confirm").click()
    expect(page.locator(".message--success")).to_have_text("Imported 3 ratings.")
    expect(page.locator("#recommendations [data-rec-movie-id]")).to_have_count(10)
    expect(page.locator("#your-ratings [data-rated-movie-id]")).to_have_count(3)
    # Natural titles where people read them.
    expect(page.locator('#your-ratings [data-rated-movie-id="2571"] .card__title')).to_have_text("The Matrix")
    expect(page.locator('#your-ratings [data-rated-movie-id="4973"] .card__title')).to_have_text(
        "Amélie (Le Fabuleux destin d'Amélie Poulain)")
    assert dict(VisitorRating.objects.values_list("movie_id", "rating")) == {2571: 5.0, 4973: 4.5, 1001: 4.0}
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshot_dir / "import-done-home.png"), full_page=True)

    # Search finds the natural and the MovieLens form; the export holds the three ratings.
    page.goto(live_server.url + "/search/?q=matrix%2C+the")
    expect(page.locator("[data-search-movie-id]").first.locator(".card__title")).to_have_text("The Matrix")
    export = page.request.get(live_server.url + "/ratings/export.csv")
    assert export.text().splitlines()[0] == "movielens_id,imdb_id,title,year,rating,rated_at"
    assert len(export.text().splitlines()) == 4
    assert errors == []
    context.close()


def test_likely_seen_grid_adapts_and_shows_one_film_per_series(browser, live_server, movielens_catalog,
                                                               screenshot_dir):
    from playwright.sync_api import expect

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(live_server.url + "/")
    expect(page.locator("#rate-grid .rate-card")).to_have_count(12)
    first = grid_ids(page)
    assert len({"1001", "1002"} & set(first)) <= 1  # never Toy Story and its sequel on one screen
    page.screenshot(path=str(screenshot_dir / "grid-likely-seen.png"), full_page=True)

    # Rate three, skip one: the replacement card is new, and the next screen (a reload) is built
    # from those answers: none of them again, still one film per series.
    for movie_id in first[:3]:
        card = page.locator(f'#rate-grid .rate-card[data-movie-id="{movie_id}"]')
        with page.expect_response(lambda response: response.url.endswith("/rate/") and response.ok):
            card.locator(f'label[for="g-{movie_id}-4.0"]').click()
    skipped = first[3]
    with page.expect_response(lambda response: response.url.endswith("/skip/") and response.ok):
        page.locator(f'#rate-grid .rate-card[data-movie-id="{skipped}"] .skip-form__button').click()
    expect(page.locator(f'#rate-grid .rate-card[data-movie-id="{skipped}"]')).to_have_count(0)
    expect(page.locator("#rate-grid .rate-card")).to_have_count(12)
    page.reload()
    second = grid_ids(page)
    assert len(second) == 12 and not set(second) & {*first[:3], skipped}
    assert len({"1001", "1002"} & set(second)) <= 1
    # Adaptive: the screen is the one the answers give, not the first screen's order with the
    # four answered films merely left out.
    answered = {int(movie_id) for movie_id in (*first[:3], skipped)}
    from_answers = selectors.movie_list_for_rating(state=selectors.VisitorState(
        ratings={int(movie_id): 4.0 for movie_id in first[:3]}, skipped=frozenset({int(skipped)}),
        hidden=frozenset()), n=12)
    left_out_only = selectors.movie_list_for_rating(state=selectors.VisitorState(
        ratings={}, skipped=frozenset(), hidden=frozenset(answered)), n=12)
    assert second == [str(movie.id) for movie in from_answers]
    assert second != [str(movie.id) for movie in left_out_only]
    expect(page.locator("#recommendations [data-rec-movie-id]")).to_have_count(10)
    page.set_viewport_size(PHONE)
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page scrolls sideways on a phone ({width}px)"
    context.close()
