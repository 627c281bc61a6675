"""Real-browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

Skipped cleanly when /usr/bin/chromium is absent (`apt-get install chromium`). No browser download:
Playwright only drives the system binary.
"""
import os
import tempfile
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM then refuses to run here
# unless told that this is deliberate (the test thread only reads/writes between page actions).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

GENRES = ["Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
          "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]
TITLES = [
    "The Long Goodbye", "Night Train", "Paper Moon", "Silver Harbor", "The Last Orchard", "Glass City",
    "Northern Lights", "Red Canyon", "A Quiet Storm", "Brass Knuckles", "Midnight Diner", "The Cartographer",
    "Low Tide", "Echo Park", "The Iron Bell", "Sugar & Smoke", "Distant Thunder", "Blue Velvet Road",
    "The Clockmaker", "Wild Horses", "Saturn Returns", "The Understudy", "Cold Harbour", "Little Giants",
    "Neon Jungle", "The Salt Road", "Hollow Pines", "Borrowed Time", "Velvet Hour", "The Great Escape Artist",
    "Stray Dogs", "Kingdom of Rain", "Lantern Festival", "The Ferryman", "Open Water", "Summer Static",
    "The Quiet American Girl", "Ashes & Diamonds", "Deep Field", "Bright Young Things", "The Tin Star",
    "Harbor Lights", "Moonstruck Alley", "The Cellist", "Fever Dream", "Dust Devils", "White Nights",
    "The Apiary", "Sea of Trees", "Crimson Tide Pool", "Starlight Express", "The Lighthouse Keeper",
    "Gold Rush Blues", "Fallen Angels", "The Night Shift", "Paperback Hero", "Snow Blind", "Tangerine Sky",
    "The Orchard Thief", "Last Call",
]


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def screenshot_dir() -> Path:
    """E2E_SCREENSHOT_DIR when set, else a temp dir; never the repository."""
    path = Path(os.environ.get("E2E_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="e2e-screens-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def seeded_catalog(transactional_db):
    """Sixty movies across genres and decades, with rating counts so the grid and picks fill."""
    from movies.models import Genre, Movie

    genres = {name: Genre.objects.create(name=name) for name in GENRES}
    movies = []
    for index, title in enumerate(TITLES, start=1):
        movie = Movie.objects.create(
            id=index,
            title=title,
            year=1940 + (index * 13) % 84,
            rating_count=2000 - index * 25,
            rating_mean=round(2.8 + (index * 7 % 20) / 10, 1),
            overview="A placeholder synopsis for the browser tests." if index % 3 == 0 else "",
        )
        movie.genres.set([genres[GENRES[index % len(GENRES)]], genres[GENRES[(index * 5) % len(GENRES)]]])
        movies.append(movie)
    return movies
