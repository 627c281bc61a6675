"""The rating page in a real headless Chromium: rate, skip, see picks, reload, phone and desktop widths."""
import pytest

from movies.models import VisitorMovieFlag, VisitorRating
from tests.e2e.conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RATINGS = ["5.0", "4.5", "3.0", "4.0", "2.5"]


def grid_ids(page) -> list[str]:
    return page.locator("#rate-grid .rate-card").evaluate_all("cards => cards.map(c => c.dataset.movieId)")


def test_rate_skip_recommend_reload(browser, live_server, seeded_catalog, screenshot_dir):
    from playwright.sync_api import expect

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(live_server.url + "/")
    expect(page.locator("#rate-grid .rate-card")).to_have_count(12)
    ids = grid_ids(page)
    expect(page.locator("#recommendations .progress")).to_be_visible()

    # Rate five movies by clicking half stars, each saved by fetch without a reload.
    for movie_id, value in zip(ids[:5], RATINGS):
        card = page.locator(f'#rate-grid .rate-card[data-movie-id="{movie_id}"]')
        with page.expect_response(lambda response: response.url.endswith("/rate/") and response.ok):
            card.locator(f'label[for="g-{movie_id}-{value}"]').click()
        expect(card.locator(".rate-form__value")).to_have_text(f"{float(value):g} \u2605")
    # The panel that answers the fifth rating (refreshes run after each one and may overlap).
    expect(page.locator('#recommendations .recs[data-rated-count="5"]')).to_have_count(1)
    expect(page.locator("#recommendations [data-rec-movie-id]")).to_have_count(10)
    recommended = page.locator("#recommendations [data-rec-movie-id]").evaluate_all(
        "cards => cards.map(c => c.dataset.recMovieId)"
    )
    assert not set(recommended) & set(ids[:5])
    expect(page.locator("#recommendations .reason").first).not_to_be_empty()

    # "Haven't seen it" swaps the card in place for a different movie.
    skipped = ids[6]
    with page.expect_response(lambda response: response.url.endswith("/skip/") and response.ok):
        page.locator(f'#rate-grid .rate-card[data-movie-id="{skipped}"] .skip-form__button').click()
    expect(page.locator(f'#rate-grid .rate-card[data-movie-id="{skipped}"]')).to_have_count(0)
    expect(page.locator("#rate-grid .rate-card")).to_have_count(12)
    after = grid_ids(page)
    assert after.index(next(i for i in after if i not in ids)) == 6  # the new card sits where the old one was
    assert len(set(after)) == 12

    page.evaluate("window.scrollTo(0, 0)")  # a sticky header would otherwise land mid-page in the shot
    page.screenshot(path=str(screenshot_dir / "home-desktop.png"), full_page=True)

    # The database holds exactly what was clicked.
    assert sorted((str(r.movie_id), f"{r.rating:.1f}") for r in VisitorRating.objects.all()) == sorted(zip(ids[:5], RATINGS))
    assert list(VisitorMovieFlag.objects.values_list("movie_id", "kind")) == [(int(skipped), "skipped")]

    # A reload finds the ratings still there, checked in "Your ratings".
    page.reload()
    expect(page.locator("#your-ratings [data-rated-movie-id]")).to_have_count(5)
    for movie_id, value in zip(ids[:5], RATINGS):
        expect(page.locator(f'[id="y-{movie_id}-{value}"]')).to_be_checked()
    assert skipped not in grid_ids(page)
    expect(page.locator("#recommendations [data-rec-movie-id]")).to_have_count(10)

    # "Not interested" removes a pick and the panel refills.
    first_rec = page.locator("#recommendations [data-rec-movie-id]").first.get_attribute("data-rec-movie-id")
    with page.expect_response(lambda response: "/hide/" in response.url and response.ok):
        page.locator(f'[data-rec-movie-id="{first_rec}"] .hide-form__button').click()
    expect(page.locator(f'[data-rec-movie-id="{first_rec}"]')).to_have_count(0)
    expect(page.locator("#recommendations [data-rec-movie-id]")).to_have_count(10)

    page.set_viewport_size(PHONE)
    page.reload()
    page.screenshot(path=str(screenshot_dir / "home-phone.png"))
    page.screenshot(path=str(screenshot_dir / "home-phone-full.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page scrolls sideways on a phone ({width}px)"
    page.goto(live_server.url + f"/movies/{ids[0]}/")
    page.screenshot(path=str(screenshot_dir / "movie-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.reload()
    page.screenshot(path=str(screenshot_dir / "movie-desktop.png"), full_page=True)
    assert errors == []
    context.close()


def test_keyboard_rating_with_arrow_keys(browser, live_server, seeded_catalog):
    from playwright.sync_api import expect

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(live_server.url + "/")
    movie_id = grid_ids(page)[0]
    card = page.locator(f'#rate-grid .rate-card[data-movie-id="{movie_id}"]')
    card.locator(".card__title a").focus()
    page.keyboard.press("Tab")  # into the star group: the first radio (0.5)
    with page.expect_response(lambda response: response.url.endswith("/rate/") and response.ok):
        page.keyboard.press("ArrowRight")  # 1.0
    with page.expect_response(lambda response: response.url.endswith("/rate/") and response.ok):
        page.keyboard.press("ArrowRight")  # 1.5
    expect(card.locator(".rate-form__value")).to_have_text("1.5 \u2605")
    assert VisitorRating.objects.get(movie_id=int(movie_id)).rating == 1.5
    context.close()


def test_core_flow_without_javascript(browser, live_server, seeded_catalog, screenshot_dir):
    from playwright.sync_api import expect

    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/")
    rated = []
    for _ in range(3):
        # Each plain-form POST reloads the page and may redraw the grid: rate whatever is first now.
        movie_id = next(mid for mid in grid_ids(page) if mid not in rated)
        rated.append(movie_id)
        card = page.locator(f'#rate-grid .rate-card[data-movie-id="{movie_id}"]')
        card.locator(f'label[for="g-{movie_id}-4.0"]').click()
        card.locator("button", has_text="Rate").click()
        expect(page.locator(".message--success")).to_have_text("Rated 4 stars.")
    expect(page.locator("#recommendations [data-rec-movie-id]")).to_have_count(10)
    skipped = grid_ids(page)[0]
    page.locator(f'#rate-grid .rate-card[data-movie-id="{skipped}"] .skip-form__button').click()
    assert skipped not in grid_ids(page)
    page.screenshot(path=str(screenshot_dir / "home-phone-nojs.png"), full_page=True)
    assert sorted(VisitorRating.objects.values_list("movie_id", flat=True)) == sorted(int(m) for m in rated)
    context.close()
